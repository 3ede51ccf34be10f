// Store: the coordinator's durable state — runs, jobs, attempts, agents, what was
// submitted (with its files), and the run-wide log of updates that watchers follow
// (every event, without PNG bytes, and each job state change). Evidence files
// (screenshots, events.jsonl, junit.xml) stay on disk beside it; the store is what a
// restarted coordinator resumes from.
//
// One interface so another backend can follow; SqliteStore (sqlite_store.h) is the one
// there is. Writes are durable when Write() returns; concurrent writers may share one
// transaction (group commit), which is how many agents' events get acknowledged at a
// rate one fsync per event could not reach.
#ifndef MOSDAT_COORDINATOR_STORE_H_
#define MOSDAT_COORDINATOR_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/events.h"
#include "core/job.h"
#include "core/template_vars.h"

namespace mosdat {

enum class JobState { kQueued, kPreparing, kRunning, kDone, kCancelled };
std::string_view ToString(JobState state);
bool JobStateFromString(std::string_view text, JobState* state);

// One run of a job on an agent. Attempt N > 1 exists because attempt N-1 ended in an
// infrastructure error.
struct AttemptRecord {
  int number = 0;
  std::string agent;
  bool finished = false;
  JobVerdict verdict = JobVerdict::kUnknown;  // meaningful once finished
  std::string reason;
  absl::Time started = absl::UnixEpoch();
  absl::Time ended = absl::UnixEpoch();
  double duration_seconds = 0;
  std::string results_dir;
  uint64_t last_seq = 0;  // the attempt's events stored so far
};

struct JobRecord {
  std::string job_id;
  std::string run_id;
  int index = 0;  // 1-based position in its run (the job id ends in it)
  std::string test;
  std::string vm;
  std::string variant;
  std::string results_dir;
  JobState state = JobState::kQueued;
  JobVerdict verdict = JobVerdict::kUnknown;  // meaningful when done or cancelled
  std::string reason;
  int max_attempts = 2;
  std::vector<AttemptRecord> attempts;  // oldest first
  // While leased: who holds it and the lease's secret.
  std::string agent;
  std::string lease_id;

  bool Finished() const { return state == JobState::kDone || state == JobState::kCancelled; }
  const AttemptRecord* Current() const { return attempts.empty() ? nullptr : &attempts.back(); }
  AttemptRecord* Current() { return attempts.empty() ? nullptr : &attempts.back(); }
};

struct RunRecord {
  std::string run_id;
  std::string label;
  std::string results_dir;
  absl::Time created = absl::UnixEpoch();
  absl::Time finished = absl::UnixEpoch();
  bool done = false;
  bool cancelled = false;
  JobVerdict verdict = JobVerdict::kUnknown;  // the worst of its jobs', once done
  std::vector<JobRecord> jobs;                // by index; empty in RunRecords written
};

// What a user submitted, kept so a restarted coordinator can expand the same jobs.
struct Submission {
  std::string config_path;
  std::map<std::string, std::string> files;  // path → contents
  std::vector<std::string> tests;
  std::vector<std::string> vms;
  VarMap vars;
  // Run credentials: kept in memory only; the store keeps their names, with empty values.
  std::map<std::string, std::string> secrets;
  int retries = 1;
  std::vector<ArtifactRef> packages;  // uploaded to the ArtifactStore, by content
  InstallJobs install_jobs = InstallJobs::kNone;
  bool pause_on_failure = false;                      // JobSpec::pause_on_failure of every job
  int iterations = 1;                                 // MatrixRequest::iterations
  int record_fps = 0;                                 // JobSpec::record_fps of every scenario job
  std::map<std::string, std::string> scenario_tests;  // MatrixRequest::scenario_tests
};

// One entry of a run's update log. `seq` is run-wide, 1, 2, ... in commit order, so a
// watcher resuming after N misses nothing and sees nothing twice.
struct StoredUpdate {
  enum class Kind { kEvent, kJob, kRun };
  std::string run_id;
  uint64_t seq = 0;  // assigned by the store when written
  Kind kind = Kind::kEvent;
  std::string job_id;          // kEvent, kJob
  std::optional<Event> event;  // kEvent (no PNG bytes)
  // kJob: the job's state at that point (job_id, state, verdict, reason, agent,
  // max_attempts, and its attempts' numbers with their verdicts).
  std::optional<JobRecord> job;
};

struct StoredAgent {
  std::string id;
  std::string address;
  std::vector<std::string> vms;
  int capacity = 1;
  std::string version;
  absl::Time last_seen = absl::UnixEpoch();
};

// Everything one logical change writes; applied atomically.
struct StoreWrite {
  std::optional<std::pair<RunRecord, Submission>> new_run;  // with its jobs
  std::vector<RunRecord> runs;                              // upserts of the run row (jobs ignored)
  std::vector<JobRecord> jobs;                              // upserts, attempts included
  std::vector<StoredUpdate> updates;                        // seq assigned on write
  std::vector<StoredAgent> agents;
};

class Store {
 public:
  virtual ~Store() = default;

  // Durable when it returns OK. The updates' seqs are assigned in commit order.
  virtual absl::Status Write(StoreWrite write) = 0;

  // With jobs and their attempts.
  virtual absl::StatusOr<RunRecord> GetRun(const std::string& run_id) = 0;
  // Newest first; limit ≤ 0 means 100.
  virtual absl::StatusOr<std::vector<RunRecord>> ListRuns(int limit) = 0;
  // Runs not done, oldest first, with jobs: what a restarted coordinator resumes.
  virtual absl::StatusOr<std::vector<RunRecord>> UnfinishedRuns() = 0;
  virtual absl::StatusOr<Submission> GetSubmission(const std::string& run_id) = 0;
  // Up to `limit` updates of the run with seq > after, in order.
  virtual absl::StatusOr<std::vector<StoredUpdate>> UpdatesAfter(const std::string& run_id,
                                                                 uint64_t after, int limit) = 0;
  // The events of one attempt, in order (for junit.xml and repairing events.jsonl).
  virtual absl::StatusOr<std::vector<Event>> AttemptEvents(const std::string& job_id,
                                                           int attempt) = 0;
  virtual absl::StatusOr<std::vector<StoredAgent>> Agents() = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_STORE_H_

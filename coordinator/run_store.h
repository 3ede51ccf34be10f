// RunStore: the coordinator's runs and jobs, their queue, and their evidence on disk.
//
// Layout: <results_root>/functional/<run>/<vm>/ for a run of one test, or
// <results_root>/functional/<run>/<test>/<vm>/ when a run has several; each holds
// events.jsonl (every event, appended and synced before it is acknowledged), the
// numbered PNG screenshots, and junit.xml once the job finished.
#ifndef MOSDAT_COORDINATOR_RUN_STORE_H_
#define MOSDAT_COORDINATOR_RUN_STORE_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/events.h"
#include "core/job.h"

namespace mosdat {

enum class JobState { kQueued, kRunning, kDone };

struct JobStatus {
  JobSpec spec;
  JobState state = JobState::kQueued;
  JobVerdict verdict = JobVerdict::kUnknown;
  std::string reason;
  std::string results_dir;
  std::string agent;
  double duration_seconds = 0;
};

struct RunStatus {
  std::string run_id;
  std::string label;
  std::string results_dir;
  absl::Time created;
  bool done = false;
  JobVerdict verdict = JobVerdict::kUnknown;  // worst of the jobs' verdicts once done
  std::vector<JobStatus> jobs;
};

// One entry of a run's update log, for watchers: an event (without PNG bytes), or the
// run's final state.
struct RunUpdate {
  uint64_t seq = 0;
  std::optional<Event> event;
  std::optional<RunStatus> finished;
};

class RunStore {
 public:
  explicit RunStore(std::string results_root);

  // Creates the run's directories, queues its jobs, and returns the run id.
  absl::StatusOr<RunStatus> CreateRun(std::vector<JobSpec> jobs, std::string label);

  // The oldest queued job whose VM is in `vms`, waiting up to `wait` for one.
  std::optional<JobSpec> Lease(const std::string& agent, const std::vector<std::string>& vms,
                               absl::Duration wait);

  // The files of a running job leased to `agent`; NotFound for any other job, so an
  // agent reads only what it was given.
  absl::StatusOr<std::map<std::string, std::string>> JobFiles(const std::string& job_id,
                                                              const std::string& agent) const;
  // Persists an event of a leased job (screenshot bytes to their PNG file, the event to
  // events.jsonl, synced); returns only once it is on disk. job_finished completes the
  // job, writes its junit.xml, and completes the run with its last job.
  absl::Status Record(const Event& event);

  // An agent's stream broke before job_finished: the job ends as an infrastructure error.
  void AbandonJob(const std::string& job_id, const std::string& reason);

  // Updates of `run_id` after `after_seq`, waiting up to `wait` for at least one.
  absl::StatusOr<std::vector<RunUpdate>> Updates(const std::string& run_id, uint64_t after_seq,
                                                 absl::Duration wait);

  absl::StatusOr<RunStatus> GetRun(const std::string& run_id) const;
  std::vector<RunStatus> ListRuns(int limit) const;

 private:
  struct Job {
    JobStatus status;
    // Held while this job's evidence is written (PNG files, events.jsonl with its fsync),
    // outside mutex_, so one job's disk writes do not hold up the other jobs. Taken
    // before mutex_, never while holding it.
    std::unique_ptr<std::mutex> writes = std::make_unique<std::mutex>();
    std::optional<EventLog> log;
    std::vector<Event> events;  // without PNG bytes, for junit.xml
    uint64_t last_seq = 0;
  };
  struct Run {
    RunStatus status;  // jobs are kept in jobs_ (by id) and copied in on read
    std::vector<std::string> job_ids;
    std::vector<RunUpdate> updates;
  };

  void AppendUpdate(Run& run, RunUpdate update);  // mutex_ held
  RunStatus Snapshot(const Run& run) const;       // mutex_ held
  void FinishJob(Job& job, JobVerdict verdict, const std::string& reason, double duration);
  // The job's write lock, or nullptr when there is no such job.
  std::mutex* JobWrites(const std::string& job_id);

  const std::string results_root_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Job> jobs_;
  std::map<std::string, Run> runs_;
  std::vector<std::string> run_order_;
  std::deque<std::string> queue_;  // queued job ids, oldest first
};

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_RUN_STORE_H_

// RunStore: the coordinator's runs and jobs — their queue, leases, attempts and
// retries, and their evidence on disk — kept in a Store (store.h) so a restart loses
// nothing acknowledged. Only active runs are held in memory, and events never are:
// watchers read them back from the store.
//
// Layout: <results_root>/functional/<run>/<vm>/ for a run of one test, or
// <run>/<test>/<vm>/ when a run has several; a retried job's later attempts go to
// attempt-N/ inside it. Each holds events.jsonl, the numbered PNG screenshots, and
// (in the job's directory) junit.xml with one suite per attempt.
//
// A leased job holds a lease (a secret the agent presents with each event) that its
// events and the agent's heartbeats renew. A lease not renewed for lease_timeout is
// lost: the attempt ends as an infrastructure error saying so. An attempt that ends in
// an infrastructure error is retried up to the run's retries; a test failure or a
// config error never is.
#ifndef MOSDAT_COORDINATOR_RUN_STORE_H_
#define MOSDAT_COORDINATOR_RUN_STORE_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"
#include "core/events.h"
#include "core/job.h"

namespace mosdat {

struct RunStoreOptions {
  std::string results_root = "results";
  std::shared_ptr<Store> store;
  absl::Duration lease_timeout = absl::Seconds(30);
  // A queued job no live agent can run for this long ends as an infrastructure error.
  absl::Duration unschedulable_timeout = absl::Minutes(5);
  // Expands a stored submission again into the jobs it made (matrix.h), for a restart.
  std::function<absl::StatusOr<std::vector<JobSpec>>(const Submission&)> expand;
  // false: runs a previous process left unfinished end as infrastructure errors
  // instead of resuming (the embedded default: nobody is left to watch them).
  bool resume = true;
  // Called after each attempt ends, however it ended (to put its VM back).
  std::function<void(const std::string& job_id)> on_attempt_end;
};

// What the coordinator counts (metrics.h turns it into gauges).
struct RunStoreCounts {
  int queued = 0;
  int preparing = 0;
  int running = 0;
  int lease_expiries = 0;  // since start
  int retries = 0;         // since start
};

class RunStore {
 public:
  // Opens the store's active runs: queued jobs stay queued; leased jobs keep their
  // lease for one lease_timeout, for their agents to come back; each running
  // attempt's events.jsonl is rewritten from the store (what was acknowledged).
  static absl::StatusOr<std::unique_ptr<RunStore>> Open(RunStoreOptions options);

  // Creates the run's directories, stores it and queues its jobs.
  absl::StatusOr<RunRecord> CreateRun(std::vector<JobSpec> jobs, Submission submission,
                                      std::string label);

  struct Lease {
    JobSpec spec;  // without files (FetchJobFiles)
    std::string lease_id;
    int attempt = 0;
  };
  // The job `agent` should run next (scheduler.h), waiting up to `wait` for one. The
  // job is RUNNING (or PREPARING, with `preparing`) under a new attempt when returned.
  std::optional<Lease> LeaseJob(const AgentSlots& agent, absl::Duration wait,
                                bool (*needs_preparing)(const JobSpec&) = nullptr);
  // A PREPARING job's VM is ready: it is RUNNING.
  void Prepared(const std::string& job_id);
  // Wakes LeaseJob waiters (an agent's capacity or VMs changed).
  void Poke();

  // The submission (files, packages) of a job leased to `agent`; NotFound for any other.
  absl::StatusOr<Submission> LeasedSubmission(const std::string& job_id, const std::string& agent);

  // Stores an event of a leased job and renews its lease: the screenshot to its PNG
  // file, the event to the store (durable when this returns) and to events.jsonl. An
  // event already stored (re-sent after a reconnect) is OK and stored once. The lease
  // must be the job's current one. job_finished ends the attempt (and retries it on an
  // infrastructure error) or the job. Sets *finished when the job is finished.
  absl::Status Record(const Event& event, const std::string& lease_id, bool* finished = nullptr);
  // Record() for consecutive events of one job sent under one lease (a client that
  // sends several before reading their acks): the events go to the store in one write,
  // so they share one durable commit. Stores the longest acceptable prefix; *recorded
  // says how many events from the front are stored (may be acknowledged), and the
  // status why the next one was refused. A job_finished ends the batch: anything after
  // it is refused.
  absl::Status RecordAll(std::span<const Event> events, const std::string& lease_id,
                         size_t* recorded, bool* finished = nullptr);

  // Ends the attempt under `lease_id` (stale leases are ignored) as an infrastructure
  // error with `reason`; retried when attempts remain.
  void EndAttempt(const std::string& job_id, const std::string& lease_id,
                  const std::string& reason);

  // Heartbeat: renews the leases `agent` holds among `busy_jobs`. Returns the jobs to
  // cancel (a user asked) and those the agent lost (no longer its lease).
  struct Renewal {
    std::vector<std::string> cancel;
    std::vector<std::string> lost;
  };
  Renewal Renew(const std::string& agent, const std::vector<std::string>& busy_jobs);
  // An agent registering again with leases it holds: those still its own are renewed;
  // the others are returned (lost).
  std::vector<std::string> Reclaim(const std::string& agent,
                                   const std::vector<std::pair<std::string, std::string>>& held);

  // Ends attempts whose lease was not renewed within lease_timeout, and queued jobs no
  // live agent has been able to run for unschedulable_timeout (`can_run(vm)` says
  // whether a live agent drives a VM). Returns how many leases expired.
  int ExpireLeases(absl::Time now, const std::function<bool(const std::string&)>& can_run);

  struct Cancelled {
    int queued = 0;
    int stopping = 0;
  };
  absl::StatusOr<Cancelled> Cancel(const std::string& run_id, const std::string& reason);

  // Updates of `run_id` after `after_seq` (at most 1000), waiting up to `wait` for one.
  absl::StatusOr<std::vector<StoredUpdate>> Updates(const std::string& run_id, uint64_t after_seq,
                                                    absl::Duration wait);
  absl::StatusOr<RunRecord> GetRun(const std::string& run_id);
  absl::StatusOr<std::vector<RunRecord>> ListRuns(int limit);
  // Whether the run is finished (no active job); NotFound for an unknown run.
  absl::StatusOr<bool> RunDone(const std::string& run_id);

  RunStoreCounts Counts() const;
  // Slots in use per agent (running and preparing jobs).
  std::map<std::string, int> SlotsInUse() const;
  // Leased jobs whose VM needs putting back after the coordinator restarts is out of
  // scope here; see vm_preparations.h.

  ~RunStore();

 private:
  explicit RunStore(RunStoreOptions options) : options_(std::move(options)) {}

  struct ActiveJob {
    JobRecord record;
    JobSpec spec;  // files cleared
    JobResources resources;
    absl::Time renewed;       // the lease's last renewal
    absl::Time queued_since;  // when it last became queued
    bool cancel_requested = false;
    std::string cancel_reason;
    // Held while the job's evidence and events are written, outside mutex_, so one
    // job's writes do not hold up the others; taken before mutex_, never under it.
    std::shared_ptr<std::mutex> writes = std::make_shared<std::mutex>();
    std::optional<EventLog> log;  // the current attempt's events.jsonl
  };
  struct ActiveRun {
    RunRecord record;  // jobs empty: they live in jobs_
    std::vector<std::string> job_ids;
  };

  absl::Status Recover();
  std::string AttemptDir(const JobRecord& job, int attempt) const;
  // Ends the current attempt of `job` with `verdict` (writes lock held, mutex_ not):
  // job_finished event when synthesized, junit, retry or finish, run completion.
  absl::Status FinishAttempt(const std::string& job_id, Event finished, bool synthesized);
  // The store write that completes a run whose jobs are all finished (mutex_ held);
  // nullopt while some job is active.
  std::optional<RunRecord> CompleteRunIfDone(ActiveRun& run);
  std::shared_ptr<std::mutex> JobWrites(const std::string& job_id);  // null: not active
  // Drops a done run and its jobs from memory (the store has them).
  void Forget(const std::string& run_id);
  // Record() for a job no longer active.
  absl::Status RecordAfterTheFact(const Event& event);
  StoredUpdate JobUpdate(const JobRecord& job) const;
  absl::Status WriteAndNotify(StoreWrite write);

  RunStoreOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a job became leasable, or a write committed
  std::map<std::string, ActiveJob> jobs_;
  std::map<std::string, ActiveRun> runs_;
  int lease_expiries_ = 0;
  int retries_ = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_RUN_STORE_H_

// AgentJobs: the jobs running on this agent as people reach them — each job's screen
// while it runs (Track: sessions may watch it, read-only, e.g. the live runs page), the
// jobs held at a failed step for a person (pause on failure, openQA's developer mode
// for desktop apps), and the runs a person switched holding on or off for.
//
// The job's own thread waits in Hold() until a person resumes it (from the failed step
// or another one) or aborts it through the agent's RPCs, or the job is cancelled or
// lost. Meanwhile the agent's interactive sessions may attach to the held job's screen
// and guest (Find) on connections of their own: the person takes over, tries steps,
// and the job goes on. The VM is never torn down while held. Thread-safe; gRPC-free.
#ifndef MOSDAT_VNC_AGENT_STEPS_AGENT_JOBS_H_
#define MOSDAT_VNC_AGENT_STEPS_AGENT_JOBS_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/cancel_token.h"
#include "core/job.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"
#include "vnc-agent/steps/scenario_runner.h"

namespace mosdat {

// What a person is told of a held job.
struct PausedJob {
  std::string job_id, run_id, test, vm;
  int failed_step = -1;  // 0-based, a top-level step of the scenario
  int step_count = 0;    // the scenario's top-level steps: it resumes from 0..step_count-1
  std::string reason;    // why the step failed
  absl::Time since;
  std::string scenario_path;
  std::string scenario_yaml;  // the scenario as sent with the job: a fix starts from it
};

// How a session reaches a held job's screen and guest.
struct JobScreen {
  VmTarget target;
  std::shared_ptr<LocalDesktop> desktop;  // a local VM's desktop; null for a remote VM
  VncOptions vnc;                         // the job's VNC server
};

class AgentJobs {
 public:
  // A job's screen is reachable while its Tracked lives.
  class Tracked {
   public:
    Tracked(AgentJobs& jobs, std::string job_id) : jobs_(jobs), job_id_(std::move(job_id)) {}
    ~Tracked();
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;

   private:
    AgentJobs& jobs_;
    const std::string job_id_;
  };
  // Makes a running job's screen reachable (Running) until the returned Tracked goes:
  // before the job tears its VM down.
  std::unique_ptr<Tracked> Track(const std::string& job_id, JobScreen screen);
  // The screen of a job running now; NotFound when it is not (any more).
  absl::StatusOr<JobScreen> Running(const std::string& job_id) const;

  // At most this many runs keep a switch; the oldest setting goes first.
  static constexpr size_t kMaxRunSwitches = 1000;

  // Whether a failure now holds a job of `run_id` that asked for it (`job_asks`) or
  // not: the run's switch when a person set one, else the job's own wish.
  bool Wanted(const std::string& run_id, bool job_asks) const;
  void SetRunSwitch(const std::string& run_id, bool hold);

  // Holds the job until a person decides (Resume, Abort) or `cancel` stops it (then its
  // status: cancelled or lost). AlreadyExists when the job is held already.
  absl::StatusOr<ResumeDecision> Hold(PausedJob job, JobScreen screen, const CancelToken* cancel);

  std::vector<PausedJob> List() const;
  // NotFound when `job_id` is not held (any more).
  absl::StatusOr<std::pair<PausedJob, JobScreen>> Find(const std::string& job_id) const;
  // Lets a held job go on from `from_step` (0-based; InvalidArgument outside the
  // scenario's steps). `by` says who, for the job's events.
  absl::Status Resume(const std::string& job_id, int from_step, const std::string& by);
  // Ends a held job as its failure would have: its cleanup runs, the verdict is fail.
  absl::Status Abort(const std::string& job_id, const std::string& by);

 private:
  struct Held {
    PausedJob job;
    JobScreen screen;
    std::optional<ResumeDecision> decision;
  };
  mutable std::mutex mutex_;
  std::condition_variable decided_;
  std::map<std::string, Held> held_;                               // by job id
  std::map<std::string, JobScreen> running_;                       // by job id
  std::map<std::string, std::pair<bool, uint64_t>> run_switches_;  // run → (hold, order)
  uint64_t switch_order_ = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_AGENT_JOBS_H_

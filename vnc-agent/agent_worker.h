// AgentWorker: the agent's side of the coordinator protocol. Registers the VMs this
// agent drives and how many jobs it runs at once, sends heartbeats on a thread of their
// own (renewing the leases of the jobs it runs, and hearing which to cancel or which
// it lost), long-polls for jobs on one thread per slot, runs each one, and streams its
// events back — each acknowledged only once the coordinator stored it.
//
// The coordinator may restart, or the network drop, while a job runs: the worker then
// registers again with the leases it holds and re-sends the event that was not
// acknowledged, so the job goes on; it gives up (the job stops) only after
// `reconnect_deadline` or when the coordinator says the lease is gone.
#ifndef MOSDAT_VNC_AGENT_AGENT_WORKER_H_
#define MOSDAT_VNC_AGENT_AGENT_WORKER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/cancel_token.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "vnc-agent/steps/agent_jobs.h"
#include "vnc-agent/steps/artifact_cache.h"
#include "vnc-agent/steps/job_executor.h"
#include "vnc-agent/steps/vlm_client.h"

namespace mosdat {

struct AgentWorkerOptions {
  std::string agent_id;
  std::vector<std::string> vms;    // VM names this agent drives
  int capacity = 1;                // jobs it runs at once
  std::string token;               // the coordinator's agent token
  std::string address;             // where this agent's own Agent service listens (optional)
  std::shared_ptr<VlmClient> vlm;  // the vlm-gateway for localize/verify (optional)
  // Where the packages of jobs are kept by content (ArtifactCache); "" = a directory
  // under the system's temporary directory.
  std::string artifact_dir;
  // How long a job waits for an unreachable coordinator before it stops.
  absl::Duration reconnect_deadline = absl::Minutes(5);
  // Where failed steps hold jobs that ask for it, shared with this agent's Agent service
  // (which attaches sessions to them and resumes them). Null: failures never hold.
  std::shared_ptr<AgentJobs> jobs;
};

class AgentWorker {
 public:
  AgentWorker(std::shared_ptr<grpc::Channel> coordinator, AgentWorkerOptions options);
  ~AgentWorker();  // Stop()

  // Registers, then serves jobs on background threads until Stop().
  absl::Status Start();
  // Stops asking for jobs at once (a pending lease wait is cancelled) and waits for the
  // jobs under way to end.
  void Stop();

 private:
  struct ActiveJob {
    std::string lease_id;
    // Set from the heartbeat thread: a user cancelled the job (stop at the next step,
    // run cleanup), or the coordinator took it away (stop, send nothing more).
    std::shared_ptr<CancelToken> control = std::make_shared<CancelToken>();
  };

  absl::Status Register();
  // Registers again after the coordinator forgot this agent (it restarted); one thread
  // does it while the others wait for it.
  void RegisterAgain();
  void HeartbeatLoop();
  void SlotLoop();
  // Fills the leased job's files from the coordinator (FetchJobFiles).
  absl::Status FetchFiles(v1::Job* job);
  // Fetches the packages `job` deploys into the artifact cache; points its deploy plan's
  // local paths at them.
  absl::Status FetchPackages(const v1::Job& proto_job, JobSpec* job);
  // Runs the job, or, when its files could not be fetched, ends it as an error.
  void RunOne(const v1::Job& job, const absl::Status& files);
  // Sleeps up to `d`, waking on Stop(); false once stopping.
  bool Pause(absl::Duration d);

  std::unique_ptr<v1::Coordinator::Stub> stub_;
  AgentWorkerOptions options_;
  ArtifactCache artifacts_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wakeup_;
  absl::Duration heartbeat_interval_ = absl::Seconds(5);
  std::map<std::string, ActiveJob> active_;        // by job id
  std::set<grpc::ClientContext*> pending_leases_;  // cancelled by Stop()
  uint64_t registrations_ = 0;
  bool registering_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_AGENT_WORKER_H_

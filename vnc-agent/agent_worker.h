// AgentWorker: the agent's side of the coordinator protocol. Registers the VMs this
// agent owns, sends heartbeats, long-polls for jobs, runs each one, and streams its
// events back — waiting for each acknowledgement, which the coordinator sends only
// after the event is on disk.
#ifndef MOSDAT_VNC_AGENT_AGENT_WORKER_H_
#define MOSDAT_VNC_AGENT_AGENT_WORKER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "vnc-agent/steps/vlm_client.h"

namespace mosdat {

struct AgentWorkerOptions {
  std::string agent_id;
  std::vector<std::string> vms;    // VM names this agent owns
  std::string token;               // the coordinator's bearer token
  std::string address;             // where this agent's own Agent service listens (optional)
  std::shared_ptr<VlmClient> vlm;  // the vlm-gateway for localize/verify (optional)
};

class AgentWorker {
 public:
  AgentWorker(std::shared_ptr<grpc::Channel> coordinator, AgentWorkerOptions options);
  ~AgentWorker();  // Stop()

  // Registers, then serves jobs on a background thread until Stop().
  absl::Status Start();
  void Stop();

 private:
  void Loop();
  // Fills the leased job's files from the coordinator (FetchJobFiles).
  absl::Status FetchFiles(v1::Job* job);
  // Runs the job, or, when its files could not be fetched, ends it as an error.
  void RunOne(const v1::Job& job, const absl::Status& files);

  std::unique_ptr<v1::Coordinator::Stub> stub_;
  AgentWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_AGENT_WORKER_H_

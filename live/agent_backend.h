// ScreenBackend over an agent's interactive sessions (the Agent gRPC service): the
// gRPC edge of the live server. VMs are the config's; a local VM's desktop comes up
// with its app for the session and goes with it. A Proxmox VM is made ready for the
// session by the proxmox-bridge (snapshot rollback, start, address, console tunnel:
// the `provisioner`) and put back per its `after` when the session closes; without a
// provisioner Proxmox VMs are listed as unavailable.
#ifndef MOSDAT_LIVE_AGENT_BACKEND_H_
#define MOSDAT_LIVE_AGENT_BACKEND_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "coordinator/vm_provisioner.h"
#include "core/config.h"
#include "live/screen_backend.h"
#include "mosdat/v1/agent.grpc.pb.h"

namespace mosdat {

class AgentScreenBackend : public ScreenBackend {
 public:
  AgentScreenBackend(const Config& config, std::shared_ptr<grpc::Channel> agent, std::string token,
                     std::shared_ptr<VmProvisioner> provisioner = nullptr);
  ~AgentScreenBackend() override;  // puts back the Proxmox VMs still prepared

  std::vector<AuthorVm> Vms() override;
  absl::StatusOr<std::string> Open(const std::string& vm) override;
  absl::StatusOr<ScreenCapture> Capture(const std::string& session, bool after_input,
                                        uint64_t unless_frame_seq) override;
  absl::StatusOr<uint64_t> Act(const std::string& session, const ScreenAction& action) override;
  absl::StatusOr<StepsRun> Run(const std::string& session,
                               const std::string& scenario_yaml) override;
  absl::StatusOr<nlohmann::json> Describe(const std::string& session, int x, int y) override;
  absl::StatusOr<nlohmann::json> Find(const std::string& session,
                                      const nlohmann::json& query) override;
  absl::Status Close(const std::string& session) override;
  absl::StatusOr<std::vector<HeldJob>> HeldJobs() override;
  absl::StatusOr<std::string> Attach(const std::string& job_id, HeldJob* held) override;
  absl::StatusOr<std::string> Watch(const std::string& job_id, std::string* vm) override;
  absl::Status Resume(const std::string& job_id, int from_step, bool abort,
                      const std::string& by) override;
  absl::Status SetPauseOnFailure(const std::string& run_id, bool enabled) override;

 private:
  // Every call: the token, and a deadline `timeout` from now.
  void Prepare(grpc::ClientContext& context, std::chrono::system_clock::duration timeout) const;

  // Makes a Proxmox VM ready: its target pointed at the console; *lease to release it.
  absl::StatusOr<VmTarget> PrepareProxmox(const VmConfig& vm, std::string* lease);
  void ReleaseLease(const std::string& lease);

  const Config config_;
  std::shared_ptr<VmProvisioner> provisioner_;
  std::mutex mutex_;
  std::map<std::string, std::string> leases_;  // session → the lease of its Proxmox VM
  std::unique_ptr<v1::Agent::Stub> agent_;
  const std::string token_;
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_AGENT_BACKEND_H_

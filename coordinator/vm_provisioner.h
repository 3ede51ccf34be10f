// VmProvisioner: how the coordinator has a VM made ready before a job and put back
// after it. The Proxmox provider's implementation asks the proxmox-bridge
// (NewBridgeProvisioner); tests may bring their own. Errors are infrastructure errors
// that name the step that failed.
#ifndef MOSDAT_COORDINATOR_VM_PROVISIONER_H_
#define MOSDAT_COORDINATOR_VM_PROVISIONER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/job.h"
#include "core/net.h"

namespace mosdat {

struct ProvisionedVm {
  std::string lease_id;         // for Release
  std::string console_address;  // host:port speaking RFB
  std::string console_password;
  std::string guest_address;       // the VM's IP
  std::vector<std::string> notes;  // for the job's events: timings, GPU, warnings
};

// Points `vm` at what was made ready: its console, and its guest's address for SSH
// unless the config fixed one.
inline void UseProvisioned(const ProvisionedVm& ready, VmTarget* vm) {
  vm->vnc_address = ready.console_address;
  vm->vnc_password = ready.console_password;
  if (vm->ssh_address.empty() && !ready.guest_address.empty()) {
    vm->ssh_address = JoinHostPort(ready.guest_address, vm->ssh_port);
  }
}

class VmProvisioner {
 public:
  virtual ~VmProvisioner() = default;
  // Makes `job.vm` ready (job.vm.proxmox is set).
  virtual absl::StatusOr<ProvisionedVm> Prepare(const JobSpec& job) = 0;
  virtual absl::Status Release(const std::string& lease_id) = 0;
};

// Asks a ProxmoxBridge service, with `token`. A console tunnel is a loopback port of
// its bridge, so each Proxmox host's VMs go to the bridge beside that host's agent:
// `channels` maps a [proxmox.hosts.NAME] to its bridge, and "" to the bridge for every
// other host. A channel is made at first use (the embedded default's in-process channel
// exists only once its host runs).
using BridgeChannels = std::map<std::string, std::function<std::shared_ptr<grpc::Channel>()>>;
std::shared_ptr<VmProvisioner> NewBridgeProvisioner(BridgeChannels channels, std::string token);

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_VM_PROVISIONER_H_

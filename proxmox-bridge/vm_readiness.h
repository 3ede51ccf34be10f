// Making a Proxmox VM ready for a job, and putting it back after: the provider's whole
// lifecycle, without gRPC. Ready means: found in the cluster (wherever it migrated),
// not locked, rolled back to its snapshot if one is configured, the GPU attached if
// asked (with the full stop/start PVE needs for it), running, the guest agent
// answering with an address, and the console reachable through a loopback port. A
// step that fails ends it as an infrastructure error naming the step; whatever was
// changed before (GPU, console) is undone first.
#ifndef MOSDAT_PROXMOX_BRIDGE_VM_READINESS_H_
#define MOSDAT_PROXMOX_BRIDGE_VM_READINESS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/pve_gpu.h"
#include "proxmox-bridge/pve_vm.h"

namespace mosdat {

enum class AfterJob { kKeep, kShutdown, kRollback };

struct VmReadinessSpec {
  int vmid = 0;          // > 0: find by vmid
  std::string pve_name;  // else: find by name
  std::string snapshot;  // "" = no rollback before the job
  AfterJob after = AfterJob::kKeep;
  std::optional<GpuRequest> gpu;
  std::string fixed_ip;              // "" = ask the guest agent
  std::vector<std::string> subnets;  // preferred guest subnets
  bool open_console = true;
  absl::Duration ready_timeout = absl::Minutes(5);
  absl::Duration shutdown_timeout = absl::Minutes(1);
};

// An open console: a loopback address speaking RFB, its password; closed on destruction.
class ConsoleHandle {
 public:
  virtual ~ConsoleHandle() = default;
  virtual std::string address() const = 0;  // "127.0.0.1:PORT"
  virtual std::string password() const = 0;
};
using ConsoleOpener =
    std::function<absl::StatusOr<std::unique_ptr<ConsoleHandle>>(PveClient&, const PveVm&)>;

struct ReadinessTimings {
  absl::Duration find, rollback, gpu, start, address, console, total;
};

struct ReadyVm {
  PveVm vm;
  std::string address;  // the guest's IP
  std::unique_ptr<ConsoleHandle> console;
  std::optional<GpuAttachment> gpu;
  bool started_here = false;          // the VM was not running before
  std::vector<std::string> warnings;  // task warnings, primary-mode notice
  ReadinessTimings timings;
};

// On failure, `failed_step` (may be null) names the step ("start", "address"...).
absl::StatusOr<std::unique_ptr<ReadyVm>> MakeVmReady(PveClient& client, const VmReadinessSpec& spec,
                                                     const ConsoleOpener& open_console,
                                                     std::string* failed_step = nullptr);

// Closes the console, applies `spec.after`, and restores the GPU config (stopping the
// VM first when the GPU was attached, since PVE applies the removal only then). Every
// part is attempted; the first error is returned.
absl::Status ReleaseVm(PveClient& client, const VmReadinessSpec& spec, ReadyVm& ready);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_VM_READINESS_H_

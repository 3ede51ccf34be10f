// Bridge: what mosdat-proxmox-bridge does, without gRPC. It keeps one PveClient per
// Proxmox endpoint (so a ticket login is reused), the consoles it opened, and the VMs it
// prepared for jobs (leases), each until it is closed or released. Destroying the
// bridge releases every lease and closes every console: nothing stays attached (GPU,
// console ports) when the bridge stops, even after an aborted job. Thread-safe.
#ifndef MOSDAT_PROXMOX_BRIDGE_BRIDGE_H_
#define MOSDAT_PROXMOX_BRIDGE_BRIDGE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/pve_endpoint.h"
#include "proxmox-bridge/bridge_metrics.h"
#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/vm_readiness.h"

namespace mosdat {

// A Proxmox endpoint as a request names it: secrets as references.
using PveEndpointSpec = PveEndpoint;

struct ConsoleInfo {
  std::string id;
  std::string address;  // 127.0.0.1:PORT
  std::string password;
};

struct PreparedVmInfo {
  std::string lease_id;
  PveVm vm;
  std::string address;
  std::optional<ConsoleInfo> console;
  std::optional<GpuAttachment> gpu;
  std::vector<std::string> warnings;
  ReadinessTimings timings;
};

struct BridgeOptions {
  // Opens a VM's console; the default is the WebSocket tunnel (pve_console.h).
  ConsoleOpener open_console;
  prometheus::Registry* metrics = nullptr;  // may be null
};

class Bridge {
 public:
  explicit Bridge(BridgeOptions options);
  ~Bridge();

  absl::StatusOr<std::shared_ptr<PveClient>> Client(const PveEndpointSpec& endpoint);

  absl::StatusOr<ConsoleInfo> OpenConsole(const PveEndpointSpec& endpoint, const PveVm& vm);
  absl::Status CloseConsole(const std::string& id);

  absl::StatusOr<PreparedVmInfo> Prepare(const PveEndpointSpec& endpoint,
                                         const VmReadinessSpec& spec);
  absl::Status Release(const std::string& lease_id);

  int open_consoles() const;
  int leases() const;

 private:
  struct Lease {
    std::shared_ptr<PveClient> client;
    VmReadinessSpec spec;
    std::unique_ptr<ReadyVm> ready;
  };
  std::string NewId(std::string_view prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Consoles open on their own and those of prepared VMs.
  int CountConsoles() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void UpdateConsoleGauge() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  BridgeOptions options_;
  std::unique_ptr<BridgeMetrics> metrics_;
  mutable absl::Mutex mutex_;
  std::map<std::string, std::shared_ptr<PveClient>> clients_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, std::unique_ptr<ConsoleHandle>> consoles_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, Lease> leases_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
};

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_BRIDGE_H_

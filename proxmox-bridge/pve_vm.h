// VM lifecycle on Proxmox VE: finding a VM in the cluster (by vmid or name, through
// /cluster/resources, so a VM that migrated is still found), its status, and the
// power and snapshot actions, each waiting for its task. A VM locked by a backup,
// migration or snapshot is an infrastructure error that says so, never a hang.
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_VM_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_VM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proxmox-bridge/pve_client.h"

namespace mosdat {

// A VM where it is now.
struct PveVm {
  std::string node;
  int vmid = 0;
  std::string name;
  // "/nodes/NODE/qemu/VMID"
  std::string Path() const;
};

struct PveVmStatus {
  PveVm vm;
  std::string status;     // "running" | "stopped" | "paused"...
  std::string qmpstatus;  // QEMU's own view ("running", "paused", "prelaunch"...)
  std::string lock;       // "" or "backup", "migrate", "snapshot", "rollback"...
  int64_t uptime_seconds = 0;
  bool agent_enabled = false;  // the VM's config enables the guest agent
};

struct PveSnapshot {
  std::string name;
  std::string description;
  std::string parent;
  int64_t snaptime = 0;
  bool vmstate = false;  // RAM included: rollback resumes a running VM
};

// Finds a VM by vmid (when > 0) or by name across the cluster; a name that matches more
// than one VM is an error listing them.
absl::StatusOr<PveVm> FindPveVm(PveClient& client, int vmid, const std::string& name);
absl::StatusOr<std::vector<PveVmStatus>> ListPveVms(PveClient& client);
absl::StatusOr<PveVmStatus> GetPveVmStatus(PveClient& client, const PveVm& vm);

// Each waits for its task until `deadline`. `warnings` (may be null) receives the
// task warnings PVE reported.
struct PveTaskOptions {
  absl::Time deadline;
  std::vector<std::string>* warnings = nullptr;
};
absl::Status StartPveVm(PveClient& client, const PveVm& vm, const PveTaskOptions& options);
// ACPI shutdown; when the guest has not stopped after `timeout`, PVE stops it.
absl::Status ShutdownPveVm(PveClient& client, const PveVm& vm, absl::Duration timeout,
                           const PveTaskOptions& options);
absl::Status StopPveVm(PveClient& client, const PveVm& vm, const PveTaskOptions& options);
absl::Status ResetPveVm(PveClient& client, const PveVm& vm, const PveTaskOptions& options);

absl::StatusOr<std::vector<PveSnapshot>> ListPveSnapshots(PveClient& client, const PveVm& vm);
absl::Status RollbackPveSnapshot(PveClient& client, const PveVm& vm, const std::string& snapshot,
                                 const PveTaskOptions& options);
absl::Status CreatePveSnapshot(PveClient& client, const PveVm& vm, const std::string& snapshot,
                               const std::string& description, const PveTaskOptions& options);

// An infrastructure error when the VM holds a lock (what the lock means and what to
// do), OK otherwise.
absl::Status RefuseLocked(const PveVmStatus& status);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_VM_H_

#include "proxmox-bridge/pve_vm.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proxmox-bridge/pve_json.h"

namespace mosdat {
namespace {

using json = nlohmann::json;

std::string VmLabel(const PveVm& vm) {
  return vm.name.empty() ? absl::StrCat("VM ", vm.vmid)
                         : absl::StrCat("VM ", vm.vmid, " (", vm.name, ")");
}

// Runs an async action: POST, then waits for the task it returns.
absl::Status RunTask(PveClient& client, const std::string& path, const PveParams& params,
                     const std::string& what, const PveTaskOptions& options) {
  absl::StatusOr<json> upid = client.Post(path, params);
  if (!upid.ok()) return upid.status();
  if (!upid->is_string()) {
    return absl::InternalError(
        absl::StrCat("Proxmox VE answered \"", what, "\" without a task id"));
  }
  return client.WaitForTask(upid->get<std::string>(), what, options.deadline, options.warnings);
}

// Actions refuse a locked VM before starting a task that would fail or queue behind it.
absl::Status CheckUnlocked(PveClient& client, const PveVm& vm) {
  absl::StatusOr<PveVmStatus> status = GetPveVmStatus(client, vm);
  if (!status.ok()) return status.status();
  return RefuseLocked(*status);
}

}  // namespace

std::string PveVm::Path() const { return absl::StrCat("/nodes/", node, "/qemu/", vmid); }

absl::StatusOr<std::vector<PveVmStatus>> ListPveVms(PveClient& client) {
  absl::StatusOr<json> resources = client.Get("/cluster/resources", {{"type", "vm"}});
  if (!resources.ok()) return resources.status();
  if (!resources->is_array()) {
    return absl::InternalError("Proxmox VE's /cluster/resources answer is not a list");
  }
  std::vector<PveVmStatus> vms;
  for (const json& entry : *resources) {
    if (!entry.is_object() || PveString(entry, "type") != "qemu") continue;
    if (vms.size() == 100000) break;  // bounded, whatever the peer sends
    PveVmStatus vm;
    vm.vm.node = PveString(entry, "node");
    vm.vm.vmid = static_cast<int>(PveInt(entry, "vmid"));
    vm.vm.name = PveString(entry, "name");
    vm.status = PveString(entry, "status");
    vm.lock = PveString(entry, "lock");
    vm.uptime_seconds = PveInt(entry, "uptime");
    if (vm.vm.vmid <= 0 || vm.vm.node.empty()) continue;
    vms.push_back(std::move(vm));
  }
  return vms;
}

absl::StatusOr<PveVm> FindPveVm(PveClient& client, int vmid, const std::string& name) {
  absl::StatusOr<std::vector<PveVmStatus>> vms = ListPveVms(client);
  if (!vms.ok()) return vms.status();
  std::vector<PveVm> matches;
  for (const PveVmStatus& vm : *vms) {
    if (vmid > 0 ? vm.vm.vmid == vmid : vm.vm.name == name) matches.push_back(vm.vm);
  }
  const std::string wanted =
      vmid > 0 ? absl::StrCat("vmid ", vmid) : absl::StrCat("name \"", name, "\"");
  if (matches.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "no VM with ", wanted, " in the Proxmox VE cluster at ", client.Origin(), " (", vms->size(),
        " VMs visible to \"", client.user(),
        "\"). Check the [[vm]] vmid/name, and that the user may see the VM (VM.Audit)"));
  }
  if (matches.size() > 1) {
    std::vector<std::string> ids;
    for (const PveVm& vm : matches) ids.push_back(absl::StrCat(vm.vmid, " on ", vm.node));
    return absl::UnavailableError(absl::StrCat("more than one VM has the ", wanted, ": ",
                                               absl::StrJoin(ids, ", "),
                                               "; name it by vmid in the config"));
  }
  return matches.front();
}

absl::StatusOr<PveVmStatus> GetPveVmStatus(PveClient& client, const PveVm& vm) {
  absl::StatusOr<json> current = client.Get(vm.Path() + "/status/current");
  if (!current.ok()) return current.status();
  if (!current->is_object()) {
    return absl::InternalError(absl::StrCat("the status of ", VmLabel(vm), " is not an object"));
  }
  PveVmStatus status;
  status.vm = vm;
  if (std::string name = PveString(*current, "name"); !name.empty()) status.vm.name = name;
  status.status = PveString(*current, "status");
  status.qmpstatus = PveString(*current, "qmpstatus");
  status.lock = PveString(*current, "lock");
  status.uptime_seconds = PveInt(*current, "uptime");
  status.agent_enabled = PveInt(*current, "agent") != 0;
  return status;
}

absl::Status RefuseLocked(const PveVmStatus& status) {
  if (status.lock.empty()) return absl::OkStatus();
  std::string meaning = "an operation holds it";
  if (status.lock == "backup") meaning = "a backup is running";
  if (status.lock == "migrate") meaning = "it is being migrated";
  if (status.lock == "snapshot" || status.lock == "snapshot-delete") {
    meaning = "a snapshot is being taken or deleted";
  }
  if (status.lock == "rollback") meaning = "a snapshot rollback is running";
  if (status.lock == "clone" || status.lock == "create") meaning = "it is being created";
  return absl::AbortedError(absl::StrCat(
      VmLabel(status.vm), " on node ", status.vm.node, " is locked (", status.lock, "): ", meaning,
      ". Run again when it is done; if the lock is stale, remove it on the node with: "
      "qm unlock ",
      status.vm.vmid));
}

absl::Status StartPveVm(PveClient& client, const PveVm& vm, const PveTaskOptions& options) {
  if (absl::Status s = CheckUnlocked(client, vm); !s.ok()) return s;
  return RunTask(client, vm.Path() + "/status/start", {}, absl::StrCat("start ", VmLabel(vm)),
                 options);
}

absl::Status ShutdownPveVm(PveClient& client, const PveVm& vm, absl::Duration timeout,
                           const PveTaskOptions& options) {
  if (absl::Status s = CheckUnlocked(client, vm); !s.ok()) return s;
  const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(timeout));
  return RunTask(client, vm.Path() + "/status/shutdown",
                 {{"timeout", absl::StrCat(seconds)}, {"forceStop", PveBool(true)}},
                 absl::StrCat("shut down ", VmLabel(vm)), options);
}

absl::Status StopPveVm(PveClient& client, const PveVm& vm, const PveTaskOptions& options) {
  if (absl::Status s = CheckUnlocked(client, vm); !s.ok()) return s;
  return RunTask(client, vm.Path() + "/status/stop", {}, absl::StrCat("stop ", VmLabel(vm)),
                 options);
}

absl::Status ResetPveVm(PveClient& client, const PveVm& vm, const PveTaskOptions& options) {
  if (absl::Status s = CheckUnlocked(client, vm); !s.ok()) return s;
  return RunTask(client, vm.Path() + "/status/reset", {}, absl::StrCat("reset ", VmLabel(vm)),
                 options);
}

absl::StatusOr<std::vector<PveSnapshot>> ListPveSnapshots(PveClient& client, const PveVm& vm) {
  absl::StatusOr<json> list = client.Get(vm.Path() + "/snapshot");
  if (!list.ok()) return list.status();
  if (!list->is_array()) {
    return absl::InternalError(
        absl::StrCat("the snapshot list of ", VmLabel(vm), " is not a list"));
  }
  std::vector<PveSnapshot> snapshots;
  for (const json& entry : *list) {
    if (!entry.is_object()) continue;
    PveSnapshot snapshot{.name = PveString(entry, "name"),
                         .description = PveString(entry, "description"),
                         .parent = PveString(entry, "parent"),
                         .snaptime = PveInt(entry, "snaptime"),
                         .vmstate = PveInt(entry, "vmstate") != 0};
    // "current" is PVE's marker for "you are here", not a snapshot.
    if (snapshot.name.empty() || snapshot.name == "current") continue;
    if (snapshots.size() == 10000) break;
    snapshots.push_back(std::move(snapshot));
  }
  return snapshots;
}

absl::Status RollbackPveSnapshot(PveClient& client, const PveVm& vm, const std::string& snapshot,
                                 const PveTaskOptions& options) {
  if (absl::Status s = CheckUnlocked(client, vm); !s.ok()) return s;
  absl::StatusOr<std::vector<PveSnapshot>> snapshots = ListPveSnapshots(client, vm);
  if (!snapshots.ok()) return snapshots.status();
  std::vector<std::string> names;
  for (const PveSnapshot& s : *snapshots) {
    if (s.name == snapshot) {
      return RunTask(client, absl::StrCat(vm.Path(), "/snapshot/", snapshot, "/rollback"), {},
                     absl::StrCat("roll ", VmLabel(vm), " back to snapshot ", snapshot), options);
    }
    names.push_back(s.name);
  }
  return absl::UnavailableError(
      absl::StrCat(VmLabel(vm), " has no snapshot \"", snapshot,
                   "\" (it has: ", names.empty() ? "none" : absl::StrJoin(names, ", "),
                   "). Take it in the GUI or with: qm snapshot ", vm.vmid, " ", snapshot));
}

absl::Status CreatePveSnapshot(PveClient& client, const PveVm& vm, const std::string& snapshot,
                               const std::string& description, const PveTaskOptions& options) {
  if (absl::Status s = CheckUnlocked(client, vm); !s.ok()) return s;
  PveParams params{{"snapname", snapshot}};
  if (!description.empty()) params.emplace_back("description", description);
  return RunTask(client, vm.Path() + "/snapshot", params,
                 absl::StrCat("snapshot ", VmLabel(vm), " as ", snapshot), options);
}

}  // namespace mosdat

#include "proxmox-bridge/pve_gpu.h"

#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proxmox-bridge/pve_json.h"

namespace mosdat {
namespace {

using json = nlohmann::json;
constexpr int kMaxHostPci = 16;

// The device named by a hostpci value ("host=0000:01:00,pcie=1", "0000:01:00",
// "mapping=gpu0,pcie=1"): "0000:01:00" or "mapping=gpu0".
std::string DeviceOfHostPci(const std::string& value) {
  std::string first = value.substr(0, value.find(','));
  if (absl::StartsWith(first, "mapping=")) return first;
  if (absl::StartsWith(first, "host=")) first = first.substr(5);
  return NormalizePciAddress(first);
}

bool SameDevice(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  // "0000:01:00" (all functions) covers "0000:01:00.0".
  return a == b || absl::StartsWith(a, b + ".") || absl::StartsWith(b, a + ".");
}

absl::StatusOr<json> VmConfig(PveClient& client, const PveVm& vm) {
  absl::StatusOr<json> config = client.Get(vm.Path() + "/config");
  if (!config.ok()) return config.status();
  if (!config->is_object()) return absl::InternalError("the VM config is not an object");
  return config;
}

absl::Status CheckDeviceOnNode(PveClient& client, const PveVm& vm, const GpuRequest& request,
                               std::string* description) {
  if (!request.mapping.empty()) {
    absl::StatusOr<json> mappings = client.Get("/cluster/mapping/pci");
    if (!mappings.ok()) return mappings.status();
    if (!mappings->is_array()) return absl::InternalError("the PCI mapping list is not a list");
    for (const json& mapping : *mappings) {
      if (PveString(mapping, "id") != request.mapping) continue;
      auto map = mapping.find("map");
      if (map != mapping.end() && map->is_array()) {
        for (const json& entry : *map) {
          if (entry.is_string() &&
              absl::StrContains(entry.get<std::string>(), absl::StrCat("node=", vm.node))) {
            *description = absl::StrCat("mapping ", request.mapping, " (",
                                        entry.get<std::string>().substr(0, 200), ")");
            return absl::OkStatus();
          }
        }
      }
      return absl::UnavailableError(
          absl::StrCat("the PCI mapping \"", request.mapping, "\" has no device on node ", vm.node,
                       " where VM ", vm.vmid,
                       " runs: add the node's GPU to it (Datacenter → Resource "
                       "Mappings)"));
    }
    return absl::UnavailableError(absl::StrCat(
        "there is no PCI resource mapping \"", request.mapping,
        "\" in the cluster: create it (Datacenter → Resource Mappings) or fix gpu_mapping"));
  }
  absl::StatusOr<json> devices = client.Get(absl::StrCat("/nodes/", vm.node, "/hardware/pci"));
  if (!devices.ok()) return devices.status();
  if (!devices->is_array()) return absl::InternalError("the PCI device list is not a list");
  const std::string wanted = NormalizePciAddress(request.pci_address);
  std::vector<std::string> displays;
  for (const json& device : *devices) {
    const std::string id = NormalizePciAddress(PveString(device, "id", 64));
    if (SameDevice(id, wanted)) {
      *description = absl::StrCat(id, " ", PveString(device, "vendor_name", 80), " ",
                                  PveString(device, "device_name", 120));
      return absl::OkStatus();
    }
    // Class 0x03xxxx: display controllers, the likely intended devices.
    if (absl::StartsWith(PveString(device, "class", 16), "0x03") && displays.size() < 8) {
      displays.push_back(absl::StrCat(id, " ", PveString(device, "device_name", 80)));
    }
  }
  return absl::UnavailableError(absl::StrCat(
      "node ", vm.node, " has no PCI device ", wanted, " for VM ", vm.vmid,
      " (display devices there: ", displays.empty() ? "none" : absl::StrJoin(displays, "; "),
      "). Fix gpu_pci_address, or run the VM on the node that has the GPU"));
}

// Another running VM on the node that holds the device.
absl::Status CheckNotInUse(PveClient& client, const PveVm& vm, const std::string& device) {
  absl::StatusOr<std::vector<PveVmStatus>> vms = ListPveVms(client);
  if (!vms.ok()) return vms.status();
  for (const PveVmStatus& other : *vms) {
    if (other.vm.vmid == vm.vmid || other.vm.node != vm.node || other.status != "running") {
      continue;
    }
    absl::StatusOr<json> config = VmConfig(client, other.vm);
    if (!config.ok()) return config.status();
    for (int i = 0; i < kMaxHostPci; ++i) {
      std::string value = PveString(*config, absl::StrCat("hostpci", i).c_str(), 512);
      if (SameDevice(DeviceOfHostPci(value), device)) {
        return absl::UnavailableError(absl::StrCat("the GPU ", device, " is passed through to VM ",
                                                   other.vm.vmid, " (", other.vm.name,
                                                   "), which is running on node ", vm.node,
                                                   ": stop that VM or give this one another GPU"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status WriteConfig(PveClient& client, const PveVm& vm, PveParams params,
                         const std::string& digest) {
  params.emplace_back("digest", digest);
  absl::StatusOr<json> answer = client.Put(vm.Path() + "/config", params);
  if (!answer.ok() && (absl::StrContains(answer.status().message(), "digest") ||
                       absl::StrContains(answer.status().message(), "checksum mismatch"))) {
    return absl::AbortedError(absl::StrCat(
        "the config of VM ", vm.vmid, " changed while mOSdat edited it (digest mismatch): ",
        answer.status().message(), ". Nothing was written; run again"));
  }
  return answer.status();
}

}  // namespace

std::string NormalizePciAddress(const std::string& address) {
  static const std::regex kPci("^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})(?:\\.([0-7]))?$");
  std::string lower = absl::AsciiStrToLower(address);
  std::smatch m;
  if (!std::regex_match(lower, m, kPci)) return "";
  std::string out =
      absl::StrCat(m[1].matched ? m[1].str() : "0000", ":", m[2].str(), ":", m[3].str());
  if (m[4].matched) absl::StrAppend(&out, ".", m[4].str());
  return out;
}

namespace {

// The device a request names ("mapping=NAME" or a normalized address), or why this
// login may not pass it through.
absl::StatusOr<std::string> CheckGpuRequest(PveClient& client, const GpuRequest& request) {
  if (!request.mapping.empty()) return absl::StrCat("mapping=", request.mapping);
  if (NormalizePciAddress(request.pci_address).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", request.pci_address, "\" is not a PCI address like 0000:01:00"));
  }
  if (client.uses_token() || client.user() != "root@pam") {
    return absl::PermissionDeniedError(absl::StrCat(
        "only root@pam may pass a raw PCI address (host=) through; \"", client.user(),
        "\" must use a resource mapping: create one for the GPU (Datacenter → Resource "
        "Mappings) and set gpu_mapping = \"NAME\" in [proxmox]"));
  }
  return NormalizePciAddress(request.pci_address);
}

// The checks of CheckGpuAvailable on the VM's config already read.
absl::StatusOr<std::string> CheckGpuUsable(PveClient& client, const PveVm& vm,
                                           const GpuRequest& request, const std::string& device,
                                           const json& config) {
  const std::string machine = PveString(config, "machine", 128);
  if (!absl::StrContains(machine, "q35")) {
    return absl::UnavailableError(absl::StrCat(
        "VM ", vm.vmid, " uses machine type \"", machine.empty() ? "i440fx (default)" : machine,
        "\", but a GPU passed through as PCIe (pcie=1) needs q35: set Hardware → Machine to "
        "q35 (qm set ",
        vm.vmid, " --machine q35)"));
  }
  std::string description;
  if (absl::Status s = CheckDeviceOnNode(client, vm, request, &description); !s.ok()) return s;
  if (absl::Status s = CheckNotInUse(client, vm, device); !s.ok()) return s;
  return description;
}

}  // namespace

absl::StatusOr<std::string> CheckGpuAvailable(PveClient& client, const PveVm& vm,
                                              const GpuRequest& request) {
  absl::StatusOr<std::string> device = CheckGpuRequest(client, request);
  if (!device.ok()) return device.status();
  absl::StatusOr<json> config = VmConfig(client, vm);
  if (!config.ok()) return config.status();
  return CheckGpuUsable(client, vm, request, *device, *config);
}

absl::StatusOr<GpuAttachment> AttachGpu(PveClient& client, const PveVm& vm,
                                        const GpuRequest& request) {
  absl::StatusOr<std::string> checked_device = CheckGpuRequest(client, request);
  if (!checked_device.ok()) return checked_device.status();
  const std::string& device = *checked_device;
  absl::StatusOr<json> config = VmConfig(client, vm);
  if (!config.ok()) return config.status();
  const bool by_mapping = !request.mapping.empty();
  const std::string value =
      absl::StrCat(by_mapping ? "" : "host=", device, ",pcie=1", request.primary ? ",x-vga=1" : "");
  GpuAttachment attachment;
  int free_slot = -1;
  for (int i = 0; i < kMaxHostPci; ++i) {
    const std::string slot = absl::StrCat("hostpci", i);
    const std::string current = PveString(*config, slot.c_str(), 512);
    if (current.empty()) {
      if (free_slot < 0) free_slot = i;
      continue;
    }
    if (SameDevice(DeviceOfHostPci(current), device)) {
      attachment.slot = slot;
      attachment.previous = current;
      break;
    }
  }
  absl::StatusOr<std::string> description = CheckGpuUsable(client, vm, request, device, *config);
  if (!description.ok()) return description.status();
  if (attachment.slot.empty()) {
    if (free_slot < 0) {
      return absl::UnavailableError(absl::StrCat("VM ", vm.vmid, " has no free hostpci slot"));
    }
    attachment.slot = absl::StrCat("hostpci", free_slot);
  }
  attachment.device = *description;
  attachment.value = value;
  absl::StrAppend(&attachment.device,
                  request.primary ? " (primary mode: x-vga=1, VNC blank)" : " (compute mode)");
  if (attachment.changed()) {
    absl::Status written =
        WriteConfig(client, vm, {{attachment.slot, value}}, PveString(*config, "digest", 128));
    if (!written.ok()) return written;
  }
  return attachment;
}

absl::Status RestoreGpu(PveClient& client, const PveVm& vm, const GpuAttachment& attachment) {
  if (!attachment.changed()) return absl::OkStatus();
  absl::StatusOr<json> config = VmConfig(client, vm);
  if (!config.ok()) return config.status();
  // A snapshot rollback or a person may have changed the slot since: leave theirs.
  if (PveString(*config, attachment.slot.c_str(), 512) != attachment.value) {
    return absl::OkStatus();
  }
  PveParams params;
  if (attachment.previous.empty()) {
    params.emplace_back("delete", attachment.slot);
  } else {
    params.emplace_back(attachment.slot, attachment.previous);
  }
  return WriteConfig(client, vm, std::move(params), PveString(*config, "digest", 128));
}

}  // namespace mosdat

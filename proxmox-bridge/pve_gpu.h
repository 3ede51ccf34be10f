// GPU passthrough on Proxmox VE: a hostpciN entry in the VM's config, written with the
// config's `digest` (optimistic locking: a concurrent edit fails the write instead of
// being overwritten). Compute mode (pcie=1) keeps the VNC console; primary mode
// (x-vga=1) makes the GPU the VM's display and blanks the console. PVE does not
// hot-plug PCI devices: a change applies at the VM's next full stop and start, which
// the caller does. Refused before any write, with what to do: a device absent on the
// node, a device another running VM holds, pcie=1 on a machine type that is not q35,
// and a raw host= address from anyone but root@pam (tokens must use a mapping).
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_GPU_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_GPU_H_

#include <string>

#include "absl/status/statusor.h"
#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/pve_vm.h"

namespace mosdat {

struct GpuRequest {
  std::string pci_address;  // "0000:01:00" (every function) or "0000:01:00.0"
  std::string mapping;      // a PVE PCI resource mapping; used instead of the address
  bool primary = false;     // x-vga=1
};

// What AttachGpu changed, to be undone by RestoreGpu and recorded in the job's events.
struct GpuAttachment {
  std::string slot;      // "hostpci0"
  std::string value;     // written, e.g. "host=0000:01:00,pcie=1"
  std::string previous;  // the slot's value before; "" = it was empty
  std::string device;    // for humans: "0000:01:00.0 NVIDIA ... (compute mode)"
  bool changed() const { return value != previous; }
};

// The read-only part of AttachGpu: the request is one this login may make, the VM's
// machine type fits, the device (or the mapping's device) is on the VM's node, and no
// other running VM there holds it. Returns the device for humans ("0000:01:00.0 NVIDIA
// GA102" or "mapping gpu0 (...)"); an error says what is wrong and what to do. Writes
// nothing (`mosdat doctor` uses it).
absl::StatusOr<std::string> CheckGpuAvailable(PveClient& client, const PveVm& vm,
                                              const GpuRequest& request);

// CheckGpuAvailable, then writes the hostpci slot (unless it already holds this value).
absl::StatusOr<GpuAttachment> AttachGpu(PveClient& client, const PveVm& vm,
                                        const GpuRequest& request);
// Puts the slot back as it was (deletes it when it was empty).
absl::Status RestoreGpu(PveClient& client, const PveVm& vm, const GpuAttachment& attachment);

// "01:00" → "0000:01:00"; lower-case. "" when it is not a PCI address.
std::string NormalizePciAddress(const std::string& address);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_GPU_H_

// The QEMU guest agent of a Proxmox VE VM, through PVE's /agent/* API: ping, the VM's
// IP address, exec for when SSH is not up yet, and file-write. PVE 8.x asks for
// VM.Monitor on these calls, 9.x for VM.GuestAgent.*: a 403 names the privilege PVE
// wants and which model applies.
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_GUEST_AGENT_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_GUEST_AGENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/pve_vm.h"

namespace mosdat {

struct GuestInterface {
  std::string name;
  std::vector<std::string> ipv4;
  std::vector<std::string> ipv6;
};

absl::Status PingGuestAgent(PveClient& client, const PveVm& vm);
absl::StatusOr<std::vector<GuestInterface>> GuestInterfaces(PveClient& client, const PveVm& vm);

// The address to reach the VM at: IPv4 before IPv6, never loopback or link-local; an
// address inside one of `preferred_subnets` ("192.168.10.0/24") wins. Empty when the
// guest reports none (yet).
std::string ChooseGuestAddress(const std::vector<GuestInterface>& interfaces,
                               const std::vector<std::string>& preferred_subnets);

// Polls the agent (which starts after the guest boots) and then the addresses (DHCP
// may take a while) until `deadline`. The error says which of the two never came.
absl::StatusOr<std::string> WaitForGuestAddress(PveClient& client, const PveVm& vm,
                                                const std::vector<std::string>& preferred_subnets,
                                                absl::Time deadline);

struct GuestExecResult {
  int exit_code = 0;
  std::string out;  // as the agent captured it (PVE caps it)
  std::string err;
};

// Runs `argv` in the guest and waits until it exits or `deadline` passes.
absl::StatusOr<GuestExecResult> GuestExec(PveClient& client, const PveVm& vm,
                                          const std::vector<std::string>& argv,
                                          absl::Time deadline);

// PVE's limit on file-write content (bytes after base64).
inline constexpr size_t kGuestFileWriteMaxBytes = 61440;

// Writes `content` to `path` in the guest (base64 on the wire; content up to 45 KiB).
absl::Status GuestFileWrite(PveClient& client, const PveVm& vm, const std::string& path,
                            const std::string& content);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_GUEST_AGENT_H_

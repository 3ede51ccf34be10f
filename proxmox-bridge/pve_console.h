// A Proxmox VM's console as a loopback RFB port: ConsoleTunnel fed by vncproxy calls
// (websocket=1, generate-password=1), one per upstream session, with the VNC password
// from the answer (`password` from PVE 9.1.7 on and whenever generate-password is
// honoured; the ticket itself before). Errors are infrastructure errors.
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_CONSOLE_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_CONSOLE_H_

#include "proxmox-bridge/console_tunnel.h"
#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/pve_vm.h"
#include "proxmox-bridge/vm_readiness.h"

namespace mosdat {

// One upstream session of `vm`'s console: a vncproxy call turned into a ConsoleUpstream.
absl::StatusOr<ConsoleUpstream> OpenVncProxy(PveClient& client, const PveVm& vm);

// The ConsoleOpener of the bridge: a ConsoleTunnel over OpenVncProxy. `client` must
// outlive the console.
absl::StatusOr<std::unique_ptr<ConsoleHandle>> OpenTunnelConsole(PveClient& client,
                                                                 const PveVm& vm);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_CONSOLE_H_

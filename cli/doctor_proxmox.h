// `mosdat doctor` for a provider = "proxmox" VM: the checklist of everything a run
// needs from Proxmox VE and the guest, in the order a run meets it, each read-only:
//   api          the endpoint answers (its Proxmox VE version once logged in)
//   tls          the certificate it presented (SHA-256), pinned or verified by a CA
//   auth         the token or password login works
//   vm           the VM is found (by vmid, pve_name or name) and on which node
//   privileges   the login holds what a run uses on /vms/VMID (named when missing)
//   status       running or stopped; a lock fails, with what it means
//   snapshot     the configured snapshot exists (only with `snapshot`)
//   guest-agent  qemu-ga answers (only while the VM runs)
//   ip           fixed `ip`, or the guest agent's address (preferred subnets first)
//   ssh          connect, host key, key login, `true`
//   guest-python /usr/bin/python3 loads AT-SPI through gi
//   console      a frame through vncproxy + vncwebsocket
//   gpu          the GPU is on the node and free (only with gpu = true)
// A check whose prerequisite failed is skipped with the reason, not failed again.
// Starts nothing and writes nothing on the server (the console it opens is closed).
#ifndef MOSDAT_CLI_DOCTOR_PROXMOX_H_
#define MOSDAT_CLI_DOCTOR_PROXMOX_H_

#include "cli/doctor_report.h"
#include "core/config.h"

namespace mosdat {

DoctorChecklist DoctorProxmoxVm(const Config& config, const VmConfig& vm);

}  // namespace mosdat

#endif  // MOSDAT_CLI_DOCTOR_PROXMOX_H_

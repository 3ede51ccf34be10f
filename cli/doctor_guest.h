// `mosdat doctor`'s checks of a VM's guest over SSH, as a run reaches it: "ssh"
// (connect, verify the host key against the pinned host_key_fingerprint or
// known_hosts, log in with ssh_key, run `true`) and "guest-python" (the guest's system
// Python can load AT-SPI through gi, which the AT-SPI helper needs). When SSH fails,
// "guest-python" is skipped.
#ifndef MOSDAT_CLI_DOCTOR_GUEST_H_
#define MOSDAT_CLI_DOCTOR_GUEST_H_

#include <string>

#include "cli/doctor_report.h"
#include "core/config.h"

namespace mosdat {

// The Python line the guest check runs (with the guest helper's interpreter).
inline constexpr char kAtspiImportCheck[] =
    "import gi; gi.require_version(\"Atspi\", \"2.0\"); from gi.repository import Atspi";

// `address` is the guest's IP as the run would use it (fixed `ip` or the agent's).
void CheckGuestOverSsh(const VmConfig& vm, const std::string& address, DoctorChecklist& checks);

}  // namespace mosdat

#endif  // MOSDAT_CLI_DOCTOR_GUEST_H_

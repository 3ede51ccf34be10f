// `mosdat doctor` for a provider = "local" VM (the embedded default's desktop on this
// machine): what the local provider runs, checked here:
//   desktop-programs  Xvnc, dbus-daemon and openbox on PATH
//   sshd              /usr/sbin/sshd (the local provider drives its desktop over SSH)
//   python-atspi      /usr/bin/python3 loads AT-SPI through gi (the AT-SPI helper)
//   app               the app binary (app_path, else [app].binary) is an executable
//   desktop           a LocalDesktop starts and a frame is captured over VNC
// The desktop is started without the app, and stopped again.
#ifndef MOSDAT_CLI_DOCTOR_LOCAL_H_
#define MOSDAT_CLI_DOCTOR_LOCAL_H_

#include "cli/doctor_report.h"
#include "core/config.h"

namespace mosdat {

DoctorChecklist DoctorLocalVm(const Config& config, const VmConfig& vm);

}  // namespace mosdat

#endif  // MOSDAT_CLI_DOCTOR_LOCAL_H_

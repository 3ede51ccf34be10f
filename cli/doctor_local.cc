#include "cli/doctor_local.h"

#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/doctor_guest.h"
#include "core/absl_compat.h"
#include "core/process.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

constexpr char kInstall[] = "sudo deploy/install-deps.sh (or apt install ";
constexpr char kSshd[] = "/usr/sbin/sshd";
constexpr char kSystemPython[] = "/usr/bin/python3";

void Programs(DoctorChecklist& checks) {
  std::vector<std::string> found;
  std::vector<std::string> missing;
  for (const char* program : {"Xvnc", "dbus-daemon", "openbox"}) {
    std::string path = FindExecutable(program);
    (path.empty() ? missing : found).push_back(path.empty() ? program : path);
  }
  if (missing.empty()) {
    checks.Pass("desktop-programs", absl::StrJoin(found, ", "));
  } else {
    checks.Fail("desktop-programs", absl::StrCat("not on PATH: ", absl::StrJoin(missing, ", ")),
                absl::StrCat(kInstall, "tigervnc-standalone-server dbus-x11 openbox)"));
  }
}

void Sshd(DoctorChecklist& checks) {
  if (access(kSshd, X_OK) == 0) {
    checks.Pass("sshd", kSshd);
  } else {
    checks.Fail("sshd", absl::StrCat(kSshd, " is not installed"),
                absl::StrCat(kInstall, "openssh-server)"));
  }
}

void PythonAtspi(DoctorChecklist& checks) {
  absl::StatusOr<CommandResult> ran =
      RunCommand({kSystemPython, "-c", kAtspiImportCheck}, CurrentEnvironment(), absl::Seconds(30));
  if (ran.ok() && !ran->timed_out && ran->status.exit_code == 0) {
    checks.Pass("python-atspi", absl::StrCat(kSystemPython, " imports gi and Atspi 2.0"));
    return;
  }
  std::string why = ran.ok() ? ran->err : std::string(ran.status().message());
  if (why.size() > 400) why = "..." + why.substr(why.size() - 400);
  checks.Fail("python-atspi", absl::StrCat(kSystemPython, " cannot load AT-SPI: ", why),
              absl::StrCat(kInstall, "python3-gi gir1.2-atspi-2.0 at-spi2-core)"));
}

void App(const Config& config, const VmConfig& vm, DoctorChecklist& checks) {
  const std::string& binary = vm.app_path.empty() ? config.app.binary : vm.app_path;
  const std::string key = vm.app_path.empty() ? "[app] binary" : "app_path";
  if (binary.empty()) {
    checks.Fail("app", "no app binary is configured",
                "set [app] binary (or app_path in the [[vm]] table)");
    return;
  }
  std::string path = FindExecutable(binary);
  if (path.empty()) {
    checks.Fail("app", absl::StrCat("\"", binary, "\" (", key, ") is not an executable here"),
                absl::StrCat("install the app, or fix ", key));
    return;
  }
  checks.Pass("app", absl::StrCat(path, " is executable"));
}

void Desktop(const VmConfig& vm, DoctorChecklist& checks) {
  if (!checks.Passed("desktop-programs")) {
    checks.Skip("desktop", "the desktop's programs are missing (desktop-programs)");
    return;
  }
  const std::string fix =
      "read the message; `mosdat --log-level debug doctor ...` shows each program's "
      "start, and the desktop's logs name what failed";
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.width = vm.geometry.width, .height = vm.geometry.height});
  if (!desktop.ok()) {
    checks.Fail("desktop", std::string(desktop.status().message()), fix);
    return;
  }
  absl::StatusOr<Frame> frame = absl::UnavailableError("not connected");
  {
    absl::StatusOr<std::unique_ptr<VncSession>> session =
        VncSession::Connect({.port = (*desktop)->vnc_port(),
                             .password = (*desktop)->vnc_password(),
                             .connect_timeout = absl::Seconds(20),
                             .reconnect_attempts = 0});
    frame = session.ok() ? (*session)->Capture() : session.status();
  }
  const int display = (*desktop)->display();
  (*desktop)->Stop();
  if (!frame.ok()) {
    checks.Fail(
        "desktop",
        absl::StrCat("Xvnc :", display, " started but no frame came: ", frame.status().message()),
        fix);
    return;
  }
  checks.Pass("desktop", absl::StrCat("Xvnc :", display, " with dbus and openbox started; a ",
                                      frame->width, "x", frame->height, " frame captured"));
}

}  // namespace

DoctorChecklist DoctorLocalVm(const Config& config, const VmConfig& vm) {
  DoctorChecklist checks(vm.name, "local desktop");
  Programs(checks);
  Sshd(checks);
  PythonAtspi(checks);
  App(config, vm, checks);
  Desktop(vm, checks);
  return checks;
}

}  // namespace mosdat

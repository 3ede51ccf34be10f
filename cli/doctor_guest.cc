#include "cli/doctor_guest.h"

#include <pwd.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "vnc-agent/guest/guest_session.h"
#include "vnc-agent/guest/ssh_session.h"

namespace mosdat {
namespace {

// SshSession logs in as this user when [[vm]] user is empty.
std::string LocalUserName() {
  struct passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "";
}

// What to do about a failed SSH login, by what failed.
std::string SshFix(const VmConfig& vm, const std::string& address, const absl::Status& status) {
  const std::string message(status.message());
  const std::string user = vm.user.empty() ? "USER" : vm.user;
  if (absl::StrContains(message, "does not match the pinned")) {
    return absl::StrCat(
        "if the VM was reinstalled, read its key on the console (ssh-keygen -lf "
        "/etc/ssh/ssh_host_ed25519_key.pub) and set host_key_fingerprint in [[vm]] "
        "\"",
        vm.name, "\" to it");
  }
  if (absl::StrContains(message, "HOST KEY CHANGED") ||
      absl::StrContains(message, "unknown host key")) {
    return absl::StrCat(
        "check the key on the VM's console (ssh-keygen -lf "
        "/etc/ssh/ssh_host_ed25519_key.pub), then pin it: host_key_fingerprint = "
        "\"SHA256:...\" in [[vm]] \"",
        vm.name,
        "\" (or add it to known_hosts: "
        "ssh-keyscan -p ",
        vm.ssh_port, " ", address, " >> ~/.ssh/known_hosts)");
  }
  if (absl::StrContains(message, "rejected the key")) {
    return absl::StrCat("install the public key in the guest: ssh-copy-id -i ", vm.ssh_key,
                        ".pub -p ", vm.ssh_port, " ", user, "@", address);
  }
  if (absl::StrContains(message, "private key")) {
    return absl::StrCat("set ssh_key in [[vm]] \"", vm.name,
                        "\" to a readable, unencrypted private key (ssh-keygen -t ed25519 -N '' "
                        "-f KEY)");
  }
  if (status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::StrCat("make sure sshd runs in the guest and listens on ", address, ":",
                        vm.ssh_port,
                        " (systemctl enable --now ssh), that a firewall lets it "
                        "through, and that ip/ssh_port in [[vm]] \"",
                        vm.name, "\" are right");
  }
  return absl::StrCat("check user, ssh_key, ssh_port and host_key_fingerprint in [[vm]] \"",
                      vm.name, "\"");
}

}  // namespace

void CheckGuestOverSsh(const VmConfig& vm, const std::string& address, DoctorChecklist& checks) {
  SshOptions options{.host = address,
                     .port = vm.ssh_port,
                     .user = vm.user,
                     .private_key_path = vm.ssh_key,
                     .host_key_fingerprint = vm.host_key_fingerprint,
                     .connect_timeout = absl::Seconds(10)};
  const std::string target =
      absl::StrCat(vm.user.empty() ? LocalUserName() : vm.user, "@", address, ":", vm.ssh_port);
  absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
  absl::StatusOr<SshExecResult> ran =
      session.ok() ? (*session)->Exec("true", absl::Seconds(20)) : session.status();
  if (ran.ok() && ran->exit_code != 0) {
    ran = absl::UnavailableError(absl::StrCat("ssh ", target, ": `true` exited with ",
                                              ran->exit_code, ": ", ran->err.substr(0, 300)));
  }
  if (!ran.ok()) {
    checks.Fail("ssh", std::string(ran.status().message()), SshFix(vm, address, ran.status()));
    checks.Skip("guest-python", "SSH does not work (ssh)");
    return;
  }
  checks.Pass("ssh", absl::StrCat(target, " with key ", vm.ssh_key, ", host key ",
                                  vm.host_key_fingerprint.empty()
                                      ? std::string("in known_hosts")
                                      : absl::StrCat("pinned ", vm.host_key_fingerprint),
                                  "; `true` ran"));

  const std::string python = GuestOptions{}.python;
  absl::StatusOr<SshExecResult> probe = (*session)->Exec(
      absl::StrCat(ShellQuote(python), " -c ", ShellQuote(kAtspiImportCheck)), absl::Seconds(30));
  if (!probe.ok()) {
    checks.Fail("guest-python", std::string(probe.status().message()),
                "run `mosdat doctor` again; if it repeats, check the guest's load and sshd");
  } else if (probe->exit_code != 0) {
    std::string err = probe->err;
    if (err.size() > 400) err = "..." + err.substr(err.size() - 400);
    checks.Fail(
        "guest-python",
        absl::StrCat(python, " cannot load AT-SPI through gi (exit ", probe->exit_code, "): ", err),
        "install them in the guest: apt install python3-gi gir1.2-atspi-2.0 (Debian, "
        "Ubuntu) or dnf install python3-gobject at-spi2-core (Fedora)");
  } else {
    checks.Pass("guest-python", absl::StrCat(python, " imports gi and Atspi 2.0"));
  }
}

}  // namespace mosdat

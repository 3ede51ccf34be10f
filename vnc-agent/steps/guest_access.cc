#include "vnc-agent/steps/guest_access.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/net.h"

namespace mosdat {

GuestAccess::GuestAccess(const VmTarget& vm, const LocalDesktop* desktop,
                         std::function<void(const std::string&)> log)
    : vm_(vm), desktop_(desktop), log_(std::move(log)) {}

GuestAccess::~GuestAccess() {
  session_.reset();  // before its sshd goes
  sshd_.reset();
}

absl::StatusOr<GuestSession*> GuestAccess::Get() {
  if (session_) return session_.get();
  if (!failure_.ok()) return failure_;
  absl::StatusOr<std::unique_ptr<GuestSession>> session = Connect();
  if (!session.ok()) {
    failure_ =
        absl::Status(session.status().code(),
                     absl::StrCat("SSH to VM \"", vm_.name, "\": ", session.status().message()));
    return failure_;
  }
  session_ = std::move(*session);
  return session_.get();
}

absl::StatusOr<std::unique_ptr<GuestSession>> GuestAccess::Connect() {
  GuestOptions options;
  options.x11 = vm_.x11;
  options.app_env = vm_.app_env;
  options.log = log_;
  if (desktop_ != nullptr) {
    std::string dir = desktop_->root_dir() + "/sshd";
    std::error_code ignored;
    std::filesystem::create_directories(dir, ignored);
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
        LocalSshd::Start({.dir = dir, .session_env = desktop_->session_env()});
    if (!sshd.ok()) return sshd.status();
    sshd_ = std::move(*sshd);
    options.ssh = sshd_->ClientOptions();
    if (log_) {
      log_(absl::StrCat("local sshd on 127.0.0.1:", sshd_->port(), " (host key ",
                        sshd_->host_key().fingerprint, ")"));
    }
  } else {
    if (vm_.ssh_address.empty()) {
      return absl::FailedPreconditionError(
          "the VM has no SSH address: set `ip` (and `user`, `ssh_key`) in its [[vm]] table");
    }
    absl::StatusOr<std::pair<std::string, int>> address = ParseHostPort(vm_.ssh_address);
    if (!address.ok()) return address.status();
    options.ssh.host = address->first;
    options.ssh.port = address->second;
    options.ssh.user = vm_.ssh_user;
    options.ssh.private_key_path = vm_.ssh_key_path;
    options.ssh.host_key_fingerprint = vm_.host_key_fingerprint;
  }
  return GuestSession::Connect(std::move(options));
}

}  // namespace mosdat

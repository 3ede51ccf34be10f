#include "tests/integration/tls_websockify.h"

#include <openssl/pem.h>
#include <signal.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/net.h"
#include "proxmox-bridge/tls_trust.h"

namespace mosdat::testing {

absl::StatusOr<std::unique_ptr<TlsWebsockify>> TlsWebsockify::Start(const std::string& dir,
                                                                    int target_port) {
  std::unique_ptr<TlsWebsockify> ws(new TlsWebsockify());
  ws->dir_ = dir;
  ws->target_port_ = target_port;
  absl::StatusOr<CommandResult> made =
      RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/key.pem", "-out",
                  dir + "/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1"},
                 CurrentEnvironment(), absl::Seconds(30));
  if (!made.ok()) return made.status();
  if (made->status.exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl req failed: ", made->err));
  }
  FILE* pem = std::fopen((dir + "/cert.pem").c_str(), "r");
  if (pem == nullptr) return absl::InternalError("no cert.pem");
  X509* cert = PEM_read_X509(pem, nullptr, nullptr, nullptr);
  std::fclose(pem);
  if (cert == nullptr) return absl::InternalError("cert.pem does not parse");
  ws->fingerprint_ = CertificateFingerprint(cert);
  X509_free(cert);

  absl::StatusOr<int> port = PickFreeLoopbackPort();
  if (!port.ok()) return port.status();
  ws->port_ = *port;
  if (absl::Status launched = ws->Launch(); !launched.ok()) return launched;
  return ws;
}

TlsWebsockify::~TlsWebsockify() { Kill(); }

absl::Status TlsWebsockify::Launch() {
  absl::StatusOr<Process> process = Process::Spawn({
      .argv = {"websockify", "--ssl-only", "--cert=" + dir_ + "/cert.pem",
               "--key=" + dir_ + "/key.pem", absl::StrCat("127.0.0.1:", port_),
               absl::StrCat("127.0.0.1:", target_port_)},
      .env = CurrentEnvironment(),
      .stdout_path = dir_ + "/websockify.log",
      .stderr_path = dir_ + "/websockify.err",
  });
  if (!process.ok()) return process.status();
  process_.emplace(std::move(*process));
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (!CanConnectLoopback(port_)) {
    if (process_->Poll()) {
      return absl::UnavailableError(
          absl::StrCat("websockify exited at start; see ", dir_, "/websockify.err"));
    }
    if (absl::Now() > deadline) return absl::DeadlineExceededError("websockify never listened");
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  return absl::OkStatus();
}

void TlsWebsockify::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait(absl::Seconds(5));
  process_.reset();
}

absl::Status TlsWebsockify::Restart() {
  Kill();
  return Launch();
}

ConsoleUpstream TlsWebsockify::Upstream(const std::string& vnc_password) const {
  return {.host = "127.0.0.1",
          .port = port_,
          .target = absl::StrCat("/api2/json/nodes/local/qemu/100/vncwebsocket?port=", target_port_,
                                 "&vncticket=PVEVNC%3Anot-checked"),
          .headers = {{"Authorization", "PVEAPIToken=root@pam!mosdat=not-checked"}},
          .trust = {.fingerprint = fingerprint_},
          .vnc_password = vnc_password};
}

}  // namespace mosdat::testing

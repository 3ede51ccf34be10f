// TlsWebsockify: Debian's websockify with TLS on a loopback port in front of a VNC
// server — the stand-in for Proxmox VE's vncwebsocket in console tunnel tests and
// benchmarks (it speaks the same thing: RFB in binary WebSocket frames, subprotocol
// "binary"; it checks no ticket). Its self-signed certificate is made with openssl in
// `dir` and pinned by fingerprint. Readiness is polled with a deadline.
#ifndef MOSDAT_TESTS_INTEGRATION_TLS_WEBSOCKIFY_H_
#define MOSDAT_TESTS_INTEGRATION_TLS_WEBSOCKIFY_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/process.h"
#include "proxmox-bridge/console_tunnel.h"

namespace mosdat::testing {

class TlsWebsockify {
 public:
  // `dir` must exist; `target_port` is the VNC server's loopback port.
  static absl::StatusOr<std::unique_ptr<TlsWebsockify>> Start(const std::string& dir,
                                                              int target_port);
  ~TlsWebsockify();

  int port() const { return port_; }
  // The pinned SHA-256 fingerprint of its certificate, "AA:BB:...".
  const std::string& fingerprint() const { return fingerprint_; }
  // An upstream session for ConsoleTunnel: this websockify, pinned, with a
  // vncwebsocket-like target.
  ConsoleUpstream Upstream(const std::string& vnc_password) const;

  void Kill();             // SIGKILL to websockify and its per-connection children
  absl::Status Restart();  // again on the same port with the same certificate
  bool running() { return process_ && !process_->Poll(); }

 private:
  TlsWebsockify() = default;
  absl::Status Launch();

  std::string dir_;
  int target_port_ = 0;
  int port_ = 0;
  std::string fingerprint_;
  std::optional<Process> process_;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_TLS_WEBSOCKIFY_H_

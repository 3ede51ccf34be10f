// ConsoleTunnel: a Proxmox VE VM console (vncproxy + vncwebsocket: RFB inside binary
// WebSocket frames over TLS) exposed as a plain RFB server on a loopback TCP port, so
// the agent's libvncclient connects to it like to any VNC server.
//
// A vncproxy ticket is short-lived and single-use and its VNC password changes with
// every call, so the tunnel opens a FRESH upstream session (through `open_upstream`,
// which the caller implements with a vncproxy call) for every local connection,
// including reconnects after the upstream dropped. To keep one password valid for the
// whole job, the tunnel terminates the RFB security handshake on both sides: towards
// the local client it is an RFB 3.8 server (3.3 and 3.7 clients are served too)
// offering only VncAuth with the tunnel's own stable password; towards upstream it is
// an RFB client (3.3/3.7/3.8; security None or VncAuth with the vncproxy password).
// Once both sides accepted, bytes are spliced both ways from ClientInit on, written as
// they arrive (TCP_NODELAY on both sockets, no buffering).
//
// The order per local connection: the local client's VncAuth response is checked first
// (a wrong tunnel password never spends a ticket), then `open_upstream` is called and
// the upstream session established, and only then does the local client get its
// SecurityResult: OK, or failed with the reason (e.g. the upstream refused the vncproxy
// password), which last_error() also records.
//
// TLS is verified always (TlsTrust: a pinned SHA-256 certificate fingerprint or CAs).
// Threads: one accepts; each local connection has its own I/O thread. Everything read
// from either peer is bounded (version lines, security type lists, reason strings).
#ifndef MOSDAT_PROXMOX_BRIDGE_CONSOLE_TUNNEL_H_
#define MOSDAT_PROXMOX_BRIDGE_CONSOLE_TUNNEL_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proxmox-bridge/tls_trust.h"

namespace mosdat {

// One upstream console session, as a vncproxy call yields it.
struct ConsoleUpstream {
  std::string host;  // the PVE node's address (name or IP)
  int port = 8006;
  // Path and query of the WebSocket, e.g. "/api2/json/nodes/pve/qemu/100/vncwebsocket?
  // port=5900&vncticket=<URL-encoded ticket>". Secret: never put into error messages.
  std::string target;
  // Extra request headers: the API's auth, e.g. {"Authorization", "PVEAPIToken=..."} or
  // {"Cookie", "PVEAuthCookie=..."}. The subprotocol "binary" is always requested.
  std::vector<std::pair<std::string, std::string>> headers;
  TlsTrust trust;
  // VncAuth password: vncproxy's `password` (PVE >= 9.1.7) or its ticket (before; the
  // first 8 bytes count). Empty: the server must offer security type None.
  std::string vnc_password;
};

struct ConsoleTunnelOptions {
  // Called (from a connection's I/O thread) for every upstream session: must return a
  // fresh one each time. It should be bounded in time: Close() waits for a call under
  // way to return.
  std::function<absl::StatusOr<ConsoleUpstream>()> open_upstream;
  // The local VncAuth password (8 characters count); empty = 8 random characters.
  std::string password;
  int local_port = 0;  // 0 = a free one
  // Open() establishes one upstream session (TCP, TLS, WebSocket, RFB security) and
  // closes it, so a bad pin, auth or password fails there rather than at first use.
  bool verify_upstream = true;
  // Bound on one connection's setup: local handshake, open_upstream, TCP + TLS +
  // WebSocket + RFB security upstream.
  absl::Duration handshake_timeout = absl::Seconds(15);
  // Local connections served at once; more are closed at accept (and recorded).
  int max_connections = 8;
};

class ConsoleTunnel {
 public:
  // Listens on 127.0.0.1 and (with verify_upstream) checks one upstream session.
  // InvalidArgument without open_upstream; FailedPrecondition for a pin mismatch (the
  // message names both fingerprints); PermissionDenied when the WebSocket upgrade or the
  // upstream VNC password is refused; Unavailable when upstream cannot be reached;
  // DataLoss when upstream does not speak RFB; DeadlineExceeded after the handshake
  // timeout; open_upstream's own error as it returned it.
  static absl::StatusOr<std::unique_ptr<ConsoleTunnel>> Open(ConsoleTunnelOptions options);
  ~ConsoleTunnel();  // Close()

  ConsoleTunnel(const ConsoleTunnel&) = delete;
  ConsoleTunnel& operator=(const ConsoleTunnel&) = delete;

  int local_port() const;
  std::string local_address() const;  // "127.0.0.1:<port>"
  // The VNC password local clients must use; stable for the tunnel's life.
  const std::string& password() const;
  // The latest failure of a local connection (local auth, upstream setup, or upstream
  // dropping a spliced session); OK if none yet.
  absl::Status last_error() const;
  // Local connections that reached the splice (both security handshakes succeeded).
  int connections_opened() const;
  // Local connections being served now.
  int active_connections() const;

  // Stops accepting, frees the port, ends every connection and joins the threads.
  // Returns promptly (only an open_upstream call under way is waited for). Idempotent.
  void Close();

  class Impl;

 private:
  explicit ConsoleTunnel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_CONSOLE_TUNNEL_H_

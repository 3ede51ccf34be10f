// One HTTPS exchange with a Proxmox VE node's API (pveproxy), via libcurl, with the
// node's TlsTrust. Knows nothing of PVE's auth or JSON: PveClient builds on it. The
// body is bounded (PVE answers are small; a peer that streams more is cut off).
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_HTTP_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_HTTP_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "proxmox-bridge/tls_trust.h"

namespace mosdat {

using PveParams = std::vector<std::pair<std::string, std::string>>;

struct PveHttpRequest {
  std::string method = "GET";  // GET | POST | PUT | DELETE
  std::string host;
  int port = 8006;
  std::string path;                  // after /api2/json, e.g. "/nodes/pve/qemu/100/status/current"
  PveParams params;                  // GET/DELETE: query string; POST/PUT: form body (urlencoded)
  std::vector<std::string> headers;  // "Name: value"
  TlsTrust trust;
  absl::Duration timeout = absl::Seconds(30);
};

struct PveHttpResponse {
  enum class Transport { kOk, kConnectFailed, kTimedOut, kTlsRejected, kBroken };
  Transport transport = Transport::kOk;
  std::string error;   // libcurl's explanation when transport != kOk
  long status = 0;     // HTTP status
  std::string reason;  // the status line's reason phrase: where PVE puts its message
  std::string body;
  std::string fingerprint_seen;  // the certificate the server showed (pinned or CA)
  absl::Duration elapsed;
};

inline constexpr size_t kPveMaxBodyBytes = 16 << 20;

PveHttpResponse PerformPveHttp(const PveHttpRequest& request);

// Percent-encodes `params` as application/x-www-form-urlencoded ("a=1&b=x%20y").
std::string EncodePveParams(const PveParams& params);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_HTTP_H_

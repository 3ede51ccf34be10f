// Small loopback networking helpers for starting local servers.
#ifndef MOSDAT_CORE_NET_H_
#define MOSDAT_CORE_NET_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace mosdat {

// A TCP port on 127.0.0.1 that was free a moment ago. A server started on it may still
// lose a race for it; callers retry with a new port.
absl::StatusOr<int> PickFreeLoopbackPort();

// "host:port" → (host, port); "[v6]:port" → (v6, port), without the brackets.
// InvalidArgument naming the text when the host is empty or the port is not 1..65535.
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(const std::string& address);

// The inverse: "host:port", with an IPv6 address in brackets ("[2001:db8::5]:22").
std::string JoinHostPort(const std::string& host, int port);

// True for a host that names this machine's loopback interface: an IPv4 address in
// 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or "localhost". Anything else — a name,
// another address, the wildcards 0.0.0.0 and :: — may be reached over a network.
bool IsLoopbackHost(const std::string& host);

// True when something accepts TCP connections on 127.0.0.1:port.
bool CanConnectLoopback(int port);

}  // namespace mosdat

#endif  // MOSDAT_CORE_NET_H_

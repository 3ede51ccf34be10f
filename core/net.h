// Small loopback networking helpers for starting local servers.
#ifndef MOSDAT_CORE_NET_H_
#define MOSDAT_CORE_NET_H_

#include "absl/status/statusor.h"

namespace mosdat {

// A TCP port on 127.0.0.1 that was free a moment ago. A server started on it may still
// lose a race for it; callers retry with a new port.
absl::StatusOr<int> PickFreeLoopbackPort();

// True when something accepts TCP connections on 127.0.0.1:port.
bool CanConnectLoopback(int port);

}  // namespace mosdat

#endif  // MOSDAT_CORE_NET_H_

// LineChannel: a bidirectional line protocol to a helper process — over an SSH channel
// to a VM, or over pipes to a local child. The AT-SPI client speaks JSON lines through
// it without knowing which.
#ifndef MOSDAT_VNC_AGENT_GUEST_LINE_CHANNEL_H_
#define MOSDAT_VNC_AGENT_GUEST_LINE_CHANNEL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mosdat {

class LineChannel {
 public:
  virtual ~LineChannel() = default;
  // Sends `line` plus '\n'.
  virtual absl::Status WriteLine(std::string_view line) = 0;
  // The next line without '\n'; DeadlineExceeded on timeout, Unavailable once the other
  // side has gone.
  virtual absl::StatusOr<std::string> ReadLine(absl::Duration timeout) = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_LINE_CHANNEL_H_

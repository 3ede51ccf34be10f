// Screen: what the scenario runner needs of a VM's screen — frames to look at and
// pointer and key input to send. VncSession (vnc_session.h) is the real one; tests
// drive the runner through a synthetic framebuffer instead of a desktop. No gRPC and no
// RFB types here, so anything that can show frames and take input can implement it.
#ifndef MOSDAT_VNC_AGENT_RFB_SCREEN_H_
#define MOSDAT_VNC_AGENT_RFB_SCREEN_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/frame.h"
#include "vnc-agent/rfb/text_typing.h"

namespace mosdat {

// Text is typed through KeySink::TypeKeysyms, by TypeUnicode (text_typing.h), which
// makes sure every keysym is on the keyboard map first.
class Screen : public KeySink {
 public:
  ~Screen() override = default;

  // The framebuffer size in pixels; input outside it is an error.
  virtual int width() const = 0;
  virtual int height() const = 0;

  // The framebuffer as it is now.
  virtual absl::StatusOr<Frame> Capture() = 0;
  // A frame that reflects every input sent so far: a verification never looks at a
  // screen older than the action it checks. DeadlineExceeded when none comes in time.
  virtual absl::StatusOr<Frame> CaptureAfterInput(absl::Duration timeout) = 0;
  // A frame from an update newer than `after_update_seq` (Frame::update_seq);
  // DeadlineExceeded when the screen stays still for `timeout`.
  virtual absl::StatusOr<Frame> WaitForUpdate(uint64_t after_update_seq,
                                              absl::Duration timeout) = 0;

  // Pointer input. Buttons are numbered as in RFB: 1 left, 2 middle, 3 right.
  // VncSession repeats the defaults for callers that hold it directly.
  virtual absl::Status Move(int x, int y) = 0;
  virtual absl::Status Click(int x, int y, int button = 1, int count = 1) = 0;
  virtual absl::Status Drag(int from_x, int from_y, int to_x, int to_y, int button = 1) = 0;
  // Wheel clicks: dy > 0 scrolls down, dx > 0 scrolls right.
  virtual absl::Status Scroll(int x, int y, int dx, int dy) = 0;
  // Presses `modifiers` in order, taps `key`, releases the modifiers in reverse (keysyms).
  virtual absl::Status PressKey(const std::vector<uint32_t>& modifiers, uint32_t key) = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_RFB_SCREEN_H_

// PointerRecorder: a Screen that passes everything to another one and remembers where
// each pointer input went, so a step's events can show the exact points it clicked
// (the trace viewer draws them on the frames). Keeps at most kMaxPointerInputsPerStep
// between Take()s.
#ifndef MOSDAT_VNC_AGENT_RFB_POINTER_RECORDER_H_
#define MOSDAT_VNC_AGENT_RFB_POINTER_RECORDER_H_

#include <vector>

#include "core/events.h"
#include "vnc-agent/rfb/screen.h"

namespace mosdat {

class PointerRecorder : public Screen {
 public:
  explicit PointerRecorder(Screen& screen) : screen_(screen) {}

  // The inputs since the last Take(), in order; starts over.
  std::vector<PointerInput> Take() { return std::exchange(inputs_, {}); }

  int width() const override { return screen_.width(); }
  int height() const override { return screen_.height(); }
  absl::StatusOr<Frame> Capture() override { return screen_.Capture(); }
  absl::StatusOr<Frame> CaptureAfterInput(absl::Duration timeout) override {
    return screen_.CaptureAfterInput(timeout);
  }
  absl::StatusOr<Frame> WaitForUpdate(uint64_t after_update_seq, absl::Duration timeout) override {
    return screen_.WaitForUpdate(after_update_seq, timeout);
  }
  // Recorded once sent: an input the screen refused did not go anywhere.
  absl::Status Move(int x, int y) override { return Record(screen_.Move(x, y), {"move", x, y}); }
  absl::Status Click(int x, int y, int button = 1, int count = 1) override {
    const char* kind = button == 3   ? "right_click"
                       : button == 2 ? "middle_click"
                       : count == 2  ? "double_click"
                       : count > 2   ? "multi_click"
                                     : "click";
    return Record(screen_.Click(x, y, button, count), {kind, x, y});
  }
  absl::Status Drag(int from_x, int from_y, int to_x, int to_y, int button = 1) override {
    return Record(screen_.Drag(from_x, from_y, to_x, to_y, button),
                  {"drag", from_x, from_y, to_x, to_y});
  }
  absl::Status Scroll(int x, int y, int dx, int dy) override {
    return Record(screen_.Scroll(x, y, dx, dy), {"scroll", x, y});
  }
  absl::Status PressKey(const std::vector<uint32_t>& modifiers, uint32_t key) override {
    return screen_.PressKey(modifiers, key);
  }
  absl::Status TypeKeysyms(const std::vector<uint32_t>& keysyms) override {
    return screen_.TypeKeysyms(keysyms);
  }

 private:
  absl::Status Record(absl::Status sent, PointerInput input) {
    if (sent.ok() && inputs_.size() < kMaxPointerInputsPerStep) inputs_.push_back(std::move(input));
    return sent;
  }
  Screen& screen_;
  std::vector<PointerInput> inputs_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_RFB_POINTER_RECORDER_H_

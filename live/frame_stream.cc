#include "live/frame_stream.h"

#include <memory>

#include "absl/strings/escaping.h"

namespace mosdat {

SseTick FrameTick(ScreenBackend& backend, std::string screen) {
  auto last_seq = std::make_shared<uint64_t>(0);
  auto closed = std::make_shared<bool>(false);
  return [&backend, screen = std::move(screen), last_seq,
          closed](bool) -> std::optional<std::string> {
    if (*closed) return std::nullopt;
    absl::StatusOr<ScreenCapture> frame = backend.Capture(screen, /*after_input=*/false, *last_seq);
    if (!frame.ok()) {
      *closed = true;  // said once, then the stream ends
      return SseEvent("closed", {{"error", std::string(frame.status().message())}});
    }
    if (frame->png.empty()) return std::string();
    *last_seq = frame->frame_seq;
    return SseEvent("frame", {{"frame_seq", frame->frame_seq},
                              {"width", frame->width},
                              {"height", frame->height},
                              {"png_base64", absl::Base64Escape(frame->png)}});
  };
}

}  // namespace mosdat

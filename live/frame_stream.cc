#include "live/frame_stream.h"

#include <memory>

#include "absl/strings/escaping.h"

namespace mosdat {
namespace {

// Captures that may fail in a row (about 5 s of them) before the stream gives up.
constexpr int kMaxFailedCaptures = 25;

}  // namespace

SseTick FrameTick(ScreenBackend& backend, std::string screen) {
  auto last_seq = std::make_shared<uint64_t>(0);
  auto closed = std::make_shared<bool>(false);
  auto failures = std::make_shared<int>(0);
  return [&backend, screen = std::move(screen), last_seq, closed,
          failures](bool) -> std::optional<std::string> {
    if (*closed) return std::nullopt;
    absl::StatusOr<ScreenCapture> frame = backend.Capture(screen, /*after_input=*/false, *last_seq);
    if (!frame.ok()) {
      // A session that is gone ends the stream; a screen that did not answer this once
      // (a slow agent) only after it has not answered for a while.
      const absl::StatusCode code = frame.status().code();
      const bool gone = code == absl::StatusCode::kNotFound ||
                        code == absl::StatusCode::kPermissionDenied ||
                        code == absl::StatusCode::kInvalidArgument;
      if (!gone && ++*failures < kMaxFailedCaptures) return std::string();
      *closed = true;  // said once, then the stream ends
      return SseEvent("closed", {{"error", std::string(frame.status().message())}});
    }
    *failures = 0;
    if (frame->png.empty()) return std::string();
    *last_seq = frame->frame_seq;
    return SseEvent("frame", {{"frame_seq", frame->frame_seq},
                              {"width", frame->width},
                              {"height", frame->height},
                              {"png_base64", absl::Base64Escape(frame->png)}});
  };
}

}  // namespace mosdat

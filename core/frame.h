// Frame: one copy of a VM's screen, as 8-bit RGB, with where it came from in the
// stream of framebuffer updates and input events — so a verification can prove its
// screenshot is newer than the action it checks.
#ifndef MOSDAT_CORE_FRAME_H_
#define MOSDAT_CORE_FRAME_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mosdat {

struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  bool empty() const { return width <= 0 || height <= 0; }
};

// "(x,y wxh)", the form every message prints boxes in.
std::string FormatRect(const Rect& rect);

struct Frame {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes, row-major
  uint64_t update_seq = 0;   // framebuffer updates received when this was copied
  uint64_t input_seq = 0;    // every input up to this one is reflected (0 = none asked)
  absl::Time captured;

  const uint8_t* Pixel(int x, int y) const {
    return &rgb[(static_cast<size_t>(y) * width + x) * 3];
  }
};

absl::StatusOr<std::string> EncodePng(const Frame& frame);
absl::StatusOr<Frame> DecodePng(std::string_view png);

// The part of `frame` inside `region`, clipped to the frame; the whole frame when
// `region` is empty.
Frame Crop(const Frame& frame, const Rect& region);

// Fraction (0..1) of pixels in `region` whose colour differs between `a` and `b` by
// more than `tolerance` in any channel. Frames of different sizes differ entirely.
double DifferenceRatio(const Frame& a, const Frame& b, const Rect& region, int tolerance = 8);

}  // namespace mosdat

#endif  // MOSDAT_CORE_FRAME_H_

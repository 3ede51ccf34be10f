// How a model reports a point, and the mapping from its numbers to framebuffer pixels.
//
// Grounding models answer in one of two conventions:
//   normalized_1000  x and y in thousandths of the image width/height (0..1000):
//                    Qwen2-VL, Qwen3-VL, UI-TARS (1.0), CogAgent, InternVL, GLM-4.xV...
//   pixels           pixels of the image *as the model saw it*. Qwen2.5-VL and its
//                    descendants (UI-TARS-1.5, Holo1) see an image their server resized
//                    to a multiple of 28 px within a pixel budget ("smart resize"), and
//                    servers disagree on that budget (vLLM/HF configs allow 12.8 Mpx,
//                    Ollama 1 Mpx). So for this convention the gateway resizes the
//                    screenshot itself, to a size every server leaves alone (multiples
//                    of 28 px, at most 1280 x 28 x 28 px), and maps the answer back by
//                    the ratio of the real size to the sent size.
//
// VlmConfig.coordinates picks the convention; "auto" looks the model name up in the
// table of ConventionFor() and defaults to normalized_1000.
#ifndef MOSDAT_VLM_GATEWAY_COORDINATES_H_
#define MOSDAT_VLM_GATEWAY_COORDINATES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace mosdat {

// Qwen2-VL's smart resize: both sides rounded to multiples of `factor`, then scaled
// (keeping the aspect ratio) into [min_pixels, max_pixels].
struct ResizePolicy {
  int factor = 28;
  int64_t min_pixels = 56 * 56;
  int64_t max_pixels = 28 * 28 * 1280;
};

struct CoordinateConvention {
  VlmCoordinates kind = VlmCoordinates::kNormalized1000;  // never kAuto
  ResizePolicy resize;                                    // kPixels: the size the image is sent at
  std::string decided_by;  // "config", "model table: qwen2.5-vl", "default"
};

// `configured` unless it is kAuto; then the first row of the table whose pattern occurs
// in the model name (compared lower-case, ignoring '-', '_', '.', ' ', ':' and '/'):
//   qwen2.5-vl, ui-tars-1.5, holo1            -> pixels
//   qwen2-vl, qwen3-vl, ui-tars, cogagent,
//   internvl, glm-4.1v, glm-4.5v              -> normalized_1000
//   anything else                             -> normalized_1000
CoordinateConvention ConventionFor(std::string_view model, VlmCoordinates configured);

struct ImageSize {
  int width = 0;
  int height = 0;
  friend bool operator==(const ImageSize&, const ImageSize&) = default;
};

// Qwen's smart_resize (qwen_vl_utils / HF Qwen2VLImageProcessor), with Python's
// round-half-to-even. Extreme aspect ratios still yield at least one factor per side.
ImageSize SmartResize(ImageSize real, const ResizePolicy& policy);

// The size of the image the model is sent: the real size for normalized_1000, the
// smart-resized size for pixels.
ImageSize SentImageSize(ImageSize real, const CoordinateConvention& convention);

struct PixelPoint {
  int x = 0;
  int y = 0;
};

// Maps the model's (x, y) to framebuffer pixels of an image of `real` size, rounded and
// clamped to the last pixel. A point outside the model's coordinate range (negative,
// > 1000, or beyond the sent image) is not a point on this screen: OutOfRange naming
// the convention and the range.
absl::StatusOr<PixelPoint> ToFramebuffer(double x, double y, ImageSize real,
                                         const CoordinateConvention& convention);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_COORDINATES_H_

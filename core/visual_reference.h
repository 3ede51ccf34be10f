// A visual reference ("needle"): a PNG of a screen region plus an optional sidecar
// <name>.json next to it:
//
//   {"captured_at": {"x": 20, "y": 20, "width": 160, "height": 40},
//    "exclude": [{"x": 4, "y": 4, "width": 30, "height": 12}],
//    "threshold": 0.97}
//
// `exclude` rectangles (in reference pixels) are ignored when matching — a clock, a
// cursor, a version string. `captured_at` is where the region was on screen: the
// expected place to search first. A reference whose matched pixels are all one colour
// is refused: it would match any empty area of that colour.
#ifndef MOSDAT_CORE_VISUAL_REFERENCE_H_
#define MOSDAT_CORE_VISUAL_REFERENCE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/frame.h"

namespace mosdat {

struct VisualReference {
  Frame image;
  std::vector<Rect> exclude;
  std::optional<Rect> captured_at;
  std::optional<double> threshold;
};

inline constexpr double kDefaultVisualThreshold = 0.95;

// The similarity a match needs: the step's (or command line's) own, else the
// reference's sidecar, else kDefaultVisualThreshold.
inline double VisualThreshold(std::optional<double> asked, const VisualReference& reference) {
  return asked.value_or(reference.threshold.value_or(kDefaultVisualThreshold));
}

// "refs/save.png" → "refs/save.json".
std::string ReferenceSidecarPath(const std::string& png_path);

// Decodes the PNG and parses the sidecar (empty = none). InvalidArgument naming `name`
// for a broken PNG or sidecar, an exclude area outside the image, or a blank reference.
absl::StatusOr<VisualReference> ParseReference(const std::string& name, std::string_view png,
                                               std::string_view sidecar_json);

// The sidecar's JSON text for `reference` (pretty-printed).
std::string SidecarJson(const VisualReference& reference);

// Why the reference cannot tell anything apart (every pixel that counts has the same
// colour, within a few levels), or empty when it is fine.
std::string BlankReferenceReason(const Frame& image, const std::vector<Rect>& exclude);

}  // namespace mosdat

#endif  // MOSDAT_CORE_VISUAL_REFERENCE_H_

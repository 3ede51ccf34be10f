// Finding a reference image on the screen. Colour-aware (a red button does not match a
// blue one) and searched near the expected place first, then the whole frame.
#ifndef MOSDAT_CORE_VISUAL_MATCH_H_
#define MOSDAT_CORE_VISUAL_MATCH_H_

#include <optional>
#include <vector>

#include "core/frame.h"

namespace mosdat {

struct VisualMatch {
  double score = 0;  // 1 = identical pixels, 0 = nothing alike
  Rect where;        // best location in frame coordinates
};

// Best match of `reference` in `frame`. With `expected`, searches `expected` grown by
// `margin` pixels on each side first, and the whole frame only if that scores below
// `good_enough`. Both searches are exact: the answer is the place with the smallest
// full-resolution colour difference, whenever one scores at least `good_enough`
// (below that, the score returned is below `good_enough` too; pass 0 for the exact
// best everywhere).
VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::optional<Rect>& expected, double good_enough, int margin = 32);

// The same, ignoring the `exclude` rectangles of the reference (reference pixels).
VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::vector<Rect>& exclude, const std::optional<Rect>& expected,
                          double good_enough, int margin = 32);

}  // namespace mosdat

#endif  // MOSDAT_CORE_VISUAL_MATCH_H_

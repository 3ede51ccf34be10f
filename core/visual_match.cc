#include "core/visual_match.h"

#include <algorithm>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace mosdat {
namespace {

cv::Mat AsMat(const Frame& frame) {
  return cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
}

// Squared difference over all three channels, normalised: 0 for identical pixels.
// Unlike grey-level correlation this keeps colour, and it does not reward flat areas.
// `mask` (8-bit, one channel, template-sized; empty = none) keeps pixels where it is
// non-zero.
VisualMatch MatchIn(const cv::Mat& screen, const cv::Mat& reference, const cv::Mat& mask,
                    const cv::Rect& area) {
  VisualMatch best;
  if (area.width < reference.cols || area.height < reference.rows) return best;
  cv::Mat scores;
  if (mask.empty()) {
    cv::matchTemplate(screen(area), reference, scores, cv::TM_SQDIFF);
  } else {
    cv::matchTemplate(screen(area), reference, scores, cv::TM_SQDIFF, mask);
  }
  double min_value = 0;
  cv::Point min_location;
  cv::minMaxLoc(scores, &min_value, nullptr, &min_location);
  double counted = mask.empty() ? static_cast<double>(reference.total())
                                : static_cast<double>(cv::countNonZero(mask));
  if (counted == 0) return best;
  double worst = 255.0 * 255.0 * counted * reference.channels();
  min_value = std::max(min_value, 0.0);  // the masked path can round slightly below 0
  best.score = 1.0 - std::sqrt(min_value / worst);
  best.where = {area.x + min_location.x, area.y + min_location.y, reference.cols, reference.rows};
  return best;
}

// Whole-frame search, coarse to fine: a colour TM_SQDIFF over a full 1280x800 frame
// costs ~240 ms, over both images halved twice ~1/16 of that. The best few places at
// quarter size are then matched exactly at full size in a small window around each,
// so the answer is the full-resolution match, not an approximation.
constexpr int kMaxCoarseLevels = 2;    // each level halves width and height
constexpr int kCoarseCandidates = 5;   // places refined at full size
constexpr int kMinCoarseTemplate = 8;  // a needle keeps at least this many pixels a side

VisualMatch MatchWhole(const cv::Mat& screen, const cv::Mat& reference, const cv::Mat& mask) {
  cv::Rect whole(0, 0, screen.cols, screen.rows);
  int levels = 0;
  while (levels < kMaxCoarseLevels && (reference.cols >> (levels + 1)) >= kMinCoarseTemplate &&
         (reference.rows >> (levels + 1)) >= kMinCoarseTemplate) {
    ++levels;
  }
  if (levels == 0) return MatchIn(screen, reference, mask, whole);
  const int scale = 1 << levels;
  cv::Mat small_screen = screen, small_reference = reference, small_mask = mask;
  for (int i = 0; i < levels; ++i) {
    cv::pyrDown(small_screen, small_screen);
    cv::pyrDown(small_reference, small_reference);
    if (!small_mask.empty()) {
      // A pixel counts only if every full-size pixel under it does.
      cv::resize(small_mask, small_mask, small_reference.size(), 0, 0, cv::INTER_AREA);
      cv::threshold(small_mask, small_mask, 254, 255, cv::THRESH_BINARY);
    }
  }
  cv::Mat scores;
  if (small_mask.empty() || cv::countNonZero(small_mask) == 0) {
    cv::matchTemplate(small_screen, small_reference, scores, cv::TM_SQDIFF);
  } else {
    cv::matchTemplate(small_screen, small_reference, scores, cv::TM_SQDIFF, small_mask);
  }
  VisualMatch best;
  for (int candidate = 0; candidate < kCoarseCandidates; ++candidate) {
    double min_value = 0;
    cv::Point at;
    cv::minMaxLoc(scores, &min_value, nullptr, &at);
    // Refine around the place at full size (the halvings blur a few pixels' worth).
    cv::Rect around(at.x * scale - scale * 2, at.y * scale - scale * 2, reference.cols + scale * 4,
                    reference.rows + scale * 4);
    VisualMatch refined = MatchIn(screen, reference, mask, around & whole);
    if (refined.score > best.score) best = refined;
    // Next candidate: somewhere else (blank out this neighbourhood).
    cv::Rect taken(at.x - small_reference.cols / 2, at.y - small_reference.rows / 2,
                   small_reference.cols, small_reference.rows);
    scores(taken & cv::Rect(0, 0, scores.cols, scores.rows))
        .setTo(std::numeric_limits<float>::max());
  }
  return best;
}

}  // namespace

VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::optional<Rect>& expected, double good_enough, int margin) {
  return FindReference(frame, reference, {}, expected, good_enough, margin);
}

VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::vector<Rect>& exclude, const std::optional<Rect>& expected,
                          double good_enough, int margin) {
  cv::Mat screen = AsMat(frame);
  cv::Mat templ = AsMat(reference);
  cv::Mat mask;
  if (!exclude.empty()) {
    mask = cv::Mat(templ.rows, templ.cols, CV_8UC1, cv::Scalar(255));
    for (const Rect& r : exclude) {
      cv::Rect area =
          cv::Rect(r.x, r.y, r.width, r.height) & cv::Rect(0, 0, templ.cols, templ.rows);
      if (!area.empty()) mask(area).setTo(0);
    }
  }
  cv::Rect whole(0, 0, frame.width, frame.height);
  if (expected.has_value()) {
    cv::Rect near(expected->x - margin, expected->y - margin, expected->width + 2 * margin,
                  expected->height + 2 * margin);
    VisualMatch local = MatchIn(screen, templ, mask, near & whole);
    if (local.score >= good_enough) return local;
    VisualMatch global = MatchWhole(screen, templ, mask);
    return global.score > local.score ? global : local;
  }
  return MatchWhole(screen, templ, mask);
}

}  // namespace mosdat

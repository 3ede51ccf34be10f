#include "core/visual_match.h"

#include <algorithm>
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
    VisualMatch global = MatchIn(screen, templ, mask, whole);
    return global.score > local.score ? global : local;
  }
  return MatchIn(screen, templ, mask, whole);
}

}  // namespace mosdat

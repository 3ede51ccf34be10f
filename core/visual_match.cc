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
VisualMatch MatchIn(const cv::Mat& screen, const cv::Mat& reference, const cv::Rect& area) {
  VisualMatch best;
  if (area.width < reference.cols || area.height < reference.rows) return best;
  cv::Mat scores;
  cv::matchTemplate(screen(area), reference, scores, cv::TM_SQDIFF);
  double min_value = 0;
  cv::Point min_location;
  cv::minMaxLoc(scores, &min_value, nullptr, &min_location);
  double worst = 255.0 * 255.0 * reference.total() * reference.channels();
  best.score = 1.0 - std::sqrt(min_value / worst);
  best.where = {area.x + min_location.x, area.y + min_location.y, reference.cols, reference.rows};
  return best;
}

}  // namespace

VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::optional<Rect>& expected, double good_enough, int margin) {
  cv::Mat screen = AsMat(frame);
  cv::Mat templ = AsMat(reference);
  cv::Rect whole(0, 0, frame.width, frame.height);
  if (expected.has_value()) {
    cv::Rect near(expected->x - margin, expected->y - margin, expected->width + 2 * margin,
                  expected->height + 2 * margin);
    VisualMatch local = MatchIn(screen, templ, near & whole);
    if (local.score >= good_enough) return local;
    VisualMatch global = MatchIn(screen, templ, whole);
    return global.score > local.score ? global : local;
  }
  return MatchIn(screen, templ, whole);
}

}  // namespace mosdat

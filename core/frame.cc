#include "core/frame.h"

#include <algorithm>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_format.h"

namespace mosdat {
namespace {

Rect Clip(const Frame& frame, const Rect& region) {
  if (region.empty()) return {0, 0, frame.width, frame.height};
  int x0 = std::clamp(region.x, 0, frame.width);
  int y0 = std::clamp(region.y, 0, frame.height);
  int x1 = std::clamp(region.x + region.width, 0, frame.width);
  int y1 = std::clamp(region.y + region.height, 0, frame.height);
  return {x0, y0, x1 - x0, y1 - y0};
}

}  // namespace

std::string FormatRect(const Rect& rect) {
  return absl::StrFormat("(%d,%d %dx%d)", rect.x, rect.y, rect.width, rect.height);
}

absl::StatusOr<std::string> EncodePng(const Frame& frame) {
  if (frame.width <= 0 || frame.height <= 0) return absl::InvalidArgumentError("empty frame");
  cv::Mat rgb(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> png;
  // Level 1: screenshots are written on the hot path; size matters less than time.
  if (!cv::imencode(".png", bgr, png, {cv::IMWRITE_PNG_COMPRESSION, 1})) {
    return absl::InternalError("PNG encoding failed");
  }
  return std::string(png.begin(), png.end());
}

absl::StatusOr<Frame> DecodePng(std::string_view png) {
  std::vector<uint8_t> bytes(png.begin(), png.end());
  cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  if (bgr.empty()) return absl::InvalidArgumentError("not a decodable image");
  Frame frame;
  frame.width = bgr.cols;
  frame.height = bgr.rows;
  frame.rgb.resize(static_cast<size_t>(bgr.cols) * bgr.rows * 3);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, frame.rgb.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return frame;
}

Frame Crop(const Frame& frame, const Rect& region) {
  Rect r = Clip(frame, region);
  Frame out;
  out.width = r.width;
  out.height = r.height;
  out.update_seq = frame.update_seq;
  out.input_seq = frame.input_seq;
  out.captured = frame.captured;
  out.rgb.resize(static_cast<size_t>(r.width) * r.height * 3);
  for (int y = 0; y < r.height; ++y) {
    std::copy_n(frame.Pixel(r.x, r.y + y), static_cast<size_t>(r.width) * 3,
                &out.rgb[static_cast<size_t>(y) * r.width * 3]);
  }
  return out;
}

double DifferenceRatio(const Frame& a, const Frame& b, const Rect& region, int tolerance) {
  if (a.width != b.width || a.height != b.height) return 1.0;
  Rect r = Clip(a, region);
  if (r.empty()) return 0.0;
  size_t differing = 0;
  for (int y = r.y; y < r.y + r.height; ++y) {
    for (int x = r.x; x < r.x + r.width; ++x) {
      const uint8_t* p = a.Pixel(x, y);
      const uint8_t* q = b.Pixel(x, y);
      if (std::abs(p[0] - q[0]) > tolerance || std::abs(p[1] - q[1]) > tolerance ||
          std::abs(p[2] - q[2]) > tolerance) {
        ++differing;
      }
    }
  }
  return static_cast<double>(differing) / (static_cast<double>(r.width) * r.height);
}

}  // namespace mosdat

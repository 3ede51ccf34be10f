#include "vlm-gateway/image_resize.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/frame.h"

namespace mosdat {

absl::StatusOr<std::string> ResizePng(std::string_view png, ImageSize size) {
  absl::StatusOr<Frame> frame = DecodePng(png);
  if (!frame.ok()) return frame.status();
  if (frame->width == size.width && frame->height == size.height) return std::string(png);
  cv::Mat source(frame->height, frame->width, CV_8UC3, frame->rgb.data());
  Frame resized;
  resized.width = size.width;
  resized.height = size.height;
  resized.rgb.resize(static_cast<size_t>(size.width) * size.height * 3);
  cv::Mat target(size.height, size.width, CV_8UC3, resized.rgb.data());
  // Area averaging when shrinking, bicubic when growing (tiny images only).
  int interpolation = size.width < frame->width ? cv::INTER_AREA : cv::INTER_CUBIC;
  cv::resize(source, target, cv::Size(size.width, size.height), 0, 0, interpolation);
  return EncodePng(resized);
}

}  // namespace mosdat

// Resizes a PNG screenshot to the size a pixel-convention model is sent (see
// coordinates.h), with area averaging as the models' own preprocessors do.
#ifndef MOSDAT_VLM_GATEWAY_IMAGE_RESIZE_H_
#define MOSDAT_VLM_GATEWAY_IMAGE_RESIZE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "vlm-gateway/coordinates.h"

namespace mosdat {

// The PNG itself when it already has `size`.
absl::StatusOr<std::string> ResizePng(std::string_view png, ImageSize size);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_IMAGE_RESIZE_H_

// Reads a PNG's size from its IHDR chunk without decoding the pixels, so the cache-hit
// path stays far below a millisecond for full-screen screenshots.
#ifndef MOSDAT_VLM_GATEWAY_PNG_HEADER_H_
#define MOSDAT_VLM_GATEWAY_PNG_HEADER_H_

#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

struct PngSize {
  int width = 0;
  int height = 0;
};

// InvalidArgument when `png` does not start with a PNG signature and IHDR chunk, or
// declares an empty or absurd (> 65535 px) size.
absl::StatusOr<PngSize> ReadPngSize(std::string_view png);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_PNG_HEADER_H_

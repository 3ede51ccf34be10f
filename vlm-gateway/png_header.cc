#include "vlm-gateway/png_header.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);

uint32_t BigEndian32(std::string_view bytes, size_t at) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

absl::StatusOr<PngSize> ReadPngSize(std::string_view png) {
  // Signature (8), IHDR length (4) and type (4), width (4), height (4).
  if (png.size() < 24 || png.substr(0, 8) != kSignature) {
    return absl::InvalidArgumentError(absl::StrCat("the image is not a PNG (", png.size(),
                                                   " bytes without the PNG signature); send the "
                                                   "screenshot PNG-encoded"));
  }
  if (png.substr(12, 4) != "IHDR") {
    return absl::InvalidArgumentError("the PNG has no IHDR chunk where the format requires it");
  }
  uint32_t width = BigEndian32(png, 16);
  uint32_t height = BigEndian32(png, 20);
  if (width == 0 || height == 0 || width > 65535 || height > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("the PNG declares an unusable size ", width, "x", height));
  }
  return PngSize{static_cast<int>(width), static_cast<int>(height)};
}

}  // namespace mosdat

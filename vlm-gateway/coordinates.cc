#include "vlm-gateway/coordinates.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mosdat {
namespace {

struct TableRow {
  const char* pattern;  // already squashed (see Squash)
  const char* label;
  VlmCoordinates kind;
};

// Order matters: the first match wins, so specific names precede their families.
constexpr TableRow kTable[] = {
    {"qwen25vl", "qwen2.5-vl", VlmCoordinates::kPixels},
    {"uitars15", "ui-tars-1.5", VlmCoordinates::kPixels},
    {"holo1", "holo1", VlmCoordinates::kPixels},
    {"qwen2vl", "qwen2-vl", VlmCoordinates::kNormalized1000},
    {"qwen3vl", "qwen3-vl", VlmCoordinates::kNormalized1000},
    {"uitars", "ui-tars", VlmCoordinates::kNormalized1000},
    {"cogagent", "cogagent", VlmCoordinates::kNormalized1000},
    {"internvl", "internvl", VlmCoordinates::kNormalized1000},
    {"glm41v", "glm-4.1v", VlmCoordinates::kNormalized1000},
    {"glm45v", "glm-4.5v", VlmCoordinates::kNormalized1000},
};

// Lower case without separators: "Qwen/Qwen2.5-VL-7B" and "qwen2.5vl:7b" both
// become "qwen25vl...".
std::string Squash(std::string_view model) {
  std::string out;
  for (char c : model) {
    if (c == '-' || c == '_' || c == '.' || c == ' ' || c == ':' || c == '/') continue;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Python's round(): half to even, as std::nearbyint in the default rounding mode.
int64_t RoundBy(double value, int factor) {
  return static_cast<int64_t>(std::nearbyint(value / factor)) * factor;
}
int64_t FloorBy(double value, int factor) {
  return static_cast<int64_t>(std::floor(value / factor)) * factor;
}
int64_t CeilBy(double value, int factor) {
  return static_cast<int64_t>(std::ceil(value / factor)) * factor;
}

}  // namespace

CoordinateConvention ConventionFor(std::string_view model, VlmCoordinates configured) {
  CoordinateConvention convention;
  if (configured != VlmCoordinates::kAuto) {
    convention.kind = configured;
    convention.decided_by = "config";
    return convention;
  }
  std::string squashed = Squash(model);
  for (const TableRow& row : kTable) {
    if (squashed.find(row.pattern) != std::string::npos) {
      convention.kind = row.kind;
      convention.decided_by = absl::StrCat("model table: ", row.label);
      return convention;
    }
  }
  convention.kind = VlmCoordinates::kNormalized1000;
  convention.decided_by = "default";
  return convention;
}

ImageSize SmartResize(ImageSize real, const ResizePolicy& policy) {
  const int f = policy.factor;
  const double h = real.height;
  const double w = real.width;
  int64_t h_bar = std::max<int64_t>(f, RoundBy(h, f));
  int64_t w_bar = std::max<int64_t>(f, RoundBy(w, f));
  if (h_bar * w_bar > policy.max_pixels) {
    double beta = std::sqrt(h * w / static_cast<double>(policy.max_pixels));
    h_bar = std::max<int64_t>(f, FloorBy(h / beta, f));
    w_bar = std::max<int64_t>(f, FloorBy(w / beta, f));
  } else if (h_bar * w_bar < policy.min_pixels) {
    double beta = std::sqrt(static_cast<double>(policy.min_pixels) / (h * w));
    h_bar = CeilBy(h * beta, f);
    w_bar = CeilBy(w * beta, f);
  }
  return {static_cast<int>(w_bar), static_cast<int>(h_bar)};
}

ImageSize SentImageSize(ImageSize real, const CoordinateConvention& convention) {
  if (convention.kind != VlmCoordinates::kPixels) return real;
  return SmartResize(real, convention.resize);
}

absl::StatusOr<PixelPoint> ToFramebuffer(double x, double y, ImageSize real,
                                         const CoordinateConvention& convention) {
  if (!std::isfinite(x) || !std::isfinite(y)) {
    return absl::OutOfRangeError("the point is not a pair of finite numbers");
  }
  double scale_x = 0;
  double scale_y = 0;
  double max_x = 0;
  double max_y = 0;
  if (convention.kind == VlmCoordinates::kPixels) {
    ImageSize sent = SentImageSize(real, convention);
    max_x = sent.width;
    max_y = sent.height;
    scale_x = static_cast<double>(real.width) / sent.width;
    scale_y = static_cast<double>(real.height) / sent.height;
  } else {
    max_x = max_y = 1000;
    scale_x = real.width / 1000.0;
    scale_y = real.height / 1000.0;
  }
  if (x < 0 || y < 0 || x > max_x || y > max_y) {
    return absl::OutOfRangeError(absl::StrFormat(
        "the point (%g, %g) lies outside the image: in %s coordinates (%s) x must be within "
        "0..%g and y within 0..%g",
        x, y, ToString(convention.kind), convention.decided_by, max_x, max_y));
  }
  auto place = [](double v, double scale, int size) {
    return std::clamp(static_cast<int>(std::lround(v * scale)), 0, size - 1);
  };
  return PixelPoint{place(x, scale_x, real.width), place(y, scale_y, real.height)};
}

}  // namespace mosdat

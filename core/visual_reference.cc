#include "core/visual_reference.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mosdat {
namespace {

using nlohmann::json;

// Channels varying by less than this (max - min, 0..255) count as one colour:
// compression noise and anti-aliasing of an empty area stay below it.
constexpr int kBlankSpread = 6;

bool Excluded(const std::vector<Rect>& exclude, int x, int y) {
  return std::any_of(exclude.begin(), exclude.end(), [&](const Rect& r) {
    return x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
  });
}

absl::StatusOr<Rect> RectFrom(const json& j, const std::string& where) {
  if (!j.is_object())
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected an object"));
  Rect r;
  for (auto [key, dest] : {std::pair{"x", &r.x}, std::pair{"y", &r.y}, std::pair{"width", &r.width},
                           std::pair{"height", &r.height}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": expected an integer"));
    }
    *dest = it->get<int>();
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "x" && key != "y" && key != "width" && key != "height") {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key \"", key, "\""));
    }
  }
  if (r.width <= 0 || r.height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": width and height must be > 0"));
  }
  return r;
}

json RectJson(const Rect& r) {
  return {{"x", r.x}, {"y", r.y}, {"width", r.width}, {"height", r.height}};
}

}  // namespace

std::string ReferenceSidecarPath(const std::string& png_path) {
  std::string base = png_path;
  if (base.size() > 4 && base.substr(base.size() - 4) == ".png") base.resize(base.size() - 4);
  return base + ".json";
}

std::string BlankReferenceReason(const Frame& image, const std::vector<Rect>& exclude) {
  int low[3] = {255, 255, 255}, high[3] = {0, 0, 0};
  size_t counted = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (!exclude.empty() && Excluded(exclude, x, y)) continue;
      const uint8_t* p = image.Pixel(x, y);
      for (int c = 0; c < 3; ++c) {
        low[c] = std::min<int>(low[c], p[c]);
        high[c] = std::max<int>(high[c], p[c]);
      }
      ++counted;
    }
  }
  if (counted == 0) return "every pixel is excluded";
  for (int c = 0; c < 3; ++c) {
    if (high[c] - low[c] >= kBlankSpread) return "";
  }
  return absl::StrFormat(
      "it is one flat colour (#%02x%02x%02x) and would match any empty area of that colour; "
      "capture a region with some content",
      low[0], low[1], low[2]);
}

absl::StatusOr<VisualReference> ParseReference(const std::string& name, std::string_view png,
                                               std::string_view sidecar_json) {
  VisualReference reference;
  absl::StatusOr<Frame> image = DecodePng(png);
  if (!image.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("reference ", name, ": ", image.status().message()));
  }
  reference.image = std::move(*image);
  if (!sidecar_json.empty()) {
    const std::string where = ReferenceSidecarPath(name);
    json j = json::parse(sidecar_json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not a JSON object"));
    }
    for (const auto& [key, value] : j.items()) {
      if (key == "captured_at") {
        absl::StatusOr<Rect> r = RectFrom(value, absl::StrCat(where, ": captured_at"));
        if (!r.ok()) return r.status();
        reference.captured_at = *r;
      } else if (key == "exclude") {
        if (!value.is_array()) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": exclude: expected a list"));
        }
        for (size_t i = 0; i < value.size(); ++i) {
          absl::StatusOr<Rect> r = RectFrom(value[i], absl::StrCat(where, ": exclude[", i, "]"));
          if (!r.ok()) return r.status();
          if (r->x < 0 || r->y < 0 || r->x + r->width > reference.image.width ||
              r->y + r->height > reference.image.height) {
            return absl::InvalidArgumentError(absl::StrFormat(
                "%s: exclude[%d] (%d,%d %dx%d) is not inside the %dx%d image", where, i, r->x, r->y,
                r->width, r->height, reference.image.width, reference.image.height));
          }
          reference.exclude.push_back(*r);
        }
      } else if (key == "threshold") {
        if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": threshold: expected a number in (0, 1]"));
        }
        reference.threshold = value.get<double>();
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": unknown key \"", key, "\" (known: captured_at, exclude, threshold)"));
      }
    }
  }
  if (std::string blank = BlankReferenceReason(reference.image, reference.exclude);
      !blank.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("reference ", name, " is blank: ", blank));
  }
  return reference;
}

std::string SidecarJson(const VisualReference& reference) {
  json j = json::object();
  if (reference.captured_at) j["captured_at"] = RectJson(*reference.captured_at);
  if (!reference.exclude.empty()) {
    j["exclude"] = json::array();
    for (const Rect& r : reference.exclude) j["exclude"].push_back(RectJson(r));
  }
  if (reference.threshold) j["threshold"] = *reference.threshold;
  return j.dump(2) + "\n";
}

}  // namespace mosdat

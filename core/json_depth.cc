#include "core/json_depth.h"

#include <utility>
#include <vector>

namespace mosdat {

bool JsonDepthWithin(const nlohmann::json& value, int max_depth) {
  std::vector<std::pair<const nlohmann::json*, int>> pending = {{&value, 0}};
  while (!pending.empty()) {
    auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    if (depth + 1 > max_depth) return false;
    for (const nlohmann::json& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return true;
}

nlohmann::json ParsePeerJson(std::string_view text, int max_depth) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded() && !JsonDepthWithin(value, max_depth)) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return value;
}

}  // namespace mosdat

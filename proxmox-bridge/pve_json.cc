#include "proxmox-bridge/pve_json.h"

#include "absl/strings/numbers.h"

namespace mosdat {

std::string PveString(const nlohmann::json& object, const char* key, size_t limit) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end()) return "";
  if (it->is_string()) return it->get<std::string>().substr(0, limit);
  if (it->is_number()) return it->dump();
  return "";
}

int64_t PveInt(const nlohmann::json& object, const char* key, int64_t fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  if (it->is_boolean()) return it->get<bool>() ? 1 : 0;
  int64_t value = 0;
  if (it->is_string() && absl::SimpleAtoi(it->get<std::string>(), &value)) return value;
  return fallback;
}

bool PveTrue(const nlohmann::json& object, const char* key) { return PveInt(object, key) != 0; }

}  // namespace mosdat

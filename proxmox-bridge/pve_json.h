// Reading fields of Proxmox VE's JSON answers, which are untrusted input: a field of
// the wrong type reads as absent, never throws, and strings are bounded.
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_JSON_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_JSON_H_

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace mosdat {

// A string field (numbers as their text); "" when absent. At most `limit` bytes.
std::string PveString(const nlohmann::json& object, const char* key, size_t limit = 4096);
// An integer field (PVE sends some as strings); `fallback` when absent or not a number.
int64_t PveInt(const nlohmann::json& object, const char* key, int64_t fallback = 0);
// PVE's booleans come as 1/0, "1"/"0" or true/false.
bool PveTrue(const nlohmann::json& object, const char* key);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_JSON_H_

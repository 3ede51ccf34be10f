// X keysyms for what scenarios type and press: key names ("enter", "f5", "super"),
// modifiers, and any Unicode text. RFB key events carry keysyms, and the server maps
// them to its keyboard, so non-ASCII text works wherever the server supports it.
#ifndef MOSDAT_VNC_AGENT_RFB_KEYSYMS_H_
#define MOSDAT_VNC_AGENT_RFB_KEYSYMS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace mosdat {

// The keysym of a named key or modifier ("enter", "pageup", "f12", "ctrl", "super") or
// of a single character ("a", "é", "/"). Names are case-insensitive; single characters
// are taken as they are.
absl::StatusOr<uint32_t> KeysymForKey(std::string_view name);

// The keysym that types `codepoint`: Latin-1 maps directly, other characters use the
// 0x01000000 + codepoint Unicode keysyms; '\n' is Return and '\t' is Tab.
uint32_t KeysymForCodepoint(char32_t codepoint);

// Decodes UTF-8 into keysyms, one per character. Invalid UTF-8 is an error naming the
// byte offset.
absl::StatusOr<std::vector<uint32_t>> KeysymsForText(std::string_view utf8);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_RFB_KEYSYMS_H_

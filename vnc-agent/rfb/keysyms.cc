#include "vnc-agent/rfb/keysyms.h"

#include <rfb/keysym.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

constexpr std::pair<std::string_view, uint32_t> kNamedKeys[] = {
    {"enter", XK_Return},
    {"return", XK_Return},
    {"escape", XK_Escape},
    {"esc", XK_Escape},
    {"tab", XK_Tab},
    {"space", XK_space},
    {"backspace", XK_BackSpace},
    {"delete", XK_Delete},
    {"del", XK_Delete},
    {"insert", XK_Insert},
    {"home", XK_Home},
    {"end", XK_End},
    {"pageup", XK_Page_Up},
    {"pagedown", XK_Page_Down},
    {"up", XK_Up},
    {"down", XK_Down},
    {"left", XK_Left},
    {"right", XK_Right},
    {"menu", XK_Menu},
    {"ctrl", XK_Control_L},
    {"control", XK_Control_L},
    {"shift", XK_Shift_L},
    {"alt", XK_Alt_L},
    {"super", XK_Super_L},
    {"meta", XK_Meta_L},
};

// Decodes one UTF-8 sequence at text[*i]; returns false on malformed input.
bool DecodeUtf8(std::string_view text, size_t* i, char32_t* out) {
  unsigned char c = static_cast<unsigned char>(text[*i]);
  int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (length == 0 || *i + length > text.size()) return false;
  char32_t value = length == 1 ? c : c & (0x7f >> length);
  for (int k = 1; k < length; ++k) {
    unsigned char next = static_cast<unsigned char>(text[*i + k]);
    if ((next & 0xc0) != 0x80) return false;
    value = (value << 6) | (next & 0x3f);
  }
  static constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMinimum[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return false;  // overlong, out of range or a surrogate
  }
  *i += length;
  *out = value;
  return true;
}

}  // namespace

uint32_t KeysymForCodepoint(char32_t codepoint) {
  if (codepoint == '\n' || codepoint == '\r') return XK_Return;
  if (codepoint == '\t') return XK_Tab;
  if (codepoint == '\b') return XK_BackSpace;
  if ((codepoint >= 0x20 && codepoint <= 0x7e) || (codepoint >= 0xa0 && codepoint <= 0xff)) {
    return codepoint;
  }
  return 0x01000000u | static_cast<uint32_t>(codepoint);
}

absl::StatusOr<std::vector<uint32_t>> KeysymsForText(std::string_view utf8) {
  std::vector<uint32_t> keysyms;
  for (size_t i = 0; i < utf8.size();) {
    char32_t codepoint = 0;
    if (!DecodeUtf8(utf8, &i, &codepoint)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    }
    keysyms.push_back(KeysymForCodepoint(codepoint));
  }
  return keysyms;
}

absl::StatusOr<uint32_t> KeysymForKey(std::string_view name) {
  std::string lower = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  for (const auto& [key, keysym] : kNamedKeys) {
    if (key == lower) return keysym;
  }
  int number = 0;
  if (lower.size() >= 2 && lower[0] == 'f' &&
      absl::SimpleAtoi(absl::string_view(lower).substr(1), &number) && number >= 1 &&
      number <= 24) {
    return XK_F1 + (number - 1);
  }
  absl::StatusOr<std::vector<uint32_t>> single = KeysymsForText(name);
  if (single.ok() && single->size() == 1) return single->front();
  return absl::InvalidArgumentError(absl::StrCat("unknown key \"", std::string(name), "\""));
}

}  // namespace mosdat

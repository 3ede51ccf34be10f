#include "vnc-agent/rfb/key_input.h"

#include <cctype>

#include "vnc-agent/rfb/keysyms.h"

namespace mosdat {

absl::Status PressCombo(Screen& screen, const KeyCombo& combo) {
  std::vector<uint32_t> modifiers;
  bool shift = false;
  for (const std::string& name : combo.modifiers) {
    absl::StatusOr<uint32_t> keysym = KeysymForKey(name);
    if (!keysym.ok()) return keysym.status();
    modifiers.push_back(*keysym);
    shift |= name == "shift";
  }
  std::string key = combo.key;
  if (shift && key.size() == 1 && std::islower(static_cast<unsigned char>(key[0]))) {
    key[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(key[0])));
  }
  absl::StatusOr<uint32_t> keysym = KeysymForKey(key);
  if (!keysym.ok()) return keysym.status();
  return screen.PressKey(modifiers, *keysym);
}

}  // namespace mosdat

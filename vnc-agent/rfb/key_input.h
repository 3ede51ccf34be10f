// Pressing a scenario KeyCombo ("ctrl+shift+t") on a screen (a VNC session).
#ifndef MOSDAT_VNC_AGENT_RFB_KEY_INPUT_H_
#define MOSDAT_VNC_AGENT_RFB_KEY_INPUT_H_

#include "core/scenario.h"
#include "vnc-agent/rfb/screen.h"

namespace mosdat {

// With shift held, a letter is sent as its upper-case keysym: RFB servers synthesise
// modifiers from the keysym, and a lower-case keysym would make them release shift.
absl::Status PressCombo(Screen& screen, const KeyCombo& combo);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_RFB_KEY_INPUT_H_

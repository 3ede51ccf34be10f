// Typing Unicode text over VNC without losing a character.
//
// RFB key events carry keysyms; the VNC server looks each one up on the X keyboard map.
// A keysym no key produces (Greek, CJK, symbols, é on a US map) makes the server borrow
// a keycode for it: TigerVNC 1.12 has ~19 free keycodes per X server and then drops
// keys silently; later versions reuse borrowed keycodes while the app may not yet have
// translated the keys that used them, so characters come out swapped. QEMU's VNC drops
// such keysyms outright. None of this is visible to the VNC client.
//
// So the agent never lets the server borrow: printable ASCII, Return and Tab are sent
// as they are (on every map, full speed); any other character is first placed on a
// scratch keycode by the guest helper (GuestKeyboard), in chunks no larger than the
// helper's pool of scratch keycodes, and a scratch keycode is only reassigned within a
// step after the text already typed was read back from the focused object through
// AT-SPI. Without a guest, or when a long text cannot be confirmed, the step fails
// before typing, saying why.
#ifndef MOSDAT_VNC_AGENT_RFB_TEXT_TYPING_H_
#define MOSDAT_VNC_AGENT_RFB_TEXT_TYPING_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mosdat {

// The guest side of typing (the AT-SPI helper over SSH; see guest/mosdat_atspi_helper.py
// ops "keymap" and "focused_text").
class GuestKeyboard {
 public:
  struct KeymapState {
    int pool = 0;                // scratch keycodes the helper may assign
    std::set<uint32_t> missing;  // no key produces these
    std::set<uint32_t> scratch;  // on a scratch keycode now (may be reassigned)
  };
  struct FocusedText {
    std::string role, name, app;
    int caret = 0;
    std::string before;  // up to the requested number of characters before the caret
  };

  virtual ~GuestKeyboard() = default;
  // With `place`, every keysym no key produces is put on a scratch keycode first
  // (never reassigning one of `keysyms`); more than `pool` of them is an error.
  virtual absl::StatusOr<KeymapState> Keymap(const std::vector<uint32_t>& keysyms, bool place,
                                             absl::Duration timeout) = 0;
  // The focused object with a Text interface, or nullopt when nothing focused has one.
  virtual absl::StatusOr<std::optional<FocusedText>> Focused(int max_chars,
                                                             absl::Duration timeout) = 0;
};

// Where key events go (the VNC session implements it).
class KeySink {
 public:
  virtual ~KeySink() = default;
  // Presses and releases each keysym in order.
  virtual absl::Status TypeKeysyms(const std::vector<uint32_t>& keysyms) = 0;
};

struct TypingReport {
  int characters = 0;
  int placed = 0;          // distinct characters that needed a scratch keycode
  int chunks = 0;          // 1 when everything fit the scratch pool at once
  bool confirmed = false;  // read back from the focused object
  std::string focused;     // the object read back, e.g. `text "" in gedit`
  // Why a text typed in one part was not read back (nothing focused has text, or the
  // widget shows something else): worth a warning, not a failure.
  std::string note;
};

// Whether every keyboard map has this keysym (printable ASCII, Return, Tab).
bool OnEveryKeymap(uint32_t keysym);

// Types `utf8` (see the file comment). `guest` may be null: then only text that is on
// every keyboard map can be typed, anything else is a config error (InvalidArgument)
// naming the character. Lost or changed characters found by the read-back are FailedPrecondition;
// guest failures keep their own status.
absl::StatusOr<TypingReport> TypeUnicode(KeySink& keys, std::string_view utf8, GuestKeyboard* guest,
                                         absl::Time deadline);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_RFB_TEXT_TYPING_H_

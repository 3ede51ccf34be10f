#include "vnc-agent/rfb/text_typing.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/outcome.h"
#include "core/time_left.h"
#include "core/utf8.h"
#include "vnc-agent/rfb/keysyms.h"

namespace mosdat {
namespace {

constexpr uint32_t kReturn = 0xff0d;
constexpr uint32_t kTab = 0xff09;
// How long one read-back may wait for the app to show what was typed.
constexpr absl::Duration kConfirmSlice = absl::Seconds(5);
// A text typed in one part is read back too, so the step ends when the app has it (a
// keymap change makes toolkits reload their keymap, which takes a while) — but only
// for this long, and a text the widget changed (an input mask) is not a failure then.
constexpr absl::Duration kSettleSlice = absl::Seconds(2);

// One run of characters whose off-map keysyms fit the scratch pool together.
struct Chunk {
  size_t first = 0, end = 0;     // keysym (= character) indexes
  std::vector<uint32_t> placed;  // distinct off-map keysyms, in order
};

// An off-map keysym as the character it types.
std::string Character(uint32_t keysym) {
  char32_t cp = keysym >= 0x01000000 ? keysym - 0x01000000 : keysym;
  return absl::StrFormat("U+%04X", static_cast<uint32_t>(cp));
}

// Byte offset of every character start, plus the end.
std::vector<size_t> CharacterStarts(std::string_view utf8) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < utf8.size(); ++i) {
    if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(utf8.size());
  return starts;
}

std::string Shown(std::string_view text) { return ShortenText(ValidUtf8(text), 60); }

// Polls the focused object until the text before its caret ends with `typed`.
absl::Status Confirm(GuestKeyboard& guest, std::string_view typed, int characters,
                     absl::Time deadline, TypingReport* report,
                     absl::Duration slice = kConfirmSlice) {
  const absl::Time until = std::min(deadline, absl::Now() + slice);
  std::optional<GuestKeyboard::FocusedText> last;
  while (true) {
    absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> focused =
        guest.Focused(characters, TimeLeft(deadline));
    if (!focused.ok()) return focused.status();
    last = *focused;
    // Nothing focused has text: there is nothing to wait for.
    if (!last) break;
    report->focused = absl::StrCat(last->role, " \"", last->name, "\" in ", last->app);
    if (std::string_view(last->before).ends_with(typed)) return absl::OkStatus();
    if (absl::Now() >= until) break;
    absl::SleepFor(absl::Milliseconds(10));  // a poll interval, bounded by `until`
  }
  if (!last) {
    return absl::FailedPreconditionError("nothing focused exposes its text over AT-SPI");
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "characters were lost or changed: typed \"", Shown(typed), "\", but before the caret of ",
      report->focused, " is \"", Shown(last->before), "\""));
}

}  // namespace

// The keysym form of core/scenario.h's TypesOffEveryKeymap (preflight's rule).
bool OnEveryKeymap(uint32_t keysym) {
  return (keysym >= 0x20 && keysym <= 0x7e) || keysym == kReturn || keysym == kTab;
}

absl::StatusOr<TypingReport> TypeUnicode(KeySink& keys, std::string_view utf8, GuestKeyboard* guest,
                                         absl::Time deadline) {
  absl::StatusOr<std::vector<uint32_t>> keysyms = KeysymsForText(utf8);
  if (!keysyms.ok()) return keysyms.status();
  TypingReport report;
  report.characters = static_cast<int>(keysyms->size());
  std::vector<uint32_t> off_map;
  for (uint32_t k : *keysyms) {
    if (!OnEveryKeymap(k) && std::find(off_map.begin(), off_map.end(), k) == off_map.end()) {
      off_map.push_back(k);
    }
  }
  if (off_map.empty()) {
    report.chunks = 1;
    if (absl::Status s = keys.TypeKeysyms(*keysyms); !s.ok()) return s;
    return report;
  }
  if (guest == nullptr) {
    return ConfigError(absl::StrCat(
        "cannot type ", Character(off_map.front()),
        " safely: it is not on every keyboard map, and without SSH access to the VM the "
        "agent cannot put it on one (VNC servers drop such keys or reuse slots while the "
        "app still reads them). Give the VM ip, user and ssh_key, or type only ASCII"));
  }

  absl::StatusOr<GuestKeyboard::KeymapState> state =
      guest->Keymap(off_map, /*place=*/false, TimeLeft(deadline));
  if (!state.ok()) return state.status();
  std::set<uint32_t> needs_slot = state->missing;
  needs_slot.insert(state->scratch.begin(), state->scratch.end());
  if (!needs_slot.empty() && state->pool <= 0) {
    return absl::UnavailableError(
        "the VM's X keyboard map has no free keycode for characters it lacks");
  }

  // Cut the text where the next new off-map character would not fit the pool.
  const std::vector<size_t> starts = CharacterStarts(utf8);
  std::vector<Chunk> chunks(1);
  std::set<uint32_t> in_chunk;
  for (size_t i = 0; i < keysyms->size(); ++i) {
    uint32_t k = (*keysyms)[i];
    bool needs = needs_slot.count(k) > 0;
    if (needs && !in_chunk.count(k) && static_cast<int>(in_chunk.size()) >= state->pool) {
      chunks.back().end = i;
      chunks.emplace_back().first = i;
      in_chunk.clear();
    }
    // Off-map keysyms that a key of this map produces anyway need no slot.
    if (needs && in_chunk.insert(k).second) chunks.back().placed.push_back(k);
  }
  chunks.back().end = keysyms->size();
  report.placed = static_cast<int>(needs_slot.size());
  report.chunks = static_cast<int>(chunks.size());

  // Several chunks reuse scratch keycodes, which is only safe once the earlier text is
  // read back: make sure there is something to read it from before typing anything.
  if (chunks.size() > 1) {
    absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> focused =
        guest->Focused(1, TimeLeft(deadline));
    if (!focused.ok()) return focused.status();
    if (!*focused) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "this text has %d distinct characters that are not on the VM's keyboard map, more "
          "than the %d the agent can map at once; typing it in parts needs each part read "
          "back, and nothing focused exposes its text over AT-SPI. Type at most %d such "
          "characters per step into this widget",
          needs_slot.size(), state->pool, state->pool));
    }
  }

  for (size_t c = 0; c < chunks.size(); ++c) {
    const Chunk& chunk = chunks[c];
    if (!chunk.placed.empty()) {
      absl::StatusOr<GuestKeyboard::KeymapState> placed =
          guest->Keymap(chunk.placed, /*place=*/true, TimeLeft(deadline));
      if (!placed.ok()) return placed.status();
      if (!placed->missing.empty()) {
        return absl::InternalError(
            absl::StrCat("the guest helper did not map ", Character(*placed->missing.begin())));
      }
    }
    std::vector<uint32_t> part(keysyms->begin() + chunk.first, keysyms->begin() + chunk.end);
    if (absl::Status s = keys.TypeKeysyms(part); !s.ok()) return s;
    if (chunks.size() > 1) {
      std::string_view typed =
          utf8.substr(starts[chunk.first], starts[chunk.end] - starts[chunk.first]);
      if (absl::Status s =
              Confirm(*guest, typed, static_cast<int>(chunk.end - chunk.first), deadline, &report);
          !s.ok()) {
        return absl::Status(s.code(),
                            absl::StrCat("part ", c + 1, " of ", chunks.size(), ": ", s.message()));
      }
      report.confirmed = true;
    }
  }
  if (chunks.size() == 1 && !needs_slot.empty()) {
    absl::Status settled =
        Confirm(*guest, utf8, report.characters, deadline, &report, kSettleSlice);
    if (settled.ok()) {
      report.confirmed = true;
    } else if (OutcomeOf(settled) == Outcome::kTestFailed) {
      report.note = std::string(settled.message());
    } else {
      return settled;
    }
  }
  return report;
}

}  // namespace mosdat

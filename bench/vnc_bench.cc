// VNC benchmark on the local target: a real Xvnc desktop (1280x800) on loopback with a
// real GTK3 window (tests/data/apps/fixed_layout.py). Prints latency percentiles for
// capturing, for a frame guaranteed newer than the last input, for a click becoming
// visible, sustained full frames per second, and typing speed: ASCII (on every keyboard
// map: sent as it is) and text off the map (placed on scratch keycodes by the guest
// helper over the desktop's private sshd, read back between parts), both until the app
// has it all.
//   build/bench/mosdat_bench_vnc [iterations]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "bench/latency.h"
#include "vnc-agent/guest/guest_session.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/local/local_sshd.h"
#include "vnc-agent/rfb/text_typing.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

void Print(const char* what, const std::vector<double>& ms) { PrintLatency(what, ms, 44, 2); }

std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) return std::string(1, static_cast<char>(c));
  if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
  } else {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  }
  out += static_cast<char>(0x80 | (c & 0x3F));
  return out;
}

// Types `text` into the focused entry and waits until the entry holds all of it (read
// through the helper); characters per second, or a negative number on failure.
double TypingSpeed(VncSession& vnc, GuestSession& guest, const std::string& text,
                   GuestKeyboard* keyboard) {
  absl::Time t = absl::Now();
  absl::StatusOr<TypingReport> typed =
      TypeUnicode(vnc, text, keyboard, absl::Now() + absl::Seconds(120));
  if (!typed.ok()) {
    std::fprintf(stderr, "type: %s\n", std::string(typed.status().message()).c_str());
    return -1;
  }
  while (absl::Now() - t < absl::Seconds(60)) {
    absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> focused =
        guest.Focused(typed->characters, absl::Seconds(10));
    if (focused.ok() && *focused && std::string_view((*focused)->before).ends_with(text)) {
      return typed->characters / absl::ToDoubleSeconds(absl::Now() - t);
    }
  }
  return -1;
}

int Run(int iterations) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
      {.app_command = {"/usr/bin/python3",
                       std::string(MOSDAT_SOURCE_DIR) + "/tests/data/apps/fixed_layout.py"}});
  if (!desktop.ok()) {
    std::fprintf(stderr, "desktop: %s\n", std::string(desktop.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<VncSession>> connected =
      VncSession::Connect({.port = (*desktop)->vnc_port(), .password = (*desktop)->vnc_password()});
  if (!connected.ok()) {
    std::fprintf(stderr, "vnc: %s\n", std::string(connected.status().message()).c_str());
    return 1;
  }
  VncSession& vnc = **connected;
  // Let the app paint before measuring.
  for (Frame f; f.rgb.empty() || f.Pixel(5, 5)[0] == 0;) {
    absl::StatusOr<Frame> next = vnc.WaitForUpdate(f.update_seq, absl::Seconds(5));
    if (!next.ok()) return 1;
    f = *next;
  }
  std::printf("mOSdat VNC benchmark: %dx%d, loopback Xvnc, %d iterations\n", vnc.width(),
              vnc.height(), iterations);

  std::vector<double> capture, after_input, encode, click_visible;
  for (int i = 0; i < iterations; ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<Frame> frame = vnc.Capture();
    capture.push_back(Ms(absl::Now() - t));
    if (!frame.ok()) return 1;
    if (i < 50) {
      t = absl::Now();
      absl::StatusOr<std::string> png = EncodePng(*frame);
      encode.push_back(Ms(absl::Now() - t));
    }
  }
  for (int i = 0; i < iterations; ++i) {
    // Move the pointer outside the window (no repaint), then ask for a frame that
    // reflects it: the full round trip of the stale-frame guarantee.
    if (!vnc.Move(600 + (i % 2), 600).ok()) return 1;
    absl::Time t = absl::Now();
    absl::StatusOr<Frame> frame = vnc.CaptureAfterInput(absl::Seconds(5));
    after_input.push_back(Ms(absl::Now() - t));
    if (!frame.ok()) return 1;
  }
  const Rect toggle{20, 20, 160, 40};
  int clicks = std::max(10, iterations / 10);
  for (int i = 0; i < clicks; ++i) {
    absl::StatusOr<Frame> before = vnc.CaptureAfterInput(absl::Seconds(5));
    if (!before.ok()) return 1;
    absl::Time t = absl::Now();
    if (!vnc.Click(100, 40).ok()) return 1;
    Frame latest = *before;
    while (DifferenceRatio(*before, latest, toggle) < 0.05) {
      absl::StatusOr<Frame> next = vnc.WaitForUpdate(latest.update_seq, absl::Seconds(5));
      if (!next.ok()) return 1;
      latest = *next;
    }
    click_visible.push_back(Ms(absl::Now() - t));
    vnc.Move(600, 600).IgnoreError();  // leave the button so it is not drawn hovered
    vnc.CaptureAfterInput(absl::Seconds(5)).IgnoreError();
  }
  int frames = 0;
  absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(3)) {
    if (!vnc.Move(600 + (frames % 2), 600).ok()) return 1;
    if (!vnc.CaptureAfterInput(absl::Seconds(5)).ok()) return 1;
    ++frames;
  }
  double fps = frames / absl::ToDoubleSeconds(absl::Now() - start);

  // Typing, into the entry, through the guest helper like a scenario's `type` step.
  std::string dir = (*desktop)->root_dir() + "/sshd";
  std::filesystem::create_directories(dir);
  absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
      LocalSshd::Start({.dir = dir, .session_env = (*desktop)->session_env()});
  if (!sshd.ok()) return 1;
  absl::StatusOr<std::unique_ptr<GuestSession>> guest =
      GuestSession::Connect({.ssh = (*sshd)->ClientOptions()});
  if (!guest.ok()) return 1;
  if (!vnc.Click(170, 98).ok()) return 1;
  // Keys sent before the entry has the focus would be lost: wait for it.
  for (absl::Time until = absl::Now() + absl::Seconds(30);;) {
    absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> focused =
        (*guest)->Focused(1, absl::Seconds(10));
    if (focused.ok() && *focused) break;
    if (absl::Now() > until) return 1;
  }
  std::string ascii, scripts;
  for (int i = 0; i < 500; ++i) ascii += static_cast<char>('a' + i % 26);
  for (char32_t c = 0x3B1; c <= 0x3C9; ++c) scripts += Utf8(c);         // Greek
  for (char32_t c = 0x430; c <= 0x44F; ++c) scripts += Utf8(c);         // Cyrillic
  for (char32_t c = 0x4E00; c < 0x4E00 + 243; ++c) scripts += Utf8(c);  // CJK: 300 in all
  double ascii_rate = TypingSpeed(vnc, **guest, ascii, nullptr);
  double scripts_rate = TypingSpeed(vnc, **guest, scripts, guest->get());

  Print("capture (copy current framebuffer)", capture);
  Print("capture newer than last input", after_input);
  Print("PNG encode of a full frame", encode);
  Print("click to visible change (GTK toggle)", click_visible);
  std::printf("%-44s %.1f full frames/s\n", "sustained frames newer than input", fps);
  std::printf("%-44s %.0f chars/s (500 chars, until the app has them)\n", "type ASCII", ascii_rate);
  std::printf("%-44s %.0f chars/s (300 distinct chars, read back per part)\n",
              "type Greek+Cyrillic+CJK (off the keymap)", scripts_rate);
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  return mosdat::Run(std::max(iterations, 10));
}

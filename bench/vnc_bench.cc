// VNC benchmark on the local target: a real Xvnc desktop (1280x800) on loopback with a
// real GTK3 window (tests/data/apps/fixed_layout.py). Prints latency percentiles for
// capturing, for a frame guaranteed newer than the last input, for a click becoming
// visible, and sustained full frames per second.
//   build/bench/mosdat_bench_vnc [iterations]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/latency.h"
#include "vnc-agent/local_desktop.h"
#include "vnc-agent/vnc_session.h"

namespace mosdat {
namespace {

void Print(const char* what, const std::vector<double>& ms) { PrintLatency(what, ms, 44, 2); }

int Run(int iterations) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
      {.app_command = {"/usr/bin/python3",
                       std::string(MOSDAT_SOURCE_DIR) + "/tests/data/apps/fixed_layout.py"}});
  if (!desktop.ok()) {
    std::fprintf(stderr, "desktop: %s\n", std::string(desktop.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<VncSession>> connected =
      VncSession::Connect({.port = (*desktop)->vnc_port()});
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

  Print("capture (copy current framebuffer)", capture);
  Print("capture newer than last input", after_input);
  Print("PNG encode of a full frame", encode);
  Print("click to visible change (GTK toggle)", click_visible);
  std::printf("%-44s %.1f full frames/s\n", "sustained frames newer than input", fps);
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  return mosdat::Run(std::max(iterations, 10));
}

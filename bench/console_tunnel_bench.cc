// Console tunnel benchmark: what the Proxmox console tunnel adds to "a frame newer than
// the last input" (the agent's stale-screen guarantee). A real Xvnc desktop (1280x800,
// VncAuth) with a real GTK3 window; upstream is Debian's websockify with TLS in front of
// it (the stand-in for PVE's vncwebsocket); the same libvncclient session type connects
// directly to Xvnc and through ConsoleTunnel, measured alternately on the same screen.
//   build/bench/mosdat_bench_console_tunnel [iterations]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/latency.h"
#include "proxmox-bridge/console_tunnel.h"
#include "tests/integration/tls_websockify.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

constexpr char kVmPassword[] = "secret12";

double P95(std::vector<double> ms) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  return ms[std::min(ms.size() - 1, static_cast<size_t>(0.95 * ms.size()))];
}

void Print(const char* what, const std::vector<double>& ms) {
  PrintLatency(what, ms, 44, 2, absl::StrFormat("p95 %.2f ms", P95(ms)));
}

// Moves the pointer outside the window (no repaint) and waits for a frame newer than
// that input: the full round trip of the stale-frame guarantee.
bool FrameAfterInput(VncSession& vnc, int i, std::vector<double>& out) {
  if (!vnc.Move(600 + (i % 2), 600).ok()) return false;
  absl::Time t = absl::Now();
  if (!vnc.CaptureAfterInput(absl::Seconds(5)).ok()) return false;
  out.push_back(Ms(absl::Now() - t));
  return true;
}

// A click on the toggle until its change is visible.
bool ClickVisible(VncSession& vnc, std::vector<double>& out) {
  const Rect toggle{20, 20, 160, 40};
  absl::StatusOr<Frame> before = vnc.CaptureAfterInput(absl::Seconds(5));
  if (!before.ok()) return false;
  absl::Time t = absl::Now();
  if (!vnc.Click(100, 40).ok()) return false;
  Frame latest = *before;
  while (DifferenceRatio(*before, latest, toggle) < 0.05) {
    absl::StatusOr<Frame> next = vnc.WaitForUpdate(latest.update_seq, absl::Seconds(5));
    if (!next.ok()) return false;
    latest = *next;
  }
  out.push_back(Ms(absl::Now() - t));
  vnc.Move(600, 600).IgnoreError();
  return vnc.CaptureAfterInput(absl::Seconds(5)).ok();
}

int Run(int iterations) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
      {.app_command = {"/usr/bin/python3",
                       std::string(MOSDAT_SOURCE_DIR) + "/tests/data/apps/fixed_layout.py"},
       .vnc_password = kVmPassword});
  if (!desktop.ok()) {
    std::fprintf(stderr, "desktop: %s\n", std::string(desktop.status().message()).c_str());
    return 1;
  }
  std::string dir = (*desktop)->root_dir() + "/websockify";
  std::filesystem::create_directories(dir);
  absl::StatusOr<std::unique_ptr<testing::TlsWebsockify>> websockify =
      testing::TlsWebsockify::Start(dir, (*desktop)->vnc_port());
  if (!websockify.ok()) {
    std::fprintf(stderr, "websockify: %s\n", std::string(websockify.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> tunnel =
      ConsoleTunnel::Open({.open_upstream = [&]() -> absl::StatusOr<ConsoleUpstream> {
        return (*websockify)->Upstream(kVmPassword);
      }});
  if (!tunnel.ok()) {
    std::fprintf(stderr, "tunnel: %s\n", std::string(tunnel.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<VncSession>> direct =
      VncSession::Connect({.port = (*desktop)->vnc_port(), .password = kVmPassword});
  absl::StatusOr<std::unique_ptr<VncSession>> tunnelled =
      VncSession::Connect({.port = (*tunnel)->local_port(), .password = (*tunnel)->password()});
  if (!direct.ok() || !tunnelled.ok()) {
    std::fprintf(stderr, "vnc: %s / %s\n", direct.status().ToString().c_str(),
                 tunnelled.status().ToString().c_str());
    return 1;
  }
  // Let the app paint before measuring.
  for (Frame f; f.rgb.empty() || f.Pixel(5, 5)[0] == 0;) {
    absl::StatusOr<Frame> next = (*direct)->WaitForUpdate(f.update_seq, absl::Seconds(5));
    if (!next.ok()) return 1;
    f = *next;
  }

  // Opening a fresh upstream session (TCP + TLS + WebSocket + RFB security), as every
  // local connection does.
  std::vector<double> connect_direct, connect_tunnel;
  for (int i = 0; i < 10; ++i) {
    absl::Time t = absl::Now();
    if (!VncSession::Connect({.port = (*desktop)->vnc_port(), .password = kVmPassword}).ok()) {
      return 1;
    }
    connect_direct.push_back(Ms(absl::Now() - t));
    t = absl::Now();
    if (!VncSession::Connect({.port = (*tunnel)->local_port(), .password = (*tunnel)->password()})
             .ok()) {
      return 1;
    }
    connect_tunnel.push_back(Ms(absl::Now() - t));
  }

  std::printf(
      "mOSdat console tunnel benchmark: %dx%d, loopback Xvnc (VncAuth), websockify with TLS "
      "upstream, %d iterations\n",
      (*direct)->width(), (*direct)->height(), iterations);
  std::vector<double> after_direct, after_tunnel, click_direct, click_tunnel, added;
  for (int i = 0; i < iterations; ++i) {
    if (!FrameAfterInput(**direct, i, after_direct)) return 1;
    if (!FrameAfterInput(**tunnelled, i, after_tunnel)) return 1;
    added.push_back(after_tunnel.back() - after_direct.back());
  }
  int clicks = std::max(10, iterations / 10);
  for (int i = 0; i < clicks; ++i) {
    if (!ClickVisible(**direct, click_direct)) return 1;
    if (!ClickVisible(**tunnelled, click_tunnel)) return 1;
  }

  Print("frame newer than input, direct", after_direct);
  Print("frame newer than input, through the tunnel", after_tunnel);
  Print("  added by tunnel + websockify (paired)", added);
  Print("click to visible change, direct", click_direct);
  Print("click to visible change, through the tunnel", click_tunnel);
  Print("connect (to first frame), direct", connect_direct);
  Print("connect (to first frame), through the tunnel", connect_tunnel);
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  return mosdat::Run(std::max(iterations, 10));
}

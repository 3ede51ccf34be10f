// Visual matching benchmark on a real screenshot of the local target (1280x800 Xvnc,
// gtk3-widget-factory): mOSdat's colour-aware matcher near the expected place and over
// the whole frame, with and without exclude areas, against openQA's needle algorithm
// re-implemented here (grey + Gaussian blur + squared-difference template match).
//   build/bench/mosdat_bench_visual [iterations]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "bench/latency.h"
#include "core/visual_match.h"
#include "core/visual_reference.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

void Print(const char* what, const std::vector<double>& ms, const char* extra = "") {
  PrintLatency(what, ms, 46, 2, extra);
}

template <typename F>
std::vector<double> Time(int n, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    absl::Time begin = absl::Now();
    f();
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - begin));
  }
  return ms;
}

cv::Mat AsMat(const Frame& frame) {
  return cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
}

// openQA's needle matching: both images to grey, blurred, then squared differences.
struct OpenQaMatch {
  double similarity;
  cv::Point where;
};
OpenQaMatch OpenQaFind(const cv::Mat& screen_rgb, const cv::Mat& needle_rgb, const cv::Rect& area) {
  cv::Mat screen, needle;
  cv::cvtColor(screen_rgb(area), screen, cv::COLOR_RGB2GRAY);
  cv::cvtColor(needle_rgb, needle, cv::COLOR_RGB2GRAY);
  cv::GaussianBlur(screen, screen, cv::Size(3, 3), 0);
  cv::GaussianBlur(needle, needle, cv::Size(3, 3), 0);
  cv::Mat scores;
  cv::matchTemplate(screen, needle, scores, cv::TM_SQDIFF_NORMED);
  double min_value = 0;
  cv::Point at;
  cv::minMaxLoc(scores, &min_value, nullptr, &at);
  return {1.0 - min_value, {area.x + at.x, area.y + at.y}};
}

int Run(int iterations) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = {"gtk3-widget-factory"}});
  if (!desktop.ok()) {
    std::fprintf(stderr, "desktop: %s\n", std::string(desktop.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<VncSession>> vnc =
      VncSession::Connect({.port = (*desktop)->vnc_port(), .password = (*desktop)->vnc_password()});
  if (!vnc.ok()) {
    std::fprintf(stderr, "vnc: %s\n", std::string(vnc.status().message()).c_str());
    return 1;
  }
  // Wait (polling frames) until the window is drawn: most of the screen not black.
  Frame frame;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    absl::StatusOr<Frame> next = (*vnc)->WaitForUpdate(frame.update_seq, absl::Seconds(1));
    if (next.ok()) frame = *next;
    if (!frame.rgb.empty() && frame.Pixel(frame.width / 2, frame.height / 2)[0] > 0) break;
  }
  // Let the first paint settle: a 500 ms pause in updates, or 3 s at most (the widget
  // factory has a spinner that never stops).
  const absl::Time settle = absl::Now() + absl::Seconds(3);
  while (absl::Now() < settle &&
         (*vnc)->WaitForUpdate(frame.update_seq, absl::Milliseconds(500)).ok()) {
    frame = *(*vnc)->Capture();
  }
  // A needle with content: the first 160x40 region, scanning the window, that is not blank.
  Rect region;
  for (int y = 60; y + 40 < frame.height && region.empty(); y += 40) {
    for (int x = 20; x + 160 < frame.width; x += 80) {
      if (BlankReferenceReason(Crop(frame, {x, y, 160, 40}), {}).empty()) {
        region = {x, y, 160, 40};
        break;
      }
    }
  }
  if (region.empty()) {
    std::fprintf(stderr, "no region with content on the screen\n");
    return 1;
  }
  Frame needle = Crop(frame, region);
  std::printf(
      "mOSdat visual-match benchmark: %dx%d screenshot of gtk3-widget-factory, needle "
      "%dx%d at (%d,%d), %d iterations\n\n",
      frame.width, frame.height, region.width, region.height, region.x, region.y, iterations);

  VisualMatch local, full, masked;
  std::vector<double> local_ms =
      Time(iterations, [&] { local = FindReference(frame, needle, region, 0.95); });
  std::vector<double> full_ms =
      Time(iterations, [&] { full = FindReference(frame, needle, std::nullopt, 0.95); });
  std::vector<Rect> exclude = {{0, 0, 40, 40}};
  std::vector<double> masked_ms =
      Time(iterations, [&] { masked = FindReference(frame, needle, exclude, std::nullopt, 0.95); });
  cv::Mat screen = AsMat(frame), templ = AsMat(needle);
  cv::Rect whole(0, 0, frame.width, frame.height);
  cv::Rect near =
      cv::Rect(region.x - 32, region.y - 32, region.width + 64, region.height + 64) & whole;
  OpenQaMatch q_local{}, q_full{};
  std::vector<double> q_local_ms =
      Time(iterations, [&] { q_local = OpenQaFind(screen, templ, near); });
  std::vector<double> q_full_ms =
      Time(iterations, [&] { q_full = OpenQaFind(screen, templ, whole); });

  char buffer[128];
  std::snprintf(buffer, sizeof buffer, "score %.3f at (%d,%d)", local.score, local.where.x,
                local.where.y);
  Print("mOSdat colour, near expected (±32 px)", local_ms, buffer);
  std::snprintf(buffer, sizeof buffer, "score %.3f at (%d,%d)", full.score, full.where.x,
                full.where.y);
  Print("mOSdat colour, full frame", full_ms, buffer);
  std::snprintf(buffer, sizeof buffer, "score %.3f", masked.score);
  Print("mOSdat colour, full frame, with exclude area", masked_ms, buffer);
  std::snprintf(buffer, sizeof buffer, "score %.3f at (%d,%d)", q_local.similarity, q_local.where.x,
                q_local.where.y);
  Print("openQA grey+blur, near expected (±32 px)", q_local_ms, buffer);
  std::snprintf(buffer, sizeof buffer, "score %.3f at (%d,%d)", q_full.similarity, q_full.where.x,
                q_full.where.y);
  Print("openQA grey+blur, full frame", q_full_ms, buffer);

  // Colour-blindness: the needle with red and blue swapped.
  Frame swapped = needle;
  for (size_t i = 0; i < swapped.rgb.size(); i += 3) std::swap(swapped.rgb[i], swapped.rgb[i + 2]);
  VisualMatch ours = FindReference(frame, swapped, region, 0.95);
  OpenQaMatch theirs = OpenQaFind(screen, AsMat(swapped), near);
  std::printf("\nred/blue-swapped needle: mOSdat score %.3f, openQA score %.3f\n", ours.score,
              theirs.similarity);
  auto p50 = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("goal local match <= 5 ms: %s (p50 %.2f ms); full frame <= 40 ms: %s (p50 %.2f ms)\n",
              p50(local_ms) <= 5 ? "MET" : "MISSED", p50(local_ms),
              p50(full_ms) <= 40 ? "MET" : "MISSED", p50(full_ms));
  vnc->reset();
  (*desktop)->Stop();
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 30;
  if (iterations < 1) {
    std::fprintf(stderr, "usage: %s [iterations >= 1]\n", argv[0]);
    return 2;
  }
  return mosdat::Run(iterations);
}

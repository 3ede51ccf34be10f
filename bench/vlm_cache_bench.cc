// VLM cache benchmark: the latency of a Localize/Verify answered from the on-disk cache
// (goal: <= 1 ms), through the whole VlmGateway path — PNG header check, SHA-256 of the
// screenshot, cache key, SQLite lookup and hit bookkeeping, strict re-parse, coordinate
// mapping — plus its parts, for 1280x800 screenshots from a flat UI to pure noise (the
// worst case for hashing). The cache is filled directly; the gateway's endpoint is
// a closed port, so a miss would fail loudly instead of being measured.
//   build/bench/mosdat_bench_vlm_cache [iterations]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "bench/latency.h"
#include "core/frame.h"
#include "vlm-gateway/answer_parser.h"
#include "vlm-gateway/chat_request.h"
#include "vlm-gateway/gateway.h"
#include "core/sha256.h"
#include "vlm-gateway/vlm_cache.h"

namespace mosdat {
namespace {

constexpr char kModel[] = "qwen2.5-vl-7b-instruct";

void Print(const std::string& what, const std::vector<double>& ms) {
  PrintLatency(what, ms, 52, 3);
}

template <typename F>
std::vector<double> Time(int iterations, F&& f) {
  std::vector<double> ms;
  ms.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    absl::Time start = absl::Now();
    f(i);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  return ms;
}

enum class Content { kFlat, kBusy, kNoise };

// kFlat: a plain UI (title bar, dialog); kBusy: the same with a 400x300 photo-like
// (incompressible) area; kNoise: every pixel random, the worst case for hashing.
std::string Screenshot(Content content) {
  Frame frame;
  frame.width = 1280;
  frame.height = 800;
  frame.rgb.assign(static_cast<size_t>(frame.width) * frame.height * 3, 0xee);
  std::mt19937 random(7);
  for (int y = 0; y < frame.height; ++y) {
    for (int x = 0; x < frame.width; ++x) {
      uint8_t* p = &frame.rgb[(static_cast<size_t>(y) * frame.width + x) * 3];
      bool noisy = content == Content::kNoise ||
                   (content == Content::kBusy && x >= 800 && x < 1200 && y >= 100 && y < 400);
      if (noisy) {
        p[0] = random();
        p[1] = random();
        p[2] = random();
      } else if (y < 30 || (x > 400 && x < 880 && y > 300 && y < 500)) {  // title bar, dialog
        p[0] = 60;
        p[1] = 90;
        p[2] = 160;
      }
    }
  }
  return EncodePng(frame).value();
}

int Run(int iterations) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("mosdat-vlm-bench-" + std::to_string(getpid())))
          .string();
  GatewayOptions options;
  options.base_urls = {"http://127.0.0.1:9/v1"};  // discard port: misses fail
  options.model = kModel;
  options.retries = 0;
  options.cache_dir = dir;
  absl::StatusOr<std::unique_ptr<VlmGateway>> created = VlmGateway::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "gateway: %s\n", std::string(created.status().message()).c_str());
    return 1;
  }
  VlmGateway& gateway = **created;
  absl::StatusOr<std::unique_ptr<VlmCache>> cache = VlmCache::Open(dir);
  if (!cache.ok()) return 1;

  std::printf("mOSdat VLM cache benchmark: %d iterations, cache %s\n", iterations, dir.c_str());
  std::atomic<int> failures = 0;
  for (Content content : {Content::kFlat, Content::kBusy, Content::kNoise}) {
    std::string png = Screenshot(content);
    std::string label = content == Content::kFlat   ? "flat 1280x800"
                        : content == Content::kBusy ? "busy 1280x800"
                                                    : "noise 1280x800";
    std::printf("-- %s screenshot, PNG %.1f KiB\n", label.c_str(), png.size() / 1024.0);
    // Fill the cache as a real answer would: one localize and one verify entry per prompt.
    std::vector<std::string> prompts;
    CoordinateConvention convention = gateway.ConventionFor(kModel);
    std::string localize_params = AnswerParameters(VlmTask::kLocalize, kModel, convention);
    std::string verify_params = AnswerParameters(VlmTask::kVerify, kModel, convention);
    std::string image_hash = Sha256Hex(png);
    for (int i = 0; i < 100; ++i) {
      prompts.push_back("the OK button number " + std::to_string(i));
      (void)(*cache)->Store(CacheKey(image_hash, localize_params, prompts.back()),
                            {.kind = "localize",
                             .model = kModel,
                             .answer = ToJson(LocalizeAnswer{true, 630, 392, 0.9}),
                             .raw_answer = "{\"found\": true, \"x\": 630, \"y\": 392}"});
      (void)(*cache)->Store(CacheKey(image_hash, verify_params, prompts.back()),
                            {.kind = "verify",
                             .model = kModel,
                             .answer = ToJson(VerifyAnswer{true, "visible"}),
                             .raw_answer = "{\"answer\": \"yes\"}"});
    }
    Print("  sha256(png)", Time(iterations, [&](int) { (void)Sha256Hex(png); }));
    Print("  VlmCache::Lookup (SQLite, hit bookkeeping)", Time(iterations, [&](int i) {
            (void)(*cache)->Lookup(CacheKey(image_hash, localize_params, prompts[i % 100]));
          }));
    // The screenshot is copied into each request outside the timed region, as a caller
    // holding its request would.
    LocalizeRequest localize;
    localize.image.png = png;
    localize.image.width = 1280;
    localize.image.height = 800;
    Print("  VlmGateway::Localize, cache hit", Time(iterations, [&](int i) {
            localize.prompt = prompts[i % 100];
            absl::StatusOr<LocalizeResult> r = gateway.Localize(localize);
            if (!r.ok() || !r->cache_hit || r->x != 640) ++failures;
          }));
    VerifyRequest verify;
    verify.image.png = png;
    Print("  VlmGateway::Verify, cache hit", Time(iterations, [&](int i) {
            verify.question = prompts[i % 100];
            absl::StatusOr<VerifyResult> r = gateway.Verify(verify);
            if (!r.ok() || !r->cache_hit || !r->answer) ++failures;
          }));
    // Four callers at once (the agent runs steps of several VMs in parallel).
    std::vector<std::vector<double>> per_thread(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        LocalizeRequest request = localize;
        per_thread[t] = Time(iterations / 4, [&](int i) {
          request.prompt = prompts[(i * 4 + t) % 100];
          absl::StatusOr<LocalizeResult> r = gateway.Localize(request);
          if (!r.ok() || !r->cache_hit) ++failures;
        });
      });
    }
    for (std::thread& t : threads) t.join();
    std::vector<double> all;
    for (const auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
    Print("  VlmGateway::Localize, cache hit, 4 threads", all);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (failures > 0) {
    std::fprintf(stderr, "%d calls were not cache hits with the expected answer\n",
                 failures.load());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 2000;
  return mosdat::Run(std::max(iterations, 4));
}

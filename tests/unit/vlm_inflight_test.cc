// Tests for the vlm-gateway's in-flight de-duplication: overlapping identical calls run
// once and share the result; different keys and later calls run on their own.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "vlm-gateway/inflight.h"

namespace mosdat {
namespace {

TEST(VlmInflightTest, OverlappingIdenticalCallsRunOnce) {
  InflightGroup<int> group;
  std::atomic<int> runs = 0;
  std::atomic<int> joined = 0;
  absl::Notification release;
  constexpr int kCallers = 8;
  std::vector<absl::StatusOr<int>> results(kCallers, absl::UnknownError("unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      results[i] = group.Do(
          "key",
          [&]() -> absl::StatusOr<int> {
            ++runs;
            release.WaitForNotification();
            return 42;
          },
          nullptr, [&] { ++joined; });
    });
  }
  // Wait (with a deadline) until every other caller joined the running call.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (joined.load() < kCallers - 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));  // poll interval
  }
  EXPECT_EQ(joined.load(), kCallers - 1);
  release.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r.value_or(0), 42);
  EXPECT_EQ(group.running(), 0u);
}

TEST(VlmInflightTest, SharesErrorsAndForgetsFinishedCalls) {
  InflightGroup<int> group;
  bool shared = true;
  absl::StatusOr<int> failed = group.Do(
      "k", [] { return absl::StatusOr<int>(absl::UnavailableError("down")); }, &shared);
  EXPECT_FALSE(shared);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  // The next call runs again: failures are not remembered.
  absl::StatusOr<int> again = group.Do(
      "k", [] { return absl::StatusOr<int>(7); }, &shared);
  EXPECT_FALSE(shared);
  EXPECT_EQ(again.value_or(0), 7);
}

TEST(VlmInflightTest, ThrowingWorkDoesNotStrandWaiters) {
  InflightGroup<int> group;
  absl::StatusOr<int> result =
      group.Do("k", []() -> absl::StatusOr<int> { throw std::runtime_error("boom"); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(group.running(), 0u);
}

}  // namespace
}  // namespace mosdat

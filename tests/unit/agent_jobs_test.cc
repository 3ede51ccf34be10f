// Tests of AgentJobs, the agent's registry of jobs a failed step holds for a person:
// a held job waits in Hold() on its own thread until another thread resumes or aborts
// it, or its cancel token stops it; what a person may ask is checked.
#include "vnc-agent/steps/agent_jobs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "absl/time/clock.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

PausedJob JobNamed(const std::string& id, int failed_step = 1, int step_count = 4) {
  return {.job_id = id,
          .run_id = "run-1",
          .test = "editor",
          .vm = "local",
          .failed_step = failed_step,
          .step_count = step_count,
          .reason = "step 2 failed"};
}

// Waits (up to a minute) until `id` is held.
bool AwaitHeld(const AgentJobs& paused, const std::string& id) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (absl::Now() < deadline) {
    if (paused.Find(id).ok()) return true;
    std::this_thread::yield();
  }
  return false;
}

TEST(AgentJobsTest, AHeldJobWaitsUntilAPersonResumesIt) {
  AgentJobs paused;
  CancelToken cancel;
  auto held = std::async(std::launch::async, [&] {
    return paused.Hold(JobNamed("j1"), {.vnc = {.port = 5999}}, &cancel);
  });
  ASSERT_TRUE(AwaitHeld(paused, "j1"));
  ASSERT_EQ(paused.List().size(), 1u);
  EXPECT_EQ(paused.List()[0].reason, "step 2 failed");
  EXPECT_EQ(paused.Find("j1")->second.vnc.port, 5999);
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  // Outside the scenario's steps: refused, and the job still waits.
  EXPECT_EQ(paused.Resume("j1", 4, "alice").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(paused.Resume("j1", -1, "alice").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(paused.Resume("nope", 0, "alice").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(paused.Resume("j1", 0, "alice").ok());

  absl::StatusOr<ResumeDecision> decision = held.get();
  ASSERT_TRUE(decision.ok()) << decision.status();
  EXPECT_EQ(decision->from_step, 0);
  EXPECT_THAT(decision->text, HasSubstr("resumed from step 1 by alice"));
  EXPECT_THAT(decision->text, HasSubstr("the verdict stays the failure of step 2"));
  // Let go: nothing is held any more.
  EXPECT_TRUE(paused.List().empty());
  EXPECT_EQ(paused.Find("j1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(paused.Abort("j1", "alice").code(), absl::StatusCode::kNotFound);
}

TEST(AgentJobsTest, AnAbortEndsTheHold) {
  AgentJobs paused;
  auto held =
      std::async(std::launch::async, [&] { return paused.Hold(JobNamed("j2"), {}, nullptr); });
  ASSERT_TRUE(AwaitHeld(paused, "j2"));
  ASSERT_TRUE(paused.Abort("j2", "bob").ok());
  absl::StatusOr<ResumeDecision> decision = held.get();
  ASSERT_TRUE(decision.ok());
  EXPECT_EQ(decision->from_step, -1);
  EXPECT_EQ(decision->text, "aborted by bob");
}

TEST(AgentJobsTest, ACancelledJobStopsWaiting) {
  AgentJobs paused;
  CancelToken cancel;
  auto held =
      std::async(std::launch::async, [&] { return paused.Hold(JobNamed("j3"), {}, &cancel); });
  ASSERT_TRUE(AwaitHeld(paused, "j3"));
  cancel.Cancel("cancelled by a user");
  absl::StatusOr<ResumeDecision> decision = held.get();
  EXPECT_EQ(decision.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(decision.status().message(), HasSubstr("cancelled by a user"));
  EXPECT_TRUE(paused.List().empty());
}

TEST(AgentJobsTest, ARunsSwitchWinsOverTheJobsOwnWish) {
  AgentJobs paused;
  EXPECT_TRUE(paused.Wanted("run-1", true));
  EXPECT_FALSE(paused.Wanted("run-1", false));
  paused.SetRunSwitch("run-1", false);
  EXPECT_FALSE(paused.Wanted("run-1", true));
  paused.SetRunSwitch("run-1", true);
  EXPECT_TRUE(paused.Wanted("run-1", false));
  EXPECT_FALSE(paused.Wanted("run-2", false));  // another run keeps its own
  // Bounded: the oldest switch goes first.
  for (size_t i = 0; i < AgentJobs::kMaxRunSwitches; ++i) {
    paused.SetRunSwitch("other-" + std::to_string(i), true);
  }
  EXPECT_FALSE(paused.Wanted("run-1", false));
  EXPECT_TRUE(paused.Wanted("other-0", false));
}

}  // namespace
}  // namespace mosdat

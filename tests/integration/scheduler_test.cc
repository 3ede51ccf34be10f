// The scheduler's rules (coordinator/scheduler.h), each shown with the smallest queue
// that breaks it.
#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

namespace mosdat::testing {
namespace {

JobResources Local(const std::string& vm) { return {.vm = vm}; }

JobResources Pve(const std::string& vm, int vmid, const std::string& host = "pve1:8006",
                 int limit = 0, const std::string& gpu = "") {
  return {.vm = vm,
          .vm_key = host + "/" + std::to_string(vmid),
          .host_key = host,
          .host_limit = limit,
          .gpu_key = gpu.empty() ? "" : host + "/" + gpu};
}

QueuedJob Queued(const std::string& id, const std::string& run, int index, JobResources r,
                 absl::Time created = absl::UnixEpoch()) {
  return {.job_id = id, .run_id = run, .run_created = created, .index = index, .resources = r};
}

TEST(SchedulerTest, AnAgentRunsOnlyVmsItDrivesWithinItsCapacity) {
  AgentSlots agent{.id = "a", .vms = {"fedora", "ubuntu"}, .capacity = 2};
  EXPECT_FALSE(CanRun(agent, Local("windows"), {}));
  EXPECT_TRUE(CanRun(agent, Local("fedora"), {}));
  std::vector<RunningJob> running = {{.agent = "a", .resources = Local("fedora")},
                                     {.agent = "a", .resources = Local("ubuntu")}};
  AgentSlots three = agent;
  three.vms.push_back("debian");
  EXPECT_FALSE(CanRun(three, Local("debian"), running)) << "both slots are taken";
  three.capacity = 3;
  EXPECT_TRUE(CanRun(three, Local("debian"), running));
}

TEST(SchedulerTest, ALocalVmIsEachAgentsOwnAProxmoxVmIsOneMachine) {
  AgentSlots a{.id = "a", .vms = {"local", "fedora"}, .capacity = 4};
  AgentSlots b{.id = "b", .vms = {"local", "fedora"}, .capacity = 4};
  std::vector<RunningJob> running = {{.agent = "a", .resources = Local("local")},
                                     {.agent = "a", .resources = Pve("fedora", 101)}};
  EXPECT_FALSE(CanRun(a, Local("local"), running)) << "a's own desktop is busy";
  EXPECT_TRUE(CanRun(b, Local("local"), running)) << "b has a desktop of its own";
  EXPECT_FALSE(CanRun(b, Pve("fedora", 101), running)) << "the same VM, whoever drives it";
  EXPECT_TRUE(CanRun(b, Pve("fedora", 102), {{.agent = "a", .resources = Pve("fedora", 101)}}));
}

TEST(SchedulerTest, AProxmoxHostRunsAtMostItsLimit) {
  AgentSlots agent{.id = "a", .vms = {"f", "u", "w"}, .capacity = 8};
  std::vector<RunningJob> running = {{.agent = "a", .resources = Pve("f", 101, "pve1:8006", 2)},
                                     {.agent = "a", .resources = Pve("u", 102, "pve1:8006", 2)}};
  EXPECT_FALSE(CanRun(agent, Pve("w", 103, "pve1:8006", 2), running));
  EXPECT_TRUE(CanRun(agent, Pve("w", 103, "pve2:8006", 2), running)) << "another host";
  EXPECT_TRUE(CanRun(agent, Pve("w", 103, "pve1:8006", 0), running)) << "no limit";
}

TEST(SchedulerTest, APassthroughGpuIsExclusive) {
  AgentSlots agent{.id = "a", .vms = {"f", "u"}, .capacity = 8};
  std::vector<RunningJob> running = {
      {.agent = "b", .resources = Pve("f", 101, "pve1:8006", 0, "rtx")}};
  EXPECT_FALSE(CanRun(agent, Pve("u", 102, "pve1:8006", 0, "rtx"), running));
  EXPECT_TRUE(CanRun(agent, Pve("u", 102, "pve1:8006", 0, ""), running)) << "no GPU needed";
  EXPECT_TRUE(CanRun(agent, Pve("u", 102, "pve1:8006", 0, "other"), running));
}

TEST(SchedulerTest, FairShareLetsASmallLaterRunAheadOfABigOne) {
  AgentSlots agent{.id = "a", .vms = {"v1", "v2", "v3", "v4"}, .capacity = 4};
  const absl::Time early = absl::FromUnixSeconds(100), late = absl::FromUnixSeconds(200);
  std::vector<QueuedJob> queued = {Queued("big-3", "big", 3, Local("v3"), early),
                                   Queued("big-4", "big", 4, Local("v4"), early),
                                   Queued("small-1", "small", 1, Local("v4"), late)};
  std::vector<RunningJob> running = {{.agent = "a", .run_id = "big", .resources = Local("v1")},
                                     {.agent = "a", .run_id = "big", .resources = Local("v2")}};
  std::optional<size_t> pick = PickJob(queued, running, agent);
  ASSERT_TRUE(pick.has_value());
  EXPECT_EQ(queued[*pick].job_id, "small-1") << "the run with nothing running goes first";
  // With equal shares, the older run and then the earlier job.
  pick = PickJob(queued, {}, agent);
  ASSERT_TRUE(pick.has_value());
  EXPECT_EQ(queued[*pick].job_id, "big-3");
}

TEST(SchedulerTest, NothingFitsNothingIsPicked) {
  AgentSlots agent{.id = "a", .vms = {"v1"}, .capacity = 1};
  EXPECT_FALSE(PickJob({Queued("x", "r", 1, Local("v2"))}, {}, agent).has_value());
  EXPECT_FALSE(PickJob({}, {}, agent).has_value());
}

}  // namespace
}  // namespace mosdat::testing

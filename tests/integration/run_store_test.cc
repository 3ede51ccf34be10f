// The coordinator's RunStore on a real file system: jobs recorded concurrently (each
// job's disk writes run under its own lock) keep every event, in order, with its
// screenshot; bad sequences and unknown jobs are refused; an abandoned job ends as an
// infrastructure error and takes no more events.
#include "coordinator/run_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

std::vector<JobSpec> Specs(int count) {
  std::vector<JobSpec> specs;
  for (int i = 0; i < count; ++i) {
    JobSpec spec;
    spec.test = "t";
    spec.vm.name = absl::StrCat("vm", i);
    specs.push_back(spec);
  }
  return specs;
}

Event StepEvent(const std::string& job_id, uint64_t seq) {
  Event event = Event::Of(seq % 3 == 0 ? EventType::kScreenshot : EventType::kLog);
  event.job_id = job_id;
  event.seq = seq;
  if (event.type == EventType::kScreenshot) {
    event.screenshot = absl::StrCat(seq, ".png");
    event.png = std::string(64 * 1024, static_cast<char>(seq));
  } else {
    event.level = "info";
    event.text = absl::StrCat("event ", seq);
  }
  return event;
}

TEST(RunStoreTest, ConcurrentJobsKeepEveryEventInOrderWithTheirScreenshots) {
  TempDir dir;
  RunStore store(dir.path());
  constexpr int kJobs = 4, kEvents = 60;
  absl::StatusOr<RunStatus> run = store.CreateRun(Specs(kJobs), "label");
  ASSERT_TRUE(run.ok()) << run.status();
  std::vector<std::string> job_ids;
  for (int i = 0; i < kJobs; ++i) {
    std::optional<JobSpec> leased = store.Lease("agent", {absl::StrCat("vm", i)}, absl::Seconds(1));
    ASSERT_TRUE(leased.has_value());
    job_ids.push_back(leased->job_id);
  }

  std::vector<std::thread> agents;
  std::vector<absl::Status> failures(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    agents.emplace_back([&, i] {
      for (uint64_t seq = 1; seq <= kEvents; ++seq) {
        absl::Status s = store.Record(StepEvent(job_ids[i], seq));
        if (!s.ok()) {
          failures[i] = s;
          return;
        }
      }
      Event finished = Event::Of(EventType::kJobFinished);
      finished.job_id = job_ids[i];
      finished.seq = kEvents + 1;
      finished.verdict = i == 2 ? JobVerdict::kFail : JobVerdict::kPass;
      failures[i] = store.Record(finished);
    });
  }
  for (std::thread& agent : agents) agent.join();
  for (const absl::Status& s : failures) EXPECT_TRUE(s.ok()) << s;

  absl::StatusOr<RunStatus> done = store.GetRun(run->run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kFail);  // the worst job's
  for (const JobStatus& job : done->jobs) {
    absl::StatusOr<std::vector<Event>> events = ReadEventLog(job.results_dir + "/events.jsonl");
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), static_cast<size_t>(kEvents + 1));
    for (size_t i = 0; i < events->size(); ++i) {
      EXPECT_EQ((*events)[i].seq, i + 1);
      EXPECT_EQ((*events)[i].job_id, job.spec.job_id);
    }
    EXPECT_EQ(ReadFileOrEmpty(job.results_dir + "/3.png"), std::string(64 * 1024, '\3'));
    EXPECT_THAT(ReadFileOrEmpty(job.results_dir + "/junit.xml"), HasSubstr("<testsuite"));
  }
}

TEST(RunStoreTest, RefusesUnknownJobsOutOfOrderEventsAndUnsafeFileNames) {
  TempDir dir;
  RunStore store(dir.path());
  ASSERT_TRUE(store.CreateRun(Specs(1), "").ok());
  std::optional<JobSpec> job = store.Lease("agent", {"vm0"}, absl::Seconds(1));
  ASSERT_TRUE(job.has_value());

  EXPECT_EQ(store.Record(StepEvent("nope", 1)).code(), absl::StatusCode::kNotFound);
  absl::Status skipped = store.Record(StepEvent(job->job_id, 2));
  EXPECT_EQ(skipped.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(skipped.message(), HasSubstr("event 2 after 0 (out of order)"));
  Event escape = StepEvent(job->job_id, 3);
  escape.seq = 1;
  escape.screenshot = "../../escape.png";
  EXPECT_EQ(store.Record(escape).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.Record(StepEvent(job->job_id, 1)).ok());
}

TEST(RunStoreTest, AnAbandonedJobIsAnErrorAndTakesNoMoreEvents) {
  TempDir dir;
  RunStore store(dir.path());
  absl::StatusOr<RunStatus> run = store.CreateRun(Specs(1), "");
  ASSERT_TRUE(run.ok());
  std::optional<JobSpec> job = store.Lease("agent", {"vm0"}, absl::Seconds(1));
  ASSERT_TRUE(job.has_value());
  ASSERT_TRUE(store.Record(StepEvent(job->job_id, 1)).ok());

  store.AbandonJob(job->job_id, "the agent's stream broke");
  EXPECT_EQ(store.Record(StepEvent(job->job_id, 2)).code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<RunStatus> done = store.GetRun(run->run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kError);
  absl::StatusOr<std::vector<Event>> events =
      ReadEventLog(done->jobs.at(0).results_dir + "/events.jsonl");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->back().type, EventType::kJobFinished);
  EXPECT_EQ(events->back().reason, "the agent's stream broke");
}

}  // namespace
}  // namespace mosdat::testing

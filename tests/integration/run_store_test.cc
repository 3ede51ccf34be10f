// The coordinator's RunStore over a real SQLite store on a real file system: events
// recorded concurrently stay in order with their screenshots; bad sequences, foreign
// leases and unsafe names are refused; a lost lease ends the attempt as an
// infrastructure error and the job runs again, while a test failure never does; a
// restart (a new RunStore over the same directory) loses nothing acknowledged and
// stores nothing twice; CancelRun stops queued jobs and asks running ones to stop;
// a finished run leaves memory.
#include "coordinator/run_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator/sqlite_store.h"
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

Event StepEvent(const std::string& job_id, uint64_t seq, int attempt = 1) {
  Event event = Event::Of(seq % 3 == 0 ? EventType::kScreenshot : EventType::kLog);
  event.job_id = job_id;
  event.seq = seq;
  event.job_attempt = attempt;
  if (event.type == EventType::kScreenshot) {
    event.screenshot = absl::StrCat(seq, ".png");
    event.png = std::string(64 * 1024, static_cast<char>(seq));
  } else {
    event.level = "info";
    event.text = absl::StrCat("event ", seq);
  }
  return event;
}

Event Finished(const std::string& job_id, uint64_t seq, JobVerdict verdict, int attempt = 1) {
  Event event = Event::Of(EventType::kJobFinished);
  event.job_id = job_id;
  event.seq = seq;
  event.job_attempt = attempt;
  event.verdict = verdict;
  event.reason = verdict == JobVerdict::kPass ? "" : "it broke";
  return event;
}

AgentSlots Agent(const std::string& id, int vms, int capacity = 8) {
  AgentSlots agent{.id = id, .capacity = capacity};
  for (int i = 0; i < vms; ++i) agent.vms.push_back(absl::StrCat("vm", i));
  return agent;
}

// A state directory and the RunStore over it, which can be closed and opened again as
// a restarted coordinator would.
class Coordinator {
 public:
  explicit Coordinator(int jobs, absl::Duration lease_timeout = absl::Seconds(30))
      : jobs_(jobs), lease_timeout_(lease_timeout) {
    Open();
  }

  void Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore({.dir = dir_.File("state")});
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::unique_ptr<RunStore>> runs = RunStore::Open(
        {.results_root = dir_.File("results"),
         .store = std::shared_ptr<Store>(std::move(*store)),
         .lease_timeout = lease_timeout_,
         .unschedulable_timeout = absl::Seconds(60),
         .expand = [n = jobs_](const Submission&) -> absl::StatusOr<std::vector<JobSpec>> {
           return Specs(n);
         }});
    ASSERT_TRUE(runs.ok()) << runs.status();
    runs_ = std::move(*runs);
  }
  void Restart() {
    runs_.reset();  // closes the store (and its lock) with it
    Open();
  }
  RunStore& operator*() { return *runs_; }
  RunStore* operator->() { return runs_.get(); }
  std::string Path(const std::string& name) { return dir_.File(name); }

  RunRecord Create(int retries = 1) {
    absl::StatusOr<RunRecord> run = runs_->CreateRun(
        Specs(jobs_), Submission{.config_path = "c.toml", .retries = retries}, "label");
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : RunRecord();
  }

 private:
  TempDir dir_;
  int jobs_;
  absl::Duration lease_timeout_;
  std::unique_ptr<RunStore> runs_;
};

std::vector<uint64_t> SeqsIn(const std::string& events_jsonl) {
  absl::StatusOr<std::vector<Event>> events = ReadEventLog(events_jsonl);
  std::vector<uint64_t> seqs;
  if (events.ok()) {
    for (const Event& e : *events) seqs.push_back(e.seq);
  }
  return seqs;
}

TEST(RunStoreTest, ConcurrentJobsKeepEveryEventInOrderWithTheirScreenshots) {
  constexpr int kJobs = 4, kEvents = 60;
  Coordinator c(kJobs);
  RunRecord run = c.Create();
  std::vector<RunStore::Lease> leases;
  for (int i = 0; i < kJobs; ++i) {
    std::optional<RunStore::Lease> lease = c->LeaseJob(Agent("agent", kJobs), absl::Seconds(1));
    ASSERT_TRUE(lease.has_value());
    leases.push_back(*lease);
  }
  std::vector<std::thread> agents;
  std::vector<absl::Status> failures(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    agents.emplace_back([&, i] {
      const RunStore::Lease& lease = leases[i];
      for (uint64_t seq = 1; seq <= kEvents; ++seq) {
        absl::Status s = c->Record(StepEvent(lease.spec.job_id, seq), lease.lease_id);
        if (!s.ok()) {
          failures[i] = s;
          return;
        }
      }
      failures[i] = c->Record(
          Finished(lease.spec.job_id, kEvents + 1, i == 2 ? JobVerdict::kFail : JobVerdict::kPass),
          lease.lease_id);
    });
  }
  for (std::thread& agent : agents) agent.join();
  for (const absl::Status& s : failures) EXPECT_TRUE(s.ok()) << s;

  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kFail);  // the worst job's
  for (const JobRecord& job : done->jobs) {
    std::vector<uint64_t> seqs = SeqsIn(job.results_dir + "/events.jsonl");
    ASSERT_EQ(seqs.size(), static_cast<size_t>(kEvents + 1));
    for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
    EXPECT_EQ(ReadFileOrEmpty(job.results_dir + "/3.png"), std::string(64 * 1024, '\3'));
    EXPECT_THAT(ReadFileOrEmpty(job.results_dir + "/junit.xml"), HasSubstr("<testsuite"));
  }
  // Watchers see every update once, in order, ending with the run.
  absl::StatusOr<std::vector<StoredUpdate>> updates = c->Updates(run.run_id, 0, absl::Seconds(1));
  ASSERT_TRUE(updates.ok());
  uint64_t expected = 0;
  int events = 0;
  for (const StoredUpdate& u : *updates) {
    EXPECT_EQ(u.seq, ++expected);
    if (u.event) ++events;
  }
  EXPECT_EQ(events, kJobs * (kEvents + 1));
  EXPECT_EQ(updates->back().kind, StoredUpdate::Kind::kRun);
  EXPECT_EQ(c->Counts().running + c->Counts().queued, 0) << "a finished run leaves memory";
}

TEST(RunStoreTest, RefusesForeignLeasesOutOfOrderEventsAndUnsafeFileNames) {
  Coordinator c(1);
  c.Create();
  std::optional<RunStore::Lease> lease = c->LeaseJob(Agent("agent", 1), absl::Seconds(1));
  ASSERT_TRUE(lease.has_value());
  const std::string& id = lease->spec.job_id;

  EXPECT_EQ(c->Record(StepEvent("nope-1", 1), lease->lease_id).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::Status forged = c->Record(StepEvent(id, 1), "a-guessed-lease");
  EXPECT_EQ(forged.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(forged.message(), HasSubstr("not leased to the sender"));
  EXPECT_EQ(c->Record(StepEvent(id, 1, /*attempt=*/2), lease->lease_id).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::Status skipped = c->Record(StepEvent(id, 2), lease->lease_id);
  EXPECT_EQ(skipped.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(skipped.message(), HasSubstr("event 2 after 0 (out of order)"));
  Event escape = StepEvent(id, 3);
  escape.seq = 1;
  escape.screenshot = "../../escape.png";
  EXPECT_EQ(c->Record(escape, lease->lease_id).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(c->Record(StepEvent(id, 1), lease->lease_id).ok());
  EXPECT_TRUE(c->Record(StepEvent(id, 1), lease->lease_id).ok()) << "a re-sent event is OK";
  const std::string dir = c->GetRun(lease->spec.run_id)->jobs[0].results_dir;
  EXPECT_THAT(SeqsIn(dir + "/events.jsonl"), ::testing::ElementsAre(1u)) << "and stored once";
}

// Events sent before their acks were read arrive together: RecordAll stores the
// acceptable prefix in one write and says where it stopped and why.
TEST(RunStoreTest, ABatchOfEventsStoresItsAcceptablePrefixAndSaysWhyItStopped) {
  Coordinator c(1);
  RunRecord run = c.Create();
  std::optional<RunStore::Lease> lease = c->LeaseJob(Agent("agent", 1), absl::Seconds(1));
  ASSERT_TRUE(lease.has_value());
  const std::string& id = lease->spec.job_id;
  const std::string dir = c->GetRun(run.run_id)->jobs[0].results_dir;
  size_t recorded = 99;

  // 1..4 stored; 6 skips 5: refused, the four before it stay stored.
  std::vector<Event> gap = {StepEvent(id, 1), StepEvent(id, 2), StepEvent(id, 3),
                            StepEvent(id, 4), StepEvent(id, 6), StepEvent(id, 7)};
  absl::Status s = c->RecordAll(gap, lease->lease_id, &recorded);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("event 6 after 4 (out of order)"));
  EXPECT_EQ(recorded, 4u);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/3.png"), std::string(64 * 1024, '\3'));

  // Re-sent events (3, 4: their acks were lost) count as stored and are stored once.
  std::vector<Event> resent = {StepEvent(id, 3), StepEvent(id, 4), StepEvent(id, 5)};
  EXPECT_TRUE(c->RecordAll(resent, lease->lease_id, &recorded).ok());
  EXPECT_EQ(recorded, 3u);

  // An unsafe screenshot name stops the batch where it is.
  Event escape = StepEvent(id, 7);
  escape.type = EventType::kScreenshot;
  escape.screenshot = "../escape.png";
  std::vector<Event> unsafe = {StepEvent(id, 6), escape};
  EXPECT_EQ(c->RecordAll(unsafe, lease->lease_id, &recorded).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(recorded, 1u);

  // A foreign lease stores nothing.
  std::vector<Event> forged = {StepEvent(id, 7)};
  EXPECT_EQ(c->RecordAll(forged, "a-guessed-lease", &recorded).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(recorded, 0u);

  // job_finished ends the job inside a batch; what follows it is refused.
  std::vector<Event> finishing = {StepEvent(id, 7), Finished(id, 8, JobVerdict::kPass),
                                  StepEvent(id, 9)};
  bool finished = false;
  s = c->RecordAll(finishing, lease->lease_id, &recorded, &finished);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(recorded, 2u);
  EXPECT_TRUE(finished);

  EXPECT_EQ(SeqsIn(dir + "/events.jsonl"), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  absl::StatusOr<std::vector<StoredUpdate>> updates = c->Updates(run.run_id, 0, absl::Seconds(1));
  ASSERT_TRUE(updates.ok());
  std::vector<uint64_t> stored;
  for (const StoredUpdate& u : *updates) {
    if (u.event) stored.push_back(u.event->seq);
  }
  EXPECT_EQ(stored, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8})) << "each once, in order";
  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kPass);
}

TEST(RunStoreTest, ALostLeaseEndsTheAttemptAndTheJobRunsAgainElsewhere) {
  Coordinator c(1, absl::Seconds(5));
  RunRecord run = c.Create(/*retries=*/1);
  std::optional<RunStore::Lease> first = c->LeaseJob(Agent("a", 1), absl::Seconds(1));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(c->Record(StepEvent(first->spec.job_id, 1), first->lease_id).ok());
  EXPECT_EQ(c->ExpireLeases(absl::Now(), nullptr), 0) << "renewed just now";
  EXPECT_EQ(c->ExpireLeases(absl::Now() + absl::Seconds(6), nullptr), 1);

  // The old holder is refused; another agent gets attempt 2.
  EXPECT_EQ(c->Record(StepEvent(first->spec.job_id, 2), first->lease_id).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->Renew("a", {first->spec.job_id}).lost, std::vector<std::string>{first->spec.job_id});
  std::optional<RunStore::Lease> second = c->LeaseJob(Agent("b", 1), absl::Seconds(1));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->attempt, 2);
  EXPECT_NE(second->lease_id, first->lease_id);
  ASSERT_TRUE(c->Record(StepEvent(second->spec.job_id, 1, 2), second->lease_id).ok());
  ASSERT_TRUE(
      c->Record(Finished(second->spec.job_id, 2, JobVerdict::kPass, 2), second->lease_id).ok());

  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kPass);
  const JobRecord& job = done->jobs.at(0);
  ASSERT_EQ(job.attempts.size(), 2u);
  EXPECT_EQ(job.attempts[0].verdict, JobVerdict::kError);
  EXPECT_THAT(job.attempts[0].reason, HasSubstr("lease lost: agent \"a\""));
  EXPECT_EQ(job.attempts[1].agent, "b");
  EXPECT_EQ(SeqsIn(job.results_dir + "/events.jsonl"), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(SeqsIn(job.results_dir + "/attempt-2/events.jsonl"), (std::vector<uint64_t>{1, 2}));
  const std::string junit = ReadFileOrEmpty(job.results_dir + "/junit.xml");
  EXPECT_THAT(junit, HasSubstr("t on vm0 (attempt 1 of 2)"));
  EXPECT_THAT(junit, HasSubstr("t on vm0 (attempt 2 of 2)"));
  EXPECT_EQ(c->Counts().retries, 1);
  EXPECT_EQ(c->Counts().lease_expiries, 1);
}

TEST(RunStoreTest, ATestFailureIsNeverRetriedAndRetriesAreBounded) {
  Coordinator c(2, absl::Seconds(5));
  RunRecord run = c.Create(/*retries=*/1);
  AgentSlots agent = Agent("a", 2);
  std::optional<RunStore::Lease> failing = c->LeaseJob(agent, absl::Seconds(1));
  std::optional<RunStore::Lease> broken = c->LeaseJob(agent, absl::Seconds(1));
  ASSERT_TRUE(failing && broken);
  ASSERT_TRUE(
      c->Record(Finished(failing->spec.job_id, 1, JobVerdict::kFail), failing->lease_id).ok());
  ASSERT_TRUE(
      c->Record(Finished(broken->spec.job_id, 1, JobVerdict::kError), broken->lease_id).ok());
  std::optional<RunStore::Lease> again = c->LeaseJob(agent, absl::Seconds(1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->spec.job_id, broken->spec.job_id) << "only the infrastructure error runs again";
  ASSERT_TRUE(
      c->Record(Finished(again->spec.job_id, 1, JobVerdict::kError, 2), again->lease_id).ok());
  EXPECT_FALSE(c->LeaseJob(agent, absl::Milliseconds(50)).has_value()) << "no third attempt";

  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kError);
  EXPECT_EQ(done->jobs[0].attempts.size(), 1u);
  EXPECT_EQ(done->jobs[0].verdict, JobVerdict::kFail);
  EXPECT_EQ(done->jobs[1].attempts.size(), 2u);
}

TEST(RunStoreTest, ARestartLosesNothingAcknowledgedAndStoresNothingTwice) {
  Coordinator c(2);
  RunRecord run = c.Create();
  std::optional<RunStore::Lease> lease = c->LeaseJob(Agent("a", 1), absl::Seconds(1));
  ASSERT_TRUE(lease.has_value());
  const std::string id = lease->spec.job_id;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(c->Record(StepEvent(id, seq), lease->lease_id).ok());
  }
  const std::string events_jsonl = c->GetRun(run.run_id)->jobs[0].results_dir + "/events.jsonl";
  // A line that was written but never acknowledged (the process died before the store
  // committed it) must not survive the restart.
  {
    std::ofstream torn(events_jsonl, std::ios::app);
    torn << "{\"job\":\"" << id << "\",\"seq\":4,\"time_ms\":0,\"type\":\"log\"}\n";
  }
  c.Restart();

  EXPECT_EQ(SeqsIn(events_jsonl), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(c->Reclaim("a", {{id, lease->lease_id}}).empty()) << "the lease survived";
  EXPECT_TRUE(c->Record(StepEvent(id, 3), lease->lease_id).ok()) << "re-sent, unacknowledged";
  ASSERT_TRUE(c->Record(StepEvent(id, 4), lease->lease_id).ok());
  ASSERT_TRUE(c->Record(Finished(id, 5, JobVerdict::kPass), lease->lease_id).ok());
  // The job that was still queued is still queued.
  std::optional<RunStore::Lease> queued = c->LeaseJob(Agent("a", 2), absl::Seconds(1));
  ASSERT_TRUE(queued.has_value());
  EXPECT_NE(queued->spec.job_id, id);
  ASSERT_TRUE(
      c->Record(Finished(queued->spec.job_id, 1, JobVerdict::kPass), queued->lease_id).ok());

  EXPECT_EQ(SeqsIn(events_jsonl), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kPass);
  // A job_finished re-sent after the run finished (its ack was lost) is acknowledged.
  EXPECT_TRUE(c->Record(Finished(id, 5, JobVerdict::kPass), lease->lease_id).ok());
  c.Restart();
  absl::StatusOr<std::vector<RunRecord>> history = c->ListRuns(10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).run_id, run.run_id);
}

TEST(RunStoreTest, ALeaseNobodyReclaimsAfterARestartExpiresAndIsRetried) {
  Coordinator c(1, absl::Seconds(5));
  RunRecord run = c.Create();
  std::optional<RunStore::Lease> lease = c->LeaseJob(Agent("a", 1), absl::Seconds(1));
  ASSERT_TRUE(lease.has_value());
  c.Restart();
  EXPECT_EQ(c->ExpireLeases(absl::Now() + absl::Seconds(6), nullptr), 1);
  std::optional<RunStore::Lease> again = c->LeaseJob(Agent("b", 1), absl::Seconds(1));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempt, 2);
  EXPECT_EQ(c->Reclaim("a", {{lease->spec.job_id, lease->lease_id}}),
            std::vector<std::string>{lease->spec.job_id});
}

TEST(RunStoreTest, CancelDropsQueuedJobsAndStopsRunningOnes) {
  Coordinator c(3);
  RunRecord run = c.Create();
  std::optional<RunStore::Lease> running = c->LeaseJob(Agent("a", 1), absl::Seconds(1));
  ASSERT_TRUE(running.has_value());
  absl::StatusOr<RunStore::Cancelled> cancelled = c->Cancel(run.run_id, "cancelled by a user");
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->queued, 2);
  EXPECT_EQ(cancelled->stopping, 1);
  EXPECT_FALSE(c->LeaseJob(Agent("a", 3), absl::Milliseconds(50)).has_value());
  EXPECT_EQ(c->Renew("a", {running->spec.job_id}).cancel,
            std::vector<std::string>{running->spec.job_id});
  // The agent stops at its next step, runs cleanup, and finishes as an error; no retry.
  ASSERT_TRUE(
      c->Record(Finished(running->spec.job_id, 1, JobVerdict::kError), running->lease_id).ok());
  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_TRUE(done->cancelled);
  for (const JobRecord& job : done->jobs) EXPECT_EQ(job.state, JobState::kCancelled);
  EXPECT_EQ(c->Cancel("no-such-run", "x").status().code(), absl::StatusCode::kNotFound);
}

TEST(RunStoreTest, AJobNoLiveAgentCanRunEndsAsAnInfrastructureError) {
  Coordinator c(1);
  RunRecord run = c.Create();
  c->ExpireLeases(absl::Now() + absl::Seconds(61), [](const std::string&) { return true; });
  EXPECT_FALSE(c->GetRun(run.run_id)->done) << "an agent could still take it";
  c->ExpireLeases(absl::Now() + absl::Seconds(61), [](const std::string&) { return false; });
  absl::StatusOr<RunRecord> done = c->GetRun(run.run_id);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->done);
  EXPECT_EQ(done->verdict, JobVerdict::kError);
  EXPECT_THAT(done->jobs[0].reason, HasSubstr("no live agent drives VM \"vm0\""));
}

TEST(SqliteStoreTest, OneCoordinatorPerDirectoryAndReadersSeeItsCommits) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore({.dir = dir.File("s")});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::unique_ptr<Store>> second = OpenSqliteStore({.dir = dir.File("s")});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another coordinator"));
  absl::StatusOr<std::unique_ptr<Store>> reader =
      OpenSqliteStore({.dir = dir.File("s"), .read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status();
  RunRecord run{.run_id = "r1", .label = "l", .created = absl::Now()};
  run.jobs.push_back({.job_id = "r1-1", .run_id = "r1", .index = 1, .test = "t", .vm = "v"});
  ASSERT_TRUE((*store)->Write({.new_run = std::make_pair(run, Submission{})}).ok());
  // Many writers at once share commits and each gets a distinct, gapless seq.
  std::vector<std::thread> writers;
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&, i] {
      for (int n = 1; n <= 50; ++n) {
        Event e = Event::Of(EventType::kLog);
        e.job_id = "r1-1";
        e.job_attempt = i + 1;
        e.seq = n;
        ASSERT_TRUE((*store)
                        ->Write({.updates = {{.run_id = "r1",
                                              .kind = StoredUpdate::Kind::kEvent,
                                              .job_id = "r1-1",
                                              .event = e}}})
                        .ok());
      }
    });
  }
  for (std::thread& w : writers) w.join();
  absl::StatusOr<std::vector<StoredUpdate>> updates = (*reader)->UpdatesAfter("r1", 0, 1000);
  ASSERT_TRUE(updates.ok());
  ASSERT_EQ(updates->size(), 400u);
  for (size_t i = 0; i < updates->size(); ++i) EXPECT_EQ((*updates)[i].seq, i + 1);
  EXPECT_EQ((*reader)->Write({}).code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::unique_ptr<Store>> missing =
      OpenSqliteStore({.dir = dir.File("none"), .read_only = true});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mosdat::testing

// The report pages read evidence back from disk (untrusted) and render it: the trace
// viewer shows each step with its frames, pointer inputs and candidates, escapes what
// it shows, inlines frames only when asked and within bounds, and ignores screenshot
// names that leave the directory; the dashboard counts pass rates, flaky tests on the
// same inputs and infrastructure errors per agent, and links each job's evidence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/events.h"
#include "core/file_util.h"
#include "core/frame.h"
#include "report/dashboard_site.h"
#include "report/trace_html.h"
#include "tests/unit/temp_dir.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string SolidPng(int width, int height, uint8_t value) {
  Frame frame{.width = width, .height = height};
  frame.rgb.assign(static_cast<size_t>(width) * height * 3, value);
  absl::StatusOr<std::string> png = EncodePng(frame);
  EXPECT_TRUE(png.ok());
  return png.ok() ? *png : "";
}

// Writes one attempt's evidence as the coordinator does: events.jsonl and PNGs.
class JobWriter {
 public:
  explicit JobWriter(const std::string& dir) : dir_(dir) {
    fs::create_directories(dir);
    absl::StatusOr<EventLog> log = EventLog::Open(dir + "/events.jsonl");
    EXPECT_TRUE(log.ok());
    log_.emplace(std::move(*log));
  }
  void Add(Event event) {
    event.job_id = "run-1";
    event.seq = ++seq_;
    event.unix_ms = 1700000000000 + 1000 * static_cast<int64_t>(seq_);
    EXPECT_TRUE(log_->Append(event).ok());
  }
  void Shot(const std::string& name, int step) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << SolidPng(64, 48, 40);
    Event shot = Event::Of(EventType::kScreenshot);
    shot.screenshot = name;
    shot.step_index = step;
    shot.why = "step";
    Add(shot);
  }
  void Start(const std::string& vm, const std::string& scenario) {
    Event started = Event::Of(EventType::kJobStarted);
    started.vm = vm;
    started.scenario = scenario;
    Add(started);
  }
  void Step(int index, const std::string& kind, const std::string& label, StepStatus status,
            const std::string& screenshot, std::vector<PointerInput> pointer = {},
            std::vector<LocatorCandidate> candidates = {}) {
    Event started = Event::Of(EventType::kStepStarted);
    started.step_index = index;
    started.step_kind = kind;
    started.label = label;
    started.attempt = 1;
    Add(started);
    if (!screenshot.empty()) {
      std::ofstream(dir_ + "/" + screenshot, std::ios::binary) << SolidPng(64, 48, 200);
    }
    Event finished = started;
    finished.type = EventType::kStepFinished;
    finished.status = status;
    finished.duration_seconds = 0.5;
    finished.screenshot = screenshot;
    finished.pointer = std::move(pointer);
    finished.candidates = std::move(candidates);
    if (status != StepStatus::kPassed) finished.reason = "the check mark did not appear";
    Add(finished);
    if (!screenshot.empty()) {
      Event shot = Event::Of(EventType::kScreenshot);
      shot.screenshot = screenshot;
      shot.step_index = index;
      Add(shot);
    }
  }
  void Finish(JobVerdict verdict) {
    Event finished = Event::Of(EventType::kJobFinished);
    finished.verdict = verdict;
    finished.reason = verdict == JobVerdict::kPass ? "" : "step 2 failed";
    Add(finished);
  }

 private:
  std::string dir_;
  std::optional<EventLog> log_;
  uint64_t seq_ = 0;
};

TEST(TraceHtmlTest, EachStepShowsItsFramesPointerAndCandidates) {
  TempDir dir;
  JobWriter job(dir.path());
  job.Start("local", "widgets");
  job.Shot("001-start.png", -1);
  job.Step(0, "click", "tick <the> box", StepStatus::kPassed, "002-step01-step.png",
           {{"click", 27, 40}});
  job.Step(1, "atspi", "press OK", StepStatus::kFailed, "003-step02-failure.png", {},
           {{"atspi", 5, 6, 30, 12, 0.9, "push button \"OK\""}});
  job.Finish(JobVerdict::kFail);

  absl::StatusOr<JobEvidence> evidence = ReadJobEvidence(dir.path());
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  ASSERT_EQ(evidence->steps.size(), 2u);
  // The frame before a step is the newest one taken before it started.
  EXPECT_EQ(evidence->steps[0].before, "001-start.png");
  EXPECT_EQ(evidence->steps[0].after, "002-step01-step.png");
  EXPECT_EQ(evidence->steps[1].before, "002-step01-step.png");
  EXPECT_EQ(evidence->steps[1].after, "003-step02-failure.png");
  EXPECT_EQ(VerdictWord(*evidence), "fail");

  const std::string html = TraceHtml(*evidence);
  EXPECT_THAT(html, HasSubstr("widgets on local"));
  EXPECT_THAT(html, HasSubstr("tick &lt;the&gt; box"));
  EXPECT_THAT(html, Not(HasSubstr("<the>")));
  EXPECT_THAT(html, HasSubstr("click at 27, 40"));  // the pointer, drawn
  EXPECT_THAT(html, HasSubstr("<rect x=\"5\" y=\"6\" width=\"30\" height=\"12\""));  // candidate
  EXPECT_THAT(html, HasSubstr("push button &quot;OK&quot;"));
  EXPECT_THAT(html, HasSubstr("the check mark did not appear"));
  EXPECT_THAT(html, HasSubstr("viewBox=\"0 0 64 48\""));  // the PNG's own size
  // Linked by name by default; inside the page when asked.
  EXPECT_THAT(html, HasSubstr("href=\"002-step01-step.png\""));
  EXPECT_THAT(html, Not(HasSubstr("data:image/png")));
  const std::string standalone = TraceHtml(*evidence, {.inline_images = true});
  EXPECT_THAT(standalone, HasSubstr("data:image/png;base64,"));
  EXPECT_THAT(standalone, Not(HasSubstr("href=\"002-step01-step.png\"")));
  // Within the bound only: past it, frames are linked again.
  const std::string bounded = TraceHtml(*evidence, {.inline_images = true, .max_inline_bytes = 1});
  EXPECT_THAT(bounded, Not(HasSubstr("data:image/png")));

  ASSERT_TRUE(WriteTraceHtml(dir.path(), dir.File("trace.html")).ok());
  EXPECT_THAT(ReadFileOrEmpty(dir.File("trace.html")), HasSubstr("<!doctype html>"));
}

TEST(TraceHtmlTest, HostileEvidenceIsLeftOutAndSaid) {
  TempDir dir;
  fs::create_directories(dir.File("job"));
  const std::string outside = dir.File("secret.png");
  std::ofstream(outside) << SolidPng(8, 8, 1);
  {
    JobWriter job(dir.File("job"));
    job.Start("local", "s");
    job.Step(0, "click", "x", StepStatus::kPassed, "");
  }
  // A screenshot event naming a file outside the directory, and a torn line.
  std::ofstream(dir.File("job/events.jsonl"), std::ios::app)
      << R"({"job":"run-1","seq":9,"time_ms":1,"type":"screenshot","step":0,"file":"../secret.png","why":"step"})"
      << "\n{\"job\":\"run-1\",\"se\n";
  absl::StatusOr<JobEvidence> evidence = ReadJobEvidence(dir.File("job"));
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  EXPECT_TRUE(evidence->screenshots.empty());
  ASSERT_EQ(evidence->skipped.size(), 1u);
  const std::string html = TraceHtml(*evidence, {.inline_images = true});
  EXPECT_THAT(html, Not(HasSubstr("secret.png")));
  EXPECT_THAT(html, HasSubstr("left out"));
  EXPECT_EQ(VerdictWord(*evidence), "running");

  EXPECT_EQ(ReadJobEvidence(dir.path()).status().code(), absl::StatusCode::kNotFound);
}

// One job of a run in a results tree, with job.json as the coordinator writes it.
void WriteJob(const std::string& root, const std::string& run, const std::string& vm,
              const std::string& inputs, JobVerdict verdict, const std::string& agent) {
  const std::string dir = root + "/functional/" + run + "/" + vm;
  JobWriter job(dir);
  job.Start(vm, "widgets");
  job.Step(0, "click", "tick",
           verdict == JobVerdict::kPass ? StepStatus::kPassed : StepStatus::kFailed, "");
  job.Finish(verdict);
  std::ofstream(dir + "/job.json")
      << R"({"run_id":")" << run << R"(","job_id":")" << run << R"(-1","test":"widgets","vm":")"
      << vm << R"(","inputs_sha256":")" << inputs << R"(","created_unix_ms":1700000000000})";
  std::ofstream(dir + "/attempt.json") << R"({"attempt":1,"agent":")" << agent << R"("})";
  std::ofstream(dir + "/trace.html") << "trace";
}

TEST(DashboardSiteTest, RatesFlakyTestsAndHostErrorsComeFromTheResults) {
  TempDir dir;
  const std::string results = dir.File("results");
  WriteJob(results, "20261201-100000-aaaa", "fedora", "inputs-1", JobVerdict::kPass, "host-a");
  WriteJob(results, "20261201-110000-bbbb", "fedora", "inputs-1", JobVerdict::kFail, "host-a");
  WriteJob(results, "20261201-120000-cccc", "fedora", "inputs-2", JobVerdict::kPass, "host-b");
  WriteJob(results, "20261201-130000-dddd", "fedora", "inputs-2", JobVerdict::kError, "host-b");
  WriteJob(results, "20261201-130000-dddd", "ubuntu", "inputs-2", JobVerdict::kPass, "host-b");
  // Not a job: ignored without harm.
  fs::create_directories(results + "/functional/20261201-140000-eeee/empty");

  std::vector<std::string> skipped;
  std::vector<JobHistory> jobs = ReadJobHistory({.results_root = results}, &skipped);
  ASSERT_EQ(jobs.size(), 5u);
  EXPECT_EQ(jobs.front().run_id, "20261201-130000-dddd");  // newest first

  absl::StatusOr<DashboardSummary> site =
      WriteDashboardSite({.results_root = results, .out_dir = dir.File("site")});
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(site->runs, 4u);
  EXPECT_EQ(site->jobs, 5u);
  const std::string html = ReadFileOrEmpty(site->index);
  // fedora: 2 passes, 1 failure (the infrastructure error is not the app's): 67%.
  EXPECT_THAT(html, HasSubstr("<td>widgets</td><td>fedora</td><td>4</td><td class=\"rate\">67%"));
  EXPECT_THAT(html, HasSubstr("<td>widgets</td><td>ubuntu</td><td>1</td><td class=\"rate\">100%"));
  // Flaky: inputs-1 passed and failed; inputs-2 never failed (an error is no failure).
  EXPECT_THAT(html, HasSubstr("<code>inputs-1</code>"));
  EXPECT_THAT(html, Not(HasSubstr("<code>inputs-2</code>")));
  // host-b: 1 error in 3 attempts.
  EXPECT_THAT(html, HasSubstr("<td>host-b</td><td>3</td><td class=\"error\">1</td>"));
  // Each job links its trace, relative to the site.
  EXPECT_THAT(html,
              HasSubstr("href=\"../results/functional/20261201-100000-aaaa/fedora/trace.html\""));

  EXPECT_EQ(WriteDashboardSite({.results_root = dir.File("nothing")}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mosdat

// Pause on failure end to end, with real parts: `mosdat functional --pause-on-failure`
// runs a scenario on the local desktop (Xvnc, gtk3-widget-factory, AT-SPI) whose second
// step fails (a check button is not ticked). The job is held with its VM; the live page
// the command serves lists it; a person takes over its screen through the authoring
// API (a session of its own on the job's desktop, the draft starting as the job's
// scenario; a session that only watches it cannot act), ticks the button, and resumes
// the job from the failed step. The step now
// passes, the job finishes, and its verdict stays fail: a person helped it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/events.h"
#include "tests/integration/live_fixture.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// The widget factory's check buttons are all called "checkbutton"; the fifth in tree
// order is the enabled one that starts unticked.
constexpr char kHeldScenario[] = R"(name: held
steps:
  - wait_for:
      all:
        - atspi: {role: check box, name: checkbutton}
      timeout: 60
    label: the window is up
  - verify_atspi: {role: check box, name: checkbutton, index: 4, states: [checked]}
    label: the check button is ticked
  - verify_atspi: {role: check box, name: checkbutton, index: 4, states: [checked]}
    label: it stays ticked
)";

class PauseOnFailureTest : public LiveServerTest {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("authored.yaml")) << kHeldScenario;
    LiveServerTest::SetUp();
  }
  // The run itself serves the live page while it runs.
  std::vector<std::string> ServerArgs(const std::string& config) override {
    return {"functional",    "--config",
            config,          "--test",
            "authored",      "--pause-on-failure",
            "--live-listen", "127.0.0.1:0",
            "--live-token",  "env:MOSDAT_LIVE_TOKEN"};
  }

  // The jobs held now.
  json Held() {
    int status = 0;
    json held = Call("GET", "/api/runs/held", "", &status);
    EXPECT_EQ(status, 200) << held.dump();
    return held.value("jobs", json::array());
  }
};

TEST_F(PauseOnFailureTest, APersonTakesOverAHeldJobAndResumesItFromTheFailedStep) {
  json held;
  for (absl::Time deadline = absl::Now() + absl::Minutes(3);
       held.empty() && absl::Now() < deadline;) {
    held = Held();
    if (held.empty()) {
      ASSERT_FALSE(live_->Wait(absl::Milliseconds(200)).has_value())
          << "the run ended without holding its job: " << ReadFileOrEmpty(dir_.File("live.out"))
          << ReadFileOrEmpty(dir_.File("live.err"));
    }
  }
  ASSERT_EQ(held.size(), 1u) << ReadFileOrEmpty(dir_.File("live.out"));
  const std::string job = held[0].value("job_id", "");
  EXPECT_EQ(held[0]["failed_step"], 1);
  EXPECT_EQ(held[0]["step_count"], 3);
  EXPECT_EQ(held[0]["vm"], "local");
  EXPECT_THAT(held[0].value("reason", ""), HasSubstr("the check button is ticked"));
  // The progress says so too, once the event has come back to the command.
  for (absl::Time deadline = absl::Now() + absl::Seconds(60);
       ReadFileOrEmpty(dir_.File("live.out")).find("PAUSED at step 2") == std::string::npos &&
       absl::Now() < deadline;) {
    ASSERT_FALSE(live_->Wait(absl::Milliseconds(50)).has_value());
  }
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("live.out")), HasSubstr("PAUSED at step 2"));

  // Nothing lets it go without the token, as JSON, with "confirm": true, from a step it
  // has.
  int status = 0;
  Call("POST", "/api/runs/resume", json{{"job", job}, {"confirm", true}}.dump(), &status, {});
  EXPECT_EQ(status, 401);
  Call("POST", "/api/runs/abort", json{{"job", job}, {"confirm", true}}.dump(), &status,
       {{"Authorization", "Bearer wrong-token"}});
  EXPECT_EQ(status, 401);
  Call("GET", "/api/runs/held", "", &status, {});
  EXPECT_EQ(status, 401);
  Call("POST", "/api/runs/resume", "{not json", &status);
  EXPECT_EQ(status, 400);
  Post("/api/runs/pause-on-failure", {{"run", "r"}}, 400);
  json refused = Post("/api/runs/resume", {{"job", job}}, 400);
  EXPECT_THAT(refused.value("error", ""), HasSubstr("\"confirm\": true"));
  Post("/api/runs/resume", {{"job", job}, {"from_step", 3}, {"confirm", true}}, 400);
  Post("/api/runs/resume", {{"job", "no-such-job"}, {"confirm", true}}, 404);
  Post("/api/author/session", {{"job", "no-such-job"}}, 404);

  // The runs page watches a running job's screen: it sees it, and cannot act on it.
  json watching = Post("/api/author/session", {{"watch", job}});
  const std::string watcher = watching.value("session_id", "");
  ASSERT_FALSE(watcher.empty()) << watching.dump();
  EXPECT_EQ(watching["vm"], "local");
  EXPECT_EQ(Screen(watcher).width, 1280);
  json denied = Post(
      "/api/author/action",
      {{"session_id", watcher}, {"action", "click"}, {"x", 5}, {"y", 5}, {"confirm", true}}, 403);
  EXPECT_THAT(denied.value("error", ""), HasSubstr("only watches"));
  Post("/api/author/close", {{"session_id", watcher}});
  Post("/api/author/session", {{"watch", "no-such-job"}}, 404);

  // Take over: a session on the job's own screen; the draft is the job's scenario.
  json session = Post("/api/author/session", {{"job", job}});
  const std::string id = session.value("session_id", "");
  ASSERT_FALSE(id.empty()) << session.dump();
  EXPECT_EQ(session["vm"], "local");
  EXPECT_EQ(session["held"]["failed_step"], 1);
  ASSERT_EQ(session["steps"].size(), 3u) << session.dump();
  EXPECT_EQ(session["steps"][1]["label"], "the check button is ticked");
  EXPECT_EQ(session["width"], 1280);

  // The person ticks the check button on the held job's screen.
  json found = Post("/api/author/atspi/find",
                    {{"session_id", id},
                     {"query", {{"role", "check box"}, {"name", "checkbutton"}, {"index", 4}}}});
  ASSERT_TRUE(found.contains("object")) << found.dump();
  const json center = found["object"]["center"];
  ASSERT_TRUE(center.contains("x") && center.contains("y")) << found.dump();
  Post("/api/author/action", {{"session_id", id},
                              {"action", "click"},
                              {"x", center["x"]},
                              {"y", center["y"]},
                              {"confirm", true}});
  // The fix they tried is in the draft, and exports as the job's scenario.
  json fixed = Post("/api/author/step",
                    {{"session_id", id},
                     {"steps",
                      {session["steps"][0],
                       {{"atspi", {{"role", "check box"}, {"name", "checkbutton"}, {"index", 4}}},
                        {"label", "tick it"}},
                       session["steps"][1],
                       session["steps"][2]}}});
  EXPECT_EQ(fixed["steps"].size(), 4u);
  EXPECT_EQ(Post("/api/author/validate", {{"session_id", id}, {"name", "held"}})["ok"], true);

  json resumed = Post("/api/runs/resume", {{"job", job}, {"confirm", true}});
  EXPECT_EQ(resumed["from_step"], 1);
  // The session on the job's screen closed as the job went on (or the run is over
  // already, and its server with it).
  json gone = Call("POST", "/api/author/capture", json{{"session_id", id}}.dump(), &status);
  EXPECT_TRUE(status == 404 || status == -1) << status << " " << gone.dump();

  std::optional<ExitStatus> exit = live_->Wait(absl::Minutes(3));
  ASSERT_TRUE(exit.has_value()) << "the run did not end after the resume";
  const std::string out = ReadFileOrEmpty(dir_.File("live.out"));
  // A person helped: the verdict stays the failure (exit code 1), whatever passed after.
  EXPECT_EQ(exit->exit_code, 1) << out << ReadFileOrEmpty(dir_.File("live.err"));
  EXPECT_THAT(out, HasSubstr("resumed from step 2 by"));

  std::string events_path;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir_.File("results/functional"))) {
    if (entry.path().filename() == "events.jsonl") events_path = entry.path().string();
  }
  ASSERT_FALSE(events_path.empty());
  absl::StatusOr<std::vector<Event>> events = ReadEventLog(events_path);
  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<std::string> trail;
  for (const Event& e : *events) {
    if (e.type == EventType::kJobPaused) trail.push_back("paused");
    if (e.type == EventType::kJobResumed) trail.push_back("resumed");
    if (e.type == EventType::kStepFinished) {
      trail.push_back(absl::StrCat(e.step_index + 1, " ", std::string(ToString(e.status))));
    }
    if (e.type == EventType::kJobFinished) trail.push_back(std::string(ToString(e.verdict)));
  }
  EXPECT_THAT(trail, ::testing::ElementsAre("1 passed", "2 failed", "paused", "resumed", "2 passed",
                                            "3 passed", "fail"));
  // The failure kept what was there: the words on the screen and the desktop's
  // accessibility tree, shown in the trace.
  const Event* failed = nullptr;
  for (const Event& e : *events) {
    if (e.type == EventType::kStepFinished && e.status == StepStatus::kFailed) failed = &e;
  }
  ASSERT_NE(failed, nullptr);
  ASSERT_TRUE(failed->snapshot.has_value());
  bool read_checkbutton = false;
  for (const ScreenWord& word : failed->snapshot->words) {
    if (word.text == "checkbutton") read_checkbutton = true;
  }
  EXPECT_TRUE(read_checkbutton) << failed->snapshot->ocr_error;
  EXPECT_THAT(failed->snapshot->accessible_tree, HasSubstr("check box \"checkbutton\""))
      << failed->snapshot->accessible_error;
  EXPECT_GT(failed->snapshot->accessible_nodes, 10);
  const std::string trace =
      ReadFileOrEmpty((std::filesystem::path(events_path).parent_path() / "trace.html").string());
  EXPECT_THAT(trace, HasSubstr("Accessibility tree"));
  EXPECT_THAT(trace, HasSubstr("OCR words"));
}

// The same in a real browser (Debian's chromium through playwright-core): the runs
// page shows the job held, with its screen live; the workbench takes it over from the
// page's link, ticks the button on the screen and resumes the job.
TEST_F(PauseOnFailureTest, InTheBrowserTheRunsPageAndTheWorkbenchTakeOverAHeldJob) {
  ASSERT_TRUE(std::filesystem::exists(SourcePath("tests/browser/node_modules/playwright-core")))
      << "playwright-core is not installed: run deploy/install-deps.sh";
  RunResult pages = Pages({"held"});
  EXPECT_EQ(pages.exit_code, 0) << pages.err << pages.out;
  std::optional<ExitStatus> exit = live_->Wait(absl::Minutes(3));
  ASSERT_TRUE(exit.has_value()) << "the run did not end after the resume";
  EXPECT_EQ(exit->exit_code, 1) << ReadFileOrEmpty(dir_.File("live.out"));
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("live.out")), HasSubstr("resumed from step 2 by"));
}

// `mosdat functional --live`: the run serves its live page without holding anything;
// the runs page's view of a running job's screen is a session that only watches it.
class LiveRunTest : public LiveServerTest {
 protected:
  void SetUp() override {
    std::ofstream(dir_.File("authored.yaml"))
        << "name: slow\nsteps:\n  - wait: 4\n    label: look around\n";
    LiveServerTest::SetUp();
  }
  std::vector<std::string> ServerArgs(const std::string& config) override {
    return {"functional", "--config",      config,        "--test",       "authored",
            "--live",     "--live-listen", "127.0.0.1:0", "--live-token", "env:MOSDAT_LIVE_TOKEN"};
  }
};

TEST_F(LiveRunTest, TheRunsPageWatchesARunningJobsScreen) {
  std::string job;
  for (absl::Time deadline = absl::Now() + absl::Minutes(2);
       job.empty() && absl::Now() < deadline;) {
    int status = 0;
    json runs = Call("GET", "/api/runs", "", &status);
    for (const json& run : runs.value("runs", json::array())) {
      for (const json& j : run.value("jobs", json::array())) {
        if (j.value("verdict", "") == "running" && j["job_id"].is_string()) {
          job = j["job_id"].get<std::string>();
        }
      }
    }
    if (job.empty()) {
      ASSERT_FALSE(live_->Wait(absl::Milliseconds(100)).has_value());
    }
  }
  ASSERT_FALSE(job.empty()) << ReadFileOrEmpty(dir_.File("live.out"));
  // Its screen can be watched once its desktop is up (the job says "running" before).
  std::string session;
  json watching;
  for (absl::Time deadline = absl::Now() + absl::Minutes(1);
       session.empty() && absl::Now() < deadline;) {
    int status = 0;
    watching = Call("POST", "/api/author/session", json{{"watch", job}}.dump(), &status);
    if (status == 200) session = watching.value("session_id", "");
    if (session.empty()) {
      EXPECT_EQ(status, 404) << watching.dump();
      ASSERT_FALSE(live_->Wait(absl::Milliseconds(100)).has_value());
    }
  }
  ASSERT_FALSE(session.empty()) << watching.dump();
  EXPECT_EQ(Screen(session).width, 1280);
  Post("/api/author/action",
       {{"session_id", session}, {"action", "key"}, {"key", "enter"}, {"confirm", true}}, 403);
  // Nothing held it: the run passes and ends by itself.
  std::optional<ExitStatus> exit = live_->Wait(absl::Minutes(2));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << ReadFileOrEmpty(dir_.File("live.out"));
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("live.out")), HasSubstr("live page of this run"));
}

}  // namespace
}  // namespace mosdat::testing

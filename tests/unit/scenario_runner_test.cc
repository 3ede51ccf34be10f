// Tests of ScenarioRunner without a desktop: retries, must_pass, cleanup, if_visible
// branches, step deadlines, outcome classification and the order of events. The runner
// drives a ScriptedScreen (our test double of vnc-agent/rfb/screen.h: a small
// framebuffer that scripted inputs repaint) and asks a ScriptedVlm (our test double of
// VlmClient) its yes/no questions.
#include "vnc-agent/steps/scenario_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/cancel_token.h"
#include "core/events.h"
#include "core/scenario_parser.h"

namespace mosdat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};
constexpr Rgb kBackground{40, 40, 40};
constexpr Rgb kDialogRed{200, 0, 0};

// A test double of our Screen interface: a 32x24 framebuffer that only input repaints.
// Every input is recorded as a line ("click 5,5 button 1 x1", "type hi", "key ff0d");
// an input the script names paints an area, as the app's reaction to it. Input is
// applied at once, so every frame reflects all input sent before it.
class ScriptedScreen : public Screen {
 public:
  static constexpr int kWidth = 32;
  static constexpr int kHeight = 24;

  ScriptedScreen() {
    frame_.width = kWidth;
    frame_.height = kHeight;
    frame_.rgb.resize(static_cast<size_t>(kWidth) * kHeight * 3);
    Paint({0, 0, kWidth, kHeight}, kBackground);
  }

  // When `input` (as recorded) arrives, `area` turns `color`.
  void OnInput(std::string input, Rect area, Rgb color) {
    std::lock_guard lock(mutex_);
    reactions_.emplace(std::move(input), Reaction{area, color});
  }
  // After `input`, `area` goes through `colors` one by one, as an animation does: each
  // WaitForUpdate call (time passing, to the runner) shows the next one.
  void AnimateAfter(std::string input, Rect area, std::vector<Rgb> colors) {
    std::lock_guard lock(mutex_);
    animation_trigger_ = std::move(input);
    animation_area_ = area;
    animation_.assign(colors.begin(), colors.end());
  }
  // Every input from now on fails with `status`, as when the connection drops.
  void FailInputsWith(absl::Status status) {
    std::lock_guard lock(mutex_);
    input_failure_ = std::move(status);
  }
  std::vector<std::string> inputs() const {
    std::lock_guard lock(mutex_);
    return inputs_;
  }
  // The longest timeout WaitForUpdate was given: the caller's idea of its deadline.
  absl::Duration longest_wait_asked() const {
    std::lock_guard lock(mutex_);
    return longest_wait_asked_;
  }

  int width() const override { return kWidth; }
  int height() const override { return kHeight; }
  absl::StatusOr<Frame> Capture() override {
    std::lock_guard lock(mutex_);
    Frame frame = frame_;
    frame.captured = absl::Now();
    return frame;
  }
  absl::StatusOr<Frame> CaptureAfterInput(absl::Duration) override { return Capture(); }
  // Waits as a still screen does: until an input repaints it, or the timeout.
  absl::StatusOr<Frame> WaitForUpdate(uint64_t after_update_seq, absl::Duration timeout) override {
    std::unique_lock lock(mutex_);
    longest_wait_asked_ = std::max(longest_wait_asked_, timeout);
    if (animating_ && !animation_.empty()) {
      Paint(animation_area_, animation_.front());
      animation_.pop_front();
      ++frame_.update_seq;
    }
    if (!repainted_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                             [&] { return frame_.update_seq > after_update_seq; })) {
      return absl::DeadlineExceededError("the scripted screen did not change");
    }
    return frame_;
  }

  absl::Status Move(int x, int y) override { return Input(absl::StrFormat("move %d,%d", x, y)); }
  absl::Status Click(int x, int y, int button, int count) override {
    return Input(absl::StrFormat("click %d,%d button %d x%d", x, y, button, count));
  }
  absl::Status Drag(int from_x, int from_y, int to_x, int to_y, int button) override {
    return Input(
        absl::StrFormat("drag %d,%d to %d,%d button %d", from_x, from_y, to_x, to_y, button));
  }
  absl::Status Scroll(int x, int y, int dx, int dy) override {
    return Input(absl::StrFormat("scroll %d,%d by %d,%d", x, y, dx, dy));
  }
  // The runner types ASCII keysyms only here (no guest): each is its character.
  absl::Status TypeKeysyms(const std::vector<uint32_t>& keysyms) override {
    std::string text;
    for (uint32_t keysym : keysyms) text.push_back(static_cast<char>(keysym));
    return Input(absl::StrCat("type ", text));
  }
  absl::Status PressKey(const std::vector<uint32_t>& modifiers, uint32_t key) override {
    std::vector<uint32_t> keys = modifiers;
    keys.push_back(key);
    return Input(
        absl::StrCat("key ", absl::StrJoin(keys, "+", [](std::string* out, uint32_t keysym) {
                       absl::StrAppend(out, absl::Hex(keysym));
                     })));
  }

 private:
  struct Reaction {
    Rect area;
    Rgb color;
  };

  absl::Status Input(std::string input) {
    std::lock_guard lock(mutex_);
    if (!input_failure_.ok()) return input_failure_;
    auto [begin, end] = reactions_.equal_range(input);
    for (auto it = begin; it != end; ++it) Paint(it->second.area, it->second.color);
    if (begin != end) {
      ++frame_.update_seq;
      repainted_.notify_all();
    }
    if (input == animation_trigger_) animating_ = true;
    inputs_.push_back(std::move(input));
    frame_.input_seq = inputs_.size();
    return absl::OkStatus();
  }
  void Paint(const Rect& area, Rgb color) {  // mutex_ held, or constructing
    for (int y = area.y; y < area.y + area.height; ++y) {
      for (int x = area.x; x < area.x + area.width; ++x) {
        uint8_t* pixel = &frame_.rgb[(static_cast<size_t>(y) * kWidth + x) * 3];
        pixel[0] = color.r;
        pixel[1] = color.g;
        pixel[2] = color.b;
      }
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable repainted_;
  Frame frame_;
  std::multimap<std::string, Reaction> reactions_;
  absl::Status input_failure_;
  std::vector<std::string> inputs_;
  absl::Duration longest_wait_asked_;
  std::string animation_trigger_;
  Rect animation_area_;
  std::deque<Rgb> animation_;
  bool animating_ = false;
};

// A test double of VlmClient that answers yes/no questions from a script. A
// question's answers are given in order; the last one repeats.
class ScriptedVlm : public VlmClient {
 public:
  void Answer(const std::string& question, std::vector<absl::StatusOr<bool>> answers) {
    script_[question].assign(answers.begin(), answers.end());
  }
  int TimesAsked(const std::string& question) const {
    auto asked = asked_.find(question);
    return asked == asked_.end() ? 0 : asked->second;
  }
  // The screen the last question was asked about.
  const VlmImage& last_image() const { return last_image_; }

  absl::StatusOr<LocalizeResult> Localize(const LocalizeRequest&, absl::Duration) override {
    return absl::UnimplementedError("the scripted model only answers yes/no questions");
  }
  absl::StatusOr<VerifyResult> Verify(const VerifyRequest& request, absl::Duration) override {
    ++asked_[request.question];
    last_image_ = request.image;
    std::deque<absl::StatusOr<bool>>& answers = script_[request.question];
    if (answers.empty()) {
      return absl::InternalError(absl::StrCat("unscripted question: ", request.question));
    }
    absl::StatusOr<bool> answer = answers.front();
    if (answers.size() > 1) answers.pop_front();
    if (!answer.ok()) return answer.status();
    return VerifyResult{.answer = *answer, .reason = *answer ? "it is" : "it is not"};
  }

 private:
  std::map<std::string, std::deque<absl::StatusOr<bool>>> script_;
  std::map<std::string, int> asked_;
  VlmImage last_image_;
};

class ScenarioRunnerTest : public ::testing::Test {
 protected:
  // Parses `yaml` and runs it on screen_, keeping every event in events_.
  RunOutcome Run(std::string_view yaml) {
    Diagnostics diagnostics;
    Scenario scenario = ParseScenario(yaml, "runner_test.yaml", {}, &diagnostics);
    if (!diagnostics.empty()) {
      ADD_FAILURE() << diagnostics.ToStatus();
      return {.verdict = JobVerdict::kUnknown, .reason = "the scenario does not parse"};
    }
    ScenarioRunner runner(screen_, options_, [this](Event event) {
      std::lock_guard lock(events_mutex_);
      if (on_event_) {
        if (absl::Status s = on_event_(event); !s.ok()) return s;
      }
      events_.push_back(std::move(event));
      events_changed_.notify_all();
      return absl::OkStatus();
    });
    return runner.Run(scenario);
  }

  // Waits (up to a minute) until an event satisfies `seen`; true if one did.
  bool AwaitEvent(const std::function<bool(const Event&)>& seen) {
    std::unique_lock lock(events_mutex_);
    return events_changed_.wait_for(lock, std::chrono::minutes(1), [&] {
      return std::any_of(events_.begin(), events_.end(), seen);
    });
  }
  size_t EventCount() {
    std::lock_guard lock(events_mutex_);
    return events_.size();
  }

  // Each step event as a line: "start 1.2 #1" for step_started, "failed 1.2 #1" for
  // step_finished (its status), with " cleanup" for cleanup steps.
  std::vector<std::string> StepTrail() const {
    std::vector<std::string> trail;
    for (const Event& e : events_) {
      if (e.type != EventType::kStepStarted && e.type != EventType::kStepFinished) continue;
      trail.push_back(absl::StrCat(
          Absl(e.type == EventType::kStepStarted ? "start" : ToString(e.status)), " ",
          StepNumber(e.step_index, e.substep), " #", e.attempt, e.cleanup ? " cleanup" : ""));
    }
    return trail;
  }

  std::vector<const Event*> Finished() const {
    std::vector<const Event*> finished;
    for (const Event& e : events_) {
      if (e.type == EventType::kStepFinished) finished.push_back(&e);
    }
    return finished;
  }

  ScriptedScreen screen_;
  std::shared_ptr<ScriptedVlm> vlm_ = std::make_shared<ScriptedVlm>();
  RunnerOptions options_{.screenshots = ScreenshotPolicy::kNone, .vlm = vlm_};
  std::vector<Event> events_;
  // Sees each event before it is kept (on the runner's thread); an error fails the emit.
  std::function<absl::Status(const Event&)> on_event_;
  std::mutex events_mutex_;
  std::condition_variable events_changed_;
};

bool IsStart(const Event& e, int step_index) {
  return e.type == EventType::kStepStarted && e.step_index == step_index;
}

// ---- Retries ------------------------------------------------------------------------

constexpr char kDialogQuestion[] = "Is the dialog open?";

// Asks kDialogQuestion with `retries`, then clicks (1,1) if the answer was yes.
std::string VerifyThenClick(int retries) {
  return absl::StrFormat(R"(name: verify then click
steps:
  - verify: %s
    retries: %d
  - click: {x: 1, y: 1}
)",
                         kDialogQuestion, retries);
}

TEST_F(ScenarioRunnerTest, RetriesAFailedStepUntilItPasses) {
  vlm_->Answer(kDialogQuestion, {false, true});
  RunOutcome outcome = Run(VerifyThenClick(2));
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "failed 1 #1", "start 1 #2", "passed 1 #2",
                                       "start 2 #1", "passed 2 #1"));
  EXPECT_EQ(vlm_->TimesAsked(kDialogQuestion), 2);
  // Each attempt reports only its own evidence: one question each.
  std::vector<const Event*> finished = Finished();
  EXPECT_EQ(finished[0]->vlm_calls.size(), 1u);
  EXPECT_EQ(finished[1]->vlm_calls.size(), 1u);
  EXPECT_TRUE(finished[1]->vlm_calls[0].answer);
}

TEST_F(ScenarioRunnerTest, FailsWhenTheLastRetryFails) {
  vlm_->Answer(kDialogQuestion, {false});
  RunOutcome outcome = Run(VerifyThenClick(1));
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("step 1 (verify, runner_test.yaml:3"));
  EXPECT_THAT(outcome.reason, HasSubstr("the model answered no"));
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "failed 1 #1", "start 1 #2", "failed 1 #2"));
  EXPECT_THAT(screen_.inputs(), IsEmpty());
}

TEST_F(ScenarioRunnerTest, DoesNotRetryAConfigError) {
  // No guest configured: a shell step cannot run however often it is tried.
  RunOutcome outcome = Run(R"(name: no ssh
steps:
  - shell: "true"
    retries: 3
)");
  EXPECT_EQ(ToString(outcome.verdict), "config_error");
  EXPECT_THAT(outcome.reason, HasSubstr("no SSH access configured"));
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "error 1 #1"));
}

TEST_F(ScenarioRunnerTest, DoesNotRetryAnInfrastructureError) {
  vlm_->Answer(kDialogQuestion, {absl::UnavailableError("model endpoint down"), true});
  RunOutcome outcome = Run(VerifyThenClick(3));
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_THAT(outcome.reason, HasSubstr("vlm-gateway: model endpoint down"));
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "error 1 #1"));
  EXPECT_EQ(vlm_->TimesAsked(kDialogQuestion), 1);
  EXPECT_THAT(screen_.inputs(), IsEmpty());
}

// ---- Outcome classification ---------------------------------------------------------

struct Classification {
  absl::StatusCode code;
  std::string_view verdict;      // the run's
  std::string_view step_status;  // the step_finished event's
  int attempts;                  // of a step with retries: 2
};

class OutcomeClassificationTest : public ScenarioRunnerTest,
                                  public ::testing::WithParamInterface<Classification> {};

TEST_P(OutcomeClassificationTest, TheStatusCodeDecidesVerdictStepStatusAndRetries) {
  const Classification& expected = GetParam();
  screen_.FailInputsWith(absl::Status(expected.code, "scripted input failure"));
  RunOutcome outcome = Run(R"(name: classification
steps:
  - click: {x: 1, y: 1}
    retries: 2
  - key: enter
)");
  EXPECT_EQ(ToString(outcome.verdict), expected.verdict);
  EXPECT_THAT(outcome.reason, HasSubstr("scripted input failure"));
  std::vector<const Event*> finished = Finished();
  ASSERT_EQ(finished.size(), static_cast<size_t>(expected.attempts));
  for (const Event* attempt : finished) {
    EXPECT_EQ(attempt->step_index, 0) << "the run stops at the failing step";
    EXPECT_EQ(ToString(attempt->status), expected.step_status);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Codes, OutcomeClassificationTest,
    ::testing::Values(Classification{absl::StatusCode::kFailedPrecondition, "fail", "failed", 3},
                      Classification{absl::StatusCode::kNotFound, "fail", "failed", 3},
                      Classification{absl::StatusCode::kInvalidArgument, "config_error", "error",
                                     1},
                      Classification{absl::StatusCode::kUnavailable, "error", "error", 1},
                      Classification{absl::StatusCode::kDeadlineExceeded, "error", "error", 1},
                      Classification{absl::StatusCode::kInternal, "error", "error", 1}),
    [](const ::testing::TestParamInfo<Classification>& info) {
      return absl::StatusCodeToString(info.param.code);
    });

// ---- must_pass and cleanup ----------------------------------------------------------

TEST_F(ScenarioRunnerTest, AFailureThatNeedNotPassIsReportedAndTheRunGoesOn) {
  vlm_->Answer("Is the banner gone?", {false});
  RunOutcome outcome = Run(R"(name: optional
steps:
  - verify: Is the banner gone?
    must_pass: false
  - click: {x: 1, y: 1}
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass");
  EXPECT_THAT(outcome.reason, IsEmpty());
  std::vector<const Event*> finished = Finished();
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0]->status, StepStatus::kFailed);
  EXPECT_FALSE(finished[0]->must_pass);
  EXPECT_THAT(finished[0]->reason, HasSubstr("the model answered no"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, CleanupRunsAfterAFailure) {
  vlm_->Answer("Is it saved?", {false});
  RunOutcome outcome = Run(R"(name: cleanup after failure
steps:
  - verify: Is it saved?
  - click: {x: 1, y: 1}
cleanup:
  - key: escape
  - click: {x: 2, y: 2}
)");
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("step 1 (verify"));
  // Cleanup steps are numbered after every scenario step, run or not.
  EXPECT_THAT(StepTrail(),
              ElementsAre("start 1 #1", "failed 1 #1", "start 3 #1 cleanup", "passed 3 #1 cleanup",
                          "start 4 #1 cleanup", "passed 4 #1 cleanup"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("key ff1b", "click 2,2 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, AFailingCleanupFailsAPassingRun) {
  vlm_->Answer("Did the app close?", {false});
  RunOutcome outcome = Run(R"(name: cleanup fails
steps:
  - click: {x: 1, y: 1}
cleanup:
  - verify: Did the app close?
  - key: escape
)");
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("step 2 (verify"));
  // A failing cleanup step does not stop the cleanup.
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1", "key ff1b"));
}

TEST_F(ScenarioRunnerTest, AFailingCleanupNeverHidesTheEarlierFailure) {
  vlm_->Answer("Is it saved?", {false});
  vlm_->Answer("Did the app close?", {absl::UnavailableError("model endpoint down")});
  RunOutcome outcome = Run(R"(name: both fail
steps:
  - verify: Is it saved?
cleanup:
  - verify: Did the app close?
)");
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("step 1 (verify"));
  EXPECT_THAT(outcome.reason, HasSubstr("Is it saved?"));
  EXPECT_THAT(StepTrail(),
              ElementsAre("start 1 #1", "failed 1 #1", "start 2 #1 cleanup", "error 2 #1 cleanup"));
}

// ---- if_visible ---------------------------------------------------------------------

TEST_F(ScenarioRunnerTest, IfVisibleRunsTheThenBranchAsNumberedSubsteps) {
  vlm_->Answer("Is a dialog open?", {true});
  vlm_->Answer("Does it ask to save?", {true});
  RunOutcome outcome = Run(R"(name: nested branches
steps:
  - if_visible:
      target: {verify: "Is a dialog open?"}
      then:
        - if_visible:
            target: {verify: "Does it ask to save?"}
            then:
              - click: {x: 1, y: 1}
              - key: enter
        - click: {x: 3, y: 3}
      else:
        - click: {x: 9, y: 9}
  - click: {x: 2, y: 2}
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "passed 1 #1",          //
                                       "start 1.1 #1", "passed 1.1 #1",      //
                                       "start 1.1.1 #1", "passed 1.1.1 #1",  //
                                       "start 1.1.2 #1", "passed 1.1.2 #1",  //
                                       "start 1.2 #1", "passed 1.2 #1",      //
                                       "start 2 #1", "passed 2 #1"));
  std::vector<std::string> substeps;
  for (const Event* e : Finished()) substeps.push_back(e->substep);
  EXPECT_THAT(substeps, ElementsAre("", "1", "1.1", "1.2", "2", ""));
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1", "key ff0d",
                                            "click 3,3 button 1 x1", "click 2,2 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, IfVisibleRunsTheElseBranchWhenTheTargetDoesNotHold) {
  vlm_->Answer("Is a dialog open?", {false});
  RunOutcome outcome = Run(R"(name: else branch
steps:
  - if_visible:
      target: {verify: "Is a dialog open?"}
      then: [{click: {x: 1, y: 1}}]
      else: [{key: escape}, {click: {x: 9, y: 9}}]
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "passed 1 #1", "start 1.1 #1", "passed 1.1 #1",
                                       "start 1.2 #1", "passed 1.2 #1"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("key ff1b", "click 9,9 button 1 x1"));
}

constexpr char kDialogAfterClick[] = R"(name: screen branch
steps:
  - click: {x: 5, y: 5}
  - if_visible:
      target: {screen_changes: {region: {x: 0, y: 0, width: 8, height: 8}}}
      then: [{key: enter}]
      else: [{key: escape}]
)";

TEST_F(ScenarioRunnerTest, IfVisibleSeesWhatTheClickPainted) {
  screen_.OnInput("click 5,5 button 1 x1", {2, 2, 4, 4}, kDialogRed);
  RunOutcome outcome = Run(kDialogAfterClick);
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 5,5 button 1 x1", "key ff0d"));
}

TEST_F(ScenarioRunnerTest, IfVisibleLooksOnceAtAStillScreen) {
  screen_.OnInput("click 5,5 button 1 x1", {20, 20, 4, 4}, kDialogRed);  // outside the region
  RunOutcome outcome = Run(kDialogAfterClick);
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 5,5 button 1 x1", "key ff1b"));
}

// ---- Deadlines ----------------------------------------------------------------------

TEST_F(ScenarioRunnerTest, AWaitThatNeverSeesAChangeFailsAtTheStepDeadline) {
  // The wait alone would poll every 30 s for a minute; the step's own timeout ends it.
  RunOutcome outcome = Run(R"(name: still screen
steps:
  - wait_for: {any: [{screen_changes: {}}], timeout: 60, interval: 30}
    timeout: 0.2
  - key: enter
)");
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("not satisfied: screen_changes"));
  // The reason names the limit that ended the wait, not the wait's own minute.
  EXPECT_THAT(outcome.reason, HasSubstr("(the step's timeout; the wait itself allows 1m)"));
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "failed 1 #1"));
  EXPECT_THAT(screen_.inputs(), IsEmpty());
  // What the runner asked for, not a measured time: never a wait past the step deadline.
  EXPECT_LE(screen_.longest_wait_asked(), absl::Milliseconds(200));
}

TEST_F(ScenarioRunnerTest, AWaitSeesAChangeTheLastInputMade) {
  screen_.OnInput("key ff0d", {0, 0, 8, 8}, kDialogRed);
  RunOutcome outcome = Run(R"(name: changes
steps:
  - key: enter
  - wait_for: {any: [{screen_changes: {}}], timeout: 60}
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
}

// ---- Cancel and lost jobs -----------------------------------------------------------

constexpr char kWaitThenCleanup[] = R"(name: long wait
steps:
  - click: {x: 1, y: 1}
  - wait: 3600
  - click: {x: 2, y: 2}
cleanup:
  - key: escape
  - wait_for: {any: [screen_changes: {}], timeout: 0.05}
    must_pass: false
  - click: {x: 3, y: 3}
)";

TEST_F(ScenarioRunnerTest, ACancelledRunStopsBeforeTheNextStepAndRunsItsCleanup) {
  auto cancel = std::make_shared<CancelToken>();
  options_.cancel = cancel;
  // Cancelled while step 1 runs: it finishes, step 2 never starts.
  on_event_ = [&](const Event& e) {
    if (IsStart(e, 0)) cancel->Cancel("cancelled by a user (mosdat cancel)");
    return absl::OkStatus();
  };
  RunOutcome outcome = Run(kWaitThenCleanup);
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_EQ(outcome.reason, "cancelled: cancelled by a user (mosdat cancel)");
  EXPECT_THAT(StepTrail(),
              ElementsAre("start 1 #1", "passed 1 #1", "start 4 #1 cleanup", "passed 4 #1 cleanup",
                          "start 5 #1 cleanup", "failed 5 #1 cleanup", "start 6 #1 cleanup",
                          "passed 6 #1 cleanup"));
  // The cleanup's own wait ran to its timeout: a cancel does not cut the cleanup short.
  EXPECT_THAT(Finished()[2]->reason, HasSubstr("timed out after 50ms"));
  EXPECT_THAT(screen_.inputs(),
              ElementsAre("click 1,1 button 1 x1", "key ff1b", "click 3,3 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, ACancelInterruptsAWaitInProgress) {
  auto cancel = std::make_shared<CancelToken>();
  options_.cancel = cancel;
  std::thread canceller([&] {
    // From another thread, as the agent's heartbeat does, once the hour-long wait began.
    ASSERT_TRUE(AwaitEvent([](const Event& e) { return IsStart(e, 1); }));
    cancel->Cancel("by the test");
  });
  RunOutcome outcome = Run(kWaitThenCleanup);
  canceller.join();
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_EQ(outcome.reason, "cancelled: by the test");
  EXPECT_THAT(StepTrail(),
              ElementsAre("start 1 #1", "passed 1 #1", "start 2 #1", "error 2 #1",
                          "start 4 #1 cleanup", "passed 4 #1 cleanup", "start 5 #1 cleanup",
                          "failed 5 #1 cleanup", "start 6 #1 cleanup", "passed 6 #1 cleanup"));
  const Event* wait = Finished()[1];
  EXPECT_EQ(wait->reason, "cancelled: by the test");
  EXPECT_LT(wait->duration_seconds, 3600);
  EXPECT_THAT(screen_.inputs(),
              ElementsAre("click 1,1 button 1 x1", "key ff1b", "click 3,3 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, ACancelInterruptsAWaitForThatPollsRarely) {
  auto cancel = std::make_shared<CancelToken>();
  options_.cancel = cancel;
  std::thread canceller([&] {
    ASSERT_TRUE(AwaitEvent([](const Event& e) { return IsStart(e, 0); }));
    cancel->Cancel("by the test");
  });
  // One look now, the next in a minute: the cancel must not wait for it.
  RunOutcome outcome = Run(R"(name: rare polling
steps:
  - wait_for: {any: [{screen_changes: {}}], timeout: 3600, interval: 60}
    timeout: 3600
  - key: enter
)");
  canceller.join();
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_EQ(outcome.reason, "cancelled: by the test");
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "error 1 #1"));
  EXPECT_THAT(screen_.inputs(), IsEmpty());
}

TEST_F(ScenarioRunnerTest, ALostJobStopsAtOnceWithoutCleanupOrFurtherEvents) {
  auto cancel = std::make_shared<CancelToken>();
  options_.cancel = cancel;
  size_t events_when_lost = 0;
  std::thread loser([&] {
    ASSERT_TRUE(AwaitEvent([](const Event& e) { return IsStart(e, 1); }));
    std::lock_guard lock(events_mutex_);  // no event can slip in between
    events_when_lost = events_.size();
    cancel->Lose("the coordinator gave the job to another agent");
  });
  RunOutcome outcome = Run(kWaitThenCleanup);
  loser.join();
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_THAT(outcome.reason, HasSubstr("the coordinator gave the job to another agent"));
  EXPECT_EQ(EventCount(), events_when_lost);
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "passed 1 #1", "start 2 #1"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, WhenEventsCannotBeReportedNothingMoreRuns) {
  // The report channel breaks when step 2 starts: step 2 must not act on the app, and
  // neither must the cleanup (its events would be lost, as the coordinator gave up).
  on_event_ = [](const Event& e) {
    return IsStart(e, 1) ? absl::UnavailableError("the coordinator closed the event stream")
                         : absl::OkStatus();
  };
  RunOutcome outcome = Run(R"(name: broken channel
steps:
  - click: {x: 1, y: 1}
  - click: {x: 2, y: 2}
cleanup:
  - key: escape
)");
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_THAT(outcome.reason, HasSubstr("events could not be reported"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1"));
}

// ---- Events and input ---------------------------------------------------------------

TEST_F(ScenarioRunnerTest, EachStepIsStartedThenScreenshotThenFinished) {
  options_.screenshots = ScreenshotPolicy::kAll;
  RunOutcome outcome = Run(R"(name: events
steps:
  - click: {x: 4, y: 4}
    label: focus the field
  - type: hi
  - key: ctrl+s
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  std::vector<std::string> events;
  for (const Event& e : events_) {
    events.push_back(absl::StrCat(Absl(ToString(e.type)), " ", e.step_index,
                                  e.screenshot.empty() ? "" : " " + e.screenshot));
  }
  EXPECT_THAT(events, ElementsAre("step_started 0", "screenshot 0 001-step01-step.png",
                                  "step_finished 0 001-step01-step.png",  //
                                  "step_started 1", "screenshot 1 002-step02-step.png",
                                  "step_finished 1 002-step02-step.png",  //
                                  "step_started 2", "screenshot 2 003-step03-step.png",
                                  "step_finished 2 003-step03-step.png"));
  const Event& first_finished = *Finished()[0];
  EXPECT_EQ(first_finished.label, "focus the field");
  EXPECT_EQ(first_finished.step_kind, "click");
  EXPECT_EQ(first_finished.source_location, "runner_test.yaml:3:5");
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 4,4 button 1 x1", "type hi", "key ffe3+73"));
}

TEST_F(ScenarioRunnerTest, PointerStepsReachTheScreenWithRfbButtons) {
  RunOutcome outcome = Run(R"(name: pointer
steps:
  - right_click: {x: 1, y: 2}
  - double_click: {x: 3, y: 4}
  - click: {x: 5, y: 6, button: middle}
  - hover: {x: 7, y: 8}
  - drag: {from: {x: 1, y: 1}, to: {x: 9, y: 9}}
  - scroll: {x: 10, y: 11, dy: -3}
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(screen_.inputs(),
              ElementsAre("click 1,2 button 3 x1", "click 3,4 button 1 x2", "click 5,6 button 2 x1",
                          "move 7,8", "drag 1,1 to 9,9 button 1", "scroll 10,11 by 0,-3"));
}

// A model is shown the screen once it rests: the frames of a transition still running
// after the last input (GTK fades a button's hover out) are not what it judges.
TEST_F(ScenarioRunnerTest, AVerificationLooksAtTheScreenOnceItRests) {
  constexpr Rgb kFading{120, 20, 20};
  screen_.OnInput("click 1,1 button 1 x1", {0, 0, 4, 4}, kFading);
  screen_.AnimateAfter("click 1,1 button 1 x1", {0, 0, 4, 4},
                       {{150, 10, 10}, {180, 5, 5}, kDialogRed});
  vlm_->Answer(kDialogQuestion, {true});
  RunOutcome outcome = Run(absl::StrCat("name: settle\nsteps:\n  - click: {x: 1, y: 1}\n",
                                        "  - verify: ", kDialogQuestion, "\n"));
  ASSERT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  absl::StatusOr<Frame> seen = DecodePng(vlm_->last_image().png);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->rgb[0], kDialogRed.r);
  EXPECT_EQ(seen->rgb[1], kDialogRed.g);
}

// Keys named as the original mOSdat names them reach the screen as their keysyms.
TEST_F(ScenarioRunnerTest, NamedPunctuationKeysAreSentAsTheirKeysyms) {
  RunOutcome outcome = Run(R"(name: keys
steps:
  - key: ctrl+comma
  - key: ctrl+shift+slash
)");
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  EXPECT_THAT(screen_.inputs(), ElementsAre("key ffe3+2c", "key ffe3+ffe1+2f"));
}

// ---- Pause on failure ----------------------------------------------------------------

// What the pause hook was asked, and what it answers: a person's decisions, in order.
struct ScriptedPerson {
  std::vector<ResumeDecision> decisions;
  std::vector<std::pair<int, std::string>> asked;  // (failed step, reason)
  RunnerOptions::PauseOnFailure Hook(bool wanted = true) {
    return {.wanted = [wanted] { return wanted; },
            .hold = [this](int step, const std::string& reason) -> absl::StatusOr<ResumeDecision> {
              asked.emplace_back(step, reason);
              if (asked.size() > decisions.size()) return absl::InternalError("unscripted pause");
              return decisions[asked.size() - 1];
            }};
  }
};

// The paused and resumed events as lines: "paused 1", "resumed 1: text", "aborted: text".
std::vector<std::string> PauseTrail(const std::vector<Event>& events) {
  std::vector<std::string> trail;
  for (const Event& e : events) {
    if (e.type == EventType::kJobPaused) trail.push_back(absl::StrCat("paused ", e.step_index + 1));
    if (e.type == EventType::kJobResumed) {
      trail.push_back(e.step_index < 0 ? absl::StrCat("aborted: ", e.text)
                                       : absl::StrCat("resumed ", e.step_index + 1, ": ", e.text));
    }
  }
  return trail;
}

TEST_F(ScenarioRunnerTest, AFailedStepHoldsTheRunAndItGoesOnFromTheStepAPersonChose) {
  ScriptedPerson person{.decisions = {{.from_step = 0, .text = "by alice"}}};
  options_.pause_on_failure = person.Hook();
  vlm_->Answer(kDialogQuestion, {false, true});
  RunOutcome outcome = Run(VerifyThenClick(0));
  // The person fixed the app by hand: the rest passes, and the verdict is still the
  // failure that happened.
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("step 1 (verify"));
  ASSERT_EQ(person.asked.size(), 1u);
  EXPECT_EQ(person.asked[0].first, 0);
  EXPECT_THAT(person.asked[0].second, HasSubstr("the model answered no"));
  EXPECT_THAT(PauseTrail(events_), ElementsAre("paused 1", "resumed 1: by alice"));
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "failed 1 #1", "start 1 #1", "passed 1 #1",
                                       "start 2 #1", "passed 2 #1"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, EachFailureAfterAResumeHoldsTheRunAgain) {
  ScriptedPerson person{.decisions = {{0, "again"}, {1, "skip it"}}};
  options_.pause_on_failure = person.Hook();
  vlm_->Answer(kDialogQuestion, {false});
  RunOutcome outcome = Run(VerifyThenClick(0));
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(PauseTrail(events_),
              ElementsAre("paused 1", "resumed 1: again", "paused 1", "resumed 2: skip it"));
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1"));
}

TEST_F(ScenarioRunnerTest, AnAbortedHoldEndsAsTheFailureWouldWithItsCleanup) {
  ScriptedPerson person{.decisions = {{-1, "by bob"}}};
  options_.pause_on_failure = person.Hook();
  vlm_->Answer(kDialogQuestion, {false});
  RunOutcome outcome = Run(absl::StrCat(VerifyThenClick(0), "cleanup:\n  - key: escape\n"));
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(PauseTrail(events_), ElementsAre("paused 1", "aborted: by bob"));
  EXPECT_THAT(StepTrail(), ElementsAre("start 1 #1", "failed 1 #1", "start 3 #1 cleanup",
                                       "passed 3 #1 cleanup"));
}

TEST_F(ScenarioRunnerTest, OnlyAMustPassTestFailureThatIsWantedHolds) {
  ScriptedPerson person;
  // Not wanted (the run's switch is off): the failure ends the steps.
  options_.pause_on_failure = person.Hook(/*wanted=*/false);
  vlm_->Answer(kDialogQuestion, {false});
  EXPECT_EQ(ToString(Run(VerifyThenClick(0)).verdict), "fail");
  // A config error (no guest for a shell step), a step that may fail and an
  // infrastructure error never hold.
  options_.pause_on_failure = person.Hook();
  EXPECT_EQ(ToString(Run("name: no ssh\nsteps:\n  - shell: \"true\"\n").verdict), "config_error");
  EXPECT_EQ(ToString(Run(absl::StrCat("name: optional\nsteps:\n  - verify: ", kDialogQuestion,
                                      "\n    must_pass: false\n"))
                         .verdict),
            "pass");
  vlm_->Answer(kDialogQuestion, {absl::UnavailableError("model endpoint down")});
  EXPECT_EQ(ToString(Run(VerifyThenClick(0)).verdict), "error");
  EXPECT_THAT(person.asked, IsEmpty());
  EXPECT_THAT(PauseTrail(events_), IsEmpty());
}

TEST_F(ScenarioRunnerTest, ACancelWhileHeldEndsTheRunAsCancelled) {
  auto cancel = std::make_shared<CancelToken>();
  options_.cancel = cancel;
  options_.pause_on_failure = RunnerOptions::PauseOnFailure{
      .wanted = [] { return true; },
      .hold = [cancel](int, const std::string&) -> absl::StatusOr<ResumeDecision> {
        cancel->Cancel("a user cancelled the run");
        return cancel->AsStatus();
      }};
  vlm_->Answer(kDialogQuestion, {false});
  RunOutcome outcome = Run(VerifyThenClick(0));
  EXPECT_EQ(ToString(outcome.verdict), "error");
  EXPECT_THAT(outcome.reason, HasSubstr("cancelled: a user cancelled the run"));
  EXPECT_THAT(PauseTrail(events_), ElementsAre("paused 1"));
  EXPECT_THAT(screen_.inputs(), IsEmpty());
}

// A failed attempt keeps what was there: the OCR words and the accessibility tree, or
// why they could not be had (here: no SSH for the tree); a passed one keeps nothing.
TEST_F(ScenarioRunnerTest, AFailedStepKeepsASnapshotOfWhatWasThere) {
  options_.screenshots = ScreenshotPolicy::kFailures;
  vlm_->Answer(kDialogQuestion, {false});
  EXPECT_EQ(ToString(Run(absl::StrCat("name: snap\nsteps:\n  - key: escape\n  - verify: ",
                                      kDialogQuestion, "\n"))
                         .verdict),
            "fail");
  std::vector<const Event*> finished = Finished();
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_FALSE(finished[0]->snapshot.has_value());
  ASSERT_TRUE(finished[1]->snapshot.has_value());
  EXPECT_EQ(finished[1]->snapshot->accessible_error, "this VM has no SSH access configured");
  EXPECT_TRUE(finished[1]->snapshot->accessible_tree.empty());
  // The 32x24 scripted screen holds no words; OCR either read none or said why not.
  EXPECT_TRUE(finished[1]->snapshot->words.empty());
}

// ---- Bug scenarios --------------------------------------------------------------------

// setup: click (1,1); precondition: "Is the app up?"; steps: click (2,2); the signal:
// "Is an error shown?" — each check with a short timeout.
constexpr char kBugScenario[] = R"(name: bug
setup:
  - click: {x: 1, y: 1}
precondition: {any: [verify: "Is the app up?"], timeout: 0.3}
steps:
  - click: {x: 2, y: 2}
bug_signal: {any: [verify: "Is an error shown?"], timeout: 0.3}
cleanup:
  - key: escape
)";

// Each step event with its check: "start 2 precondition", "failed 4 bug_signal".
std::vector<std::string> CheckTrail(const std::vector<Event>& events) {
  std::vector<std::string> trail;
  for (const Event& e : events) {
    if (e.type != EventType::kStepStarted && e.type != EventType::kStepFinished) continue;
    trail.push_back(
        absl::StrCat(Absl(e.type == EventType::kStepStarted ? "start" : ToString(e.status)), " ",
                     StepNumber(e.step_index, e.substep), e.check.empty() ? "" : " " + e.check,
                     e.cleanup ? " cleanup" : ""));
  }
  return trail;
}

TEST_F(ScenarioRunnerTest, ABugThatShowsIsReproducedAndFailsTheRun) {
  vlm_->Answer("Is the app up?", {true});
  vlm_->Answer("Is an error shown?", {true});
  RunOutcome outcome = Run(kBugScenario);
  EXPECT_EQ(outcome.bug, BugVerdict::kReproduced);
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("bug reproduced: step 4 (wait_for: bug signal"));
  EXPECT_THAT(outcome.reason, HasSubstr("the bug showed: verify \"Is an error shown?\""));
  EXPECT_THAT(CheckTrail(events_),
              ElementsAre("start 1", "passed 1", "start 2 precondition", "passed 2 precondition",
                          "start 3", "passed 3", "start 4 bug_signal", "failed 4 bug_signal",
                          "start 5 cleanup", "passed 5 cleanup"));
  EXPECT_THAT(screen_.inputs(),
              ElementsAre("click 1,1 button 1 x1", "click 2,2 button 1 x1", "key ff1b"));
}

TEST_F(ScenarioRunnerTest, ABugThatDoesNotShowIsNotReproducedAndPasses) {
  options_.screenshots = ScreenshotPolicy::kFailures;
  vlm_->Answer("Is the app up?", {true});
  vlm_->Answer("Is an error shown?", {false});
  RunOutcome outcome = Run(kBugScenario);
  EXPECT_EQ(outcome.bug, BugVerdict::kNotReproduced);
  EXPECT_EQ(ToString(outcome.verdict), "pass") << outcome.reason;
  const Event* signal = Finished()[3];
  EXPECT_EQ(signal->check, "bug_signal");
  EXPECT_EQ(signal->status, StepStatus::kPassed);
  EXPECT_THAT(signal->reason, HasSubstr("the bug did not show: wait_for (any) timed out"));
  EXPECT_THAT(outcome.reason, HasSubstr("bug not reproduced: the bug did not show: wait_for"));
  // The checks' frames are evidence: taken even when only failures are.
  std::vector<std::string> whys;
  for (const Event& e : events_) {
    if (e.type == EventType::kScreenshot) whys.push_back(e.why);
  }
  EXPECT_THAT(whys, ::testing::IsSupersetOf({"precondition", "bug-signal"}));
}

TEST_F(ScenarioRunnerTest, APreconditionThatDoesNotHoldStopsTheAttemptUncounted) {
  vlm_->Answer("Is the app up?", {false});
  RunOutcome outcome = Run(kBugScenario);
  EXPECT_EQ(outcome.bug, BugVerdict::kPreconditionNotMet);
  EXPECT_EQ(ToString(outcome.verdict), "fail");
  EXPECT_THAT(outcome.reason, HasSubstr("precondition not met: the precondition did not hold"));
  // The trigger never ran, the signal was not looked for; the cleanup ran.
  EXPECT_THAT(screen_.inputs(), ElementsAre("click 1,1 button 1 x1", "key ff1b"));
  EXPECT_EQ(vlm_->TimesAsked("Is an error shown?"), 0);
}

TEST_F(ScenarioRunnerTest, AFailedTriggerStepStillLooksForTheSignal) {
  constexpr char kCrash[] = R"(name: crash
precondition: Is the app up?
steps:
  - verify: Is the window still there?
  - click: {x: 3, y: 3}
bug_signal: {any: [verify: "Is a crash dialog shown?"], timeout: 0.3}
)";
  vlm_->Answer("Is the window still there?", {false});
  vlm_->Answer("Is the app up?", {true});
  vlm_->Answer("Is a crash dialog shown?", {true});
  RunOutcome outcome = Run(kCrash);
  EXPECT_EQ(outcome.bug, BugVerdict::kReproduced) << outcome.reason;
  // Without setup the precondition comes after the steps: 1, 2, precondition 3, signal 4.
  EXPECT_THAT(CheckTrail(events_),
              ElementsAre("start 1", "failed 1", "start 3 precondition", "passed 3 precondition",
                          "start 4 bug_signal", "failed 4 bug_signal"));
  EXPECT_THAT(screen_.inputs(), IsEmpty());  // the rest of the trigger was skipped

  events_.clear();
  vlm_->Answer("Is a crash dialog shown?", {false});
  outcome = Run(kCrash);
  EXPECT_EQ(outcome.bug, BugVerdict::kPreconditionNotMet);
  EXPECT_THAT(outcome.reason, HasSubstr("a step failed before the bug could show"));
}

TEST_F(ScenarioRunnerTest, ARigThatFailsDuringTheChecksIsAHarnessError) {
  // A shell condition needs SSH, which this VM lacks: nothing is known of the bug.
  RunOutcome outcome = Run(R"(name: no ssh
steps:
  - click: {x: 1, y: 1}
bug_signal: {shell: "coredumpctl list app"}
)");
  EXPECT_EQ(outcome.bug, BugVerdict::kHarnessError);
  EXPECT_EQ(ToString(outcome.verdict), "config_error");
  EXPECT_THAT(outcome.reason, HasSubstr("no SSH access configured"));
}

}  // namespace
}  // namespace mosdat

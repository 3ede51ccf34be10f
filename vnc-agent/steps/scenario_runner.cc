#include "vnc-agent/steps/scenario_runner.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/outcome.h"
#include "core/step_kinds.h"
#include "core/time_left.h"
#include "core/utf8.h"
#include "core/visual_match.h"
#include "core/visual_reference.h"
#include "vnc-agent/rfb/key_input.h"
#include "vnc-agent/rfb/text_typing.h"

namespace mosdat {

int RfbButton(MouseButton button) {
  switch (button) {
    case MouseButton::kLeft:
      return 1;
    case MouseButton::kMiddle:
      return 2;
    case MouseButton::kRight:
      return 3;
  }
  return 1;
}

namespace {

// A test failure (the app did not do what the scenario expects).
absl::Status Failed(std::string reason) { return TestFailure(reason); }

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// How often a wait that a cancel cannot wake (a screen update wait) looks at it.
constexpr absl::Duration kInterruptionCheckInterval = absl::Milliseconds(100);

Rect ToRect(const std::optional<Region>& region) {
  if (!region) return {};
  return {region->x, region->y, region->width, region->height};
}

}  // namespace

ScenarioRunner::ScenarioRunner(Screen& screen, RunnerOptions options, Emit emit)
    : recorder_(screen), screen_(recorder_), options_(std::move(options)), emit_(std::move(emit)) {}

void ScenarioRunner::EmitEvent(Event event) {
  // A lost job's events would be refused: none leave after the loss.
  if (!emit_status_.ok() || Lost()) return;
  event.job_id = options_.job_id;
  event.unix_ms = NowMs();
  emit_status_ = emit_(std::move(event));
}

absl::Status ScenarioRunner::Interruption() const {
  if (Lost()) return options_.cancel->AsStatus();
  if (!emit_status_.ok()) return emit_status_;
  if (options_.cancel && !in_cleanup_) return options_.cancel->AsStatus();
  return absl::OkStatus();
}

absl::Status ScenarioRunner::Pause(absl::Time until) {
  if (options_.cancel) {
    using State = CancelToken::State;
    options_.cancel->WaitUntil(until, in_cleanup_ ? State::kLost : State::kCancelled);
  } else {
    absl::SleepFor(until - absl::Now());
  }
  return Interruption();
}

absl::StatusOr<Frame> ScenarioRunner::WaitForUpdate(uint64_t after_update_seq,
                                                    absl::Duration timeout) {
  if (!options_.cancel) return screen_.WaitForUpdate(after_update_seq, timeout);
  const absl::Time until = absl::Now() + timeout;
  while (true) {
    absl::Duration slice = std::min(until - absl::Now(), kInterruptionCheckInterval);
    absl::StatusOr<Frame> frame = screen_.WaitForUpdate(after_update_seq, slice);
    if (frame.ok() || frame.status().code() != absl::StatusCode::kDeadlineExceeded ||
        absl::Now() >= until || !Interruption().ok()) {
      return frame;
    }
  }
}

void ScenarioRunner::Screenshot(int step_index, const std::string& why, std::string* file_name) {
  absl::StatusOr<Frame> frame = screen_.CaptureAfterInput(absl::Seconds(5));
  if (!frame.ok()) frame = screen_.Capture();  // better an older frame than none
  if (!frame.ok()) return;
  absl::StatusOr<std::string> png = EncodePng(*frame);
  if (!png.ok()) return;
  std::string name = EmitScreenshot(step_index, why, std::move(*png));
  if (file_name != nullptr) *file_name = name;
}

std::string ScenarioRunner::EmitScreenshot(int step_index, const std::string& why,
                                           std::string png) {
  Event event = Event::Of(EventType::kScreenshot);
  event.step_index = step_index;
  event.why = why;
  // Named after the sub-step too: the screenshots of an if_visible branch are told apart.
  if (step_index >= 0) event.substep = attempt_.substep;
  event.screenshot =
      step_index < 0
          ? absl::StrFormat("%03d-%s.png", ++screenshot_count_, why)
          : absl::StrFormat("%03d-step%s-%s.png", ++screenshot_count_,
                            StepNumber(step_index, attempt_.substep, /*padded=*/true), why);
  event.png = std::move(png);
  std::string name = event.screenshot;
  EmitEvent(std::move(event));
  return name;
}

RunOutcome ScenarioRunner::Run(const Scenario& scenario) {
  if (scenario.bug && scenario.bug->Checks()) return RunBugAttempt(scenario);
  RunOutcome outcome;
  for (size_t next = 0; next < scenario.steps.size();) {
    if (!Interruption().ok()) break;
    test_failure_.reset();
    const int index = static_cast<int>(next);
    if (RunStep(scenario.steps[next], index, "", /*cleanup=*/false, &outcome) == Flow::kContinue) {
      ++next;
      continue;
    }
    std::optional<size_t> from = HoldAfterFailure(index, scenario.steps.size());
    if (!from) break;
    next = *from;
  }
  return Finish(scenario, static_cast<int>(scenario.steps.size()), std::move(outcome));
}

RunOutcome ScenarioRunner::Finish(const Scenario& scenario, int first_index, RunOutcome outcome) {
  // A cancel that came while the steps ran decides the verdict, whatever the step it
  // interrupted made of it; one that comes during the cleanup is too late to.
  const absl::Status cancelled = options_.cancel ? options_.cancel->AsStatus() : absl::OkStatus();
  // Cleanup always runs (unless the job was lost or its events cannot be reported),
  // numbered after the steps; its failures are reported but do not change a verdict
  // that is already a failure.
  int index = first_index;
  RunOutcome cleanup_outcome;
  in_cleanup_ = true;
  for (const Step& step : scenario.cleanup) {
    if (!Interruption().ok()) break;
    RunStep(step, index++, "", /*cleanup=*/true, &cleanup_outcome);
  }
  in_cleanup_ = false;
  if (outcome.verdict == JobVerdict::kPass && cleanup_outcome.verdict != JobVerdict::kPass) {
    outcome.verdict = cleanup_outcome.verdict;
    outcome.reason = cleanup_outcome.reason;
  }
  if (!cancelled.ok()) {
    outcome.verdict = JobVerdict::kError;
    outcome.reason = std::string(cancelled.message());
  }
  if (!emit_status_.ok()) {
    outcome.verdict = JobVerdict::kError;
    outcome.reason = absl::StrCat("events could not be reported: ", emit_status_.message());
  }
  if (Lost()) {
    outcome.verdict = JobVerdict::kError;
    outcome.reason = std::string(options_.cancel->AsStatus().message());
  }
  // Nothing is known of the bug when the rig failed, whatever the steps found.
  if (outcome.bug &&
      (outcome.verdict == JobVerdict::kError || outcome.verdict == JobVerdict::kConfigError)) {
    outcome.bug = BugVerdict::kHarnessError;
  }
  return outcome;
}

ScenarioRunner::Flow ScenarioRunner::RunStep(const Step& step, int index,
                                             const std::string& substep, bool cleanup,
                                             RunOutcome* outcome, std::string_view check) {
  const std::string kind(StepKindName(step.kind));
  absl::Status status;
  for (int attempt = 1; attempt <= step.common.retries + 1; ++attempt) {
    // Neither a step nor a retry starts once the run must stop (Run() says why).
    if (!Interruption().ok()) return Flow::kStop;
    Event started = Event::Of(EventType::kStepStarted);
    started.step_index = index;
    started.substep = substep;
    started.step_kind = kind;
    started.label = step.common.label;
    started.description = DescribeStep(step.kind);
    started.source_location = step.location.ToString();
    started.attempt = attempt;
    started.cleanup = cleanup;
    started.check = std::string(check);
    EmitEvent(started);
    // Nothing acts on the app while nobody can hear of it.
    if (!emit_status_.ok() || Lost()) return Flow::kStop;

    if (IsInputStep(step.kind)) {
      absl::StatusOr<Frame> before = screen_.Capture();
      if (before.ok()) before_last_action_ = std::move(*before);
    }
    attempt_ = Attempt{.step_index = index, .substep = substep};
    absl::Time begin = absl::Now();
    absl::Duration timeout = step.common.timeout_seconds
                                 ? absl::Seconds(*step.common.timeout_seconds)
                                 : options_.default_step_timeout;
    recorder_.Take();  // what came before this attempt is not its input
    status = Execute(step.kind, begin + timeout);
    if (Lost()) return Flow::kStop;  // at once: no screenshot, no step_finished
    std::string not_seen;            // a bug signal that did not show: why, for the report
    if (check == kBugSignalCheck) status = SignalOutcome(step, std::move(status), &not_seen);
    Event finished = started;
    finished.type = EventType::kStepFinished;
    finished.duration_seconds = absl::ToDoubleSeconds(absl::Now() - begin);
    finished.must_pass = step.common.must_pass;
    finished.candidates = std::move(attempt_.details.candidates);
    finished.output = std::move(attempt_.details.output);
    finished.vlm_calls = std::move(attempt_.details.vlm_calls);
    finished.pointer = recorder_.Take();
    // The frames of a bug scenario's checks are its evidence: always taken, and named
    // after the check.
    const std::string check_shot = check == kBugSignalCheck      ? kBugSignalFrame
                                   : check == kPreconditionCheck ? kPreconditionFrame
                                                                 : "";
    if (status.ok()) {
      finished.status = StepStatus::kPassed;
      finished.reason = std::move(not_seen);
      if (options_.screenshots == ScreenshotPolicy::kAll ||
          (!check_shot.empty() && options_.screenshots != ScreenshotPolicy::kNone)) {
        Screenshot(index, check_shot.empty() ? "step" : check_shot, &finished.screenshot);
      }
    } else {
      finished.status = StepStatusOf(OutcomeOf(status));
      finished.reason = std::string(status.message());
      if (options_.screenshots != ScreenshotPolicy::kNone) {
        Screenshot(index, check_shot.empty() ? "failure" : check_shot, &finished.screenshot);
        // Why the app did not do it is in what was there: kept with the failure.
        if (OutcomeOf(status) == Outcome::kTestFailed && Interruption().ok()) {
          finished.snapshot = SnapshotAtFailure();
        }
      }
    }
    EmitEvent(std::move(finished));
    // Retries are for the app's timing; a broken rig or file does not heal by retrying.
    if (OutcomeOf(status) != Outcome::kTestFailed) break;
  }
  if (!emit_status_.ok()) return Flow::kStop;
  if (status.ok()) {
    // if_visible chose a branch: its steps run now, reported under the same index.
    if (const std::vector<Step>* branch = std::exchange(attempt_.branch, nullptr)) {
      int position = 0;
      for (const Step& nested : *branch) {
        std::string place = absl::StrCat(substep, substep.empty() ? "" : ".", ++position);
        if (RunStep(nested, index, place, cleanup, outcome) == Flow::kStop) return Flow::kStop;
      }
    }
    return Flow::kContinue;
  }

  std::string where = absl::StrCat("step ", StepNumber(index, substep), " (", kind,
                                   step.common.label.empty() ? "" : ": " + step.common.label, ", ",
                                   step.location.ToString(), "): ", status.message());
  if (Outcome o = OutcomeOf(status); o != Outcome::kTestFailed) {
    outcome->verdict = VerdictOf(o);
    outcome->reason = where;
    return Flow::kStop;
  }
  if (!step.common.must_pass) return Flow::kContinue;
  if (outcome->verdict == JobVerdict::kPass) {
    outcome->verdict = JobVerdict::kFail;
    outcome->reason = where;
  }
  test_failure_ = where;
  return Flow::kStop;
}

std::optional<size_t> ScenarioRunner::HoldAfterFailure(int index, size_t step_count) {
  if (!test_failure_ || !options_.pause_on_failure || !emit_status_.ok() || !Interruption().ok() ||
      !options_.pause_on_failure->wanted()) {
    return std::nullopt;
  }
  Event paused = Event::Of(EventType::kJobPaused);
  paused.step_index = index;
  paused.reason = *test_failure_;
  EmitEvent(std::move(paused));
  if (!emit_status_.ok()) return std::nullopt;  // nobody would know it waits
  absl::StatusOr<ResumeDecision> decision = options_.pause_on_failure->hold(index, *test_failure_);
  // Cancelled or lost while held: Run() says so.
  if (!decision.ok() || !Interruption().ok()) return std::nullopt;
  Event resumed = Event::Of(EventType::kJobResumed);
  const bool goes_on =
      decision->from_step >= 0 && static_cast<size_t>(decision->from_step) <= step_count;
  resumed.step_index = goes_on ? decision->from_step : -1;
  resumed.text = decision->text;
  EmitEvent(std::move(resumed));
  if (!goes_on || !emit_status_.ok()) return std::nullopt;
  return static_cast<size_t>(decision->from_step);
}

absl::Status ScenarioRunner::Execute(const StepKind& kind, absl::Time deadline) {
  struct Visitor {
    ScenarioRunner& runner;
    absl::Time deadline;
    Screen& screen() { return runner.screen_; }

    // The centre of the pointer target: a point, or text found by OCR.
    absl::StatusOr<Point> Where(const std::variant<Point, TextTarget>& target) {
      if (const auto* point = std::get_if<Point>(&target)) return *point;
      absl::StatusOr<OcrMatch> match = runner.LocateText(std::get<TextTarget>(target), deadline);
      if (!match.ok()) return match.status();
      return Point{match->box.x + match->box.width / 2, match->box.y + match->box.height / 2};
    }
    absl::Status operator()(const ClickStep& s) {
      absl::StatusOr<Point> at = Where(s.target);
      if (!at.ok()) return at.status();
      return screen().Click(at->x, at->y, RfbButton(s.button), s.count);
    }
    absl::Status operator()(const HoverStep& s) {
      absl::StatusOr<Point> at = Where(s.target);
      if (!at.ok()) return at.status();
      return screen().Move(at->x, at->y);
    }
    absl::Status operator()(const DragStep& s) {
      return screen().Drag(s.from.x, s.from.y, s.to.x, s.to.y, RfbButton(s.button));
    }
    absl::Status operator()(const ScrollStep& s) {
      return screen().Scroll(s.at.x, s.at.y, s.dx, s.dy);
    }
    absl::Status operator()(const TypeStep& s) { return runner.TypeText(s.text, deadline); }
    absl::Status operator()(const KeyStep& s) { return PressCombo(screen(), s.combo); }
    absl::Status operator()(const WaitStep& s) {
      // The user asked for this pause explicitly; everything else polls a condition.
      return runner.Pause(std::min(deadline, absl::Now() + absl::Seconds(s.seconds)));
    }
    absl::Status operator()(const WaitForStep& s) { return runner.ExecuteWaitFor(s, deadline); }
    absl::Status operator()(const VisualStep& s) { return runner.ExecuteVisual(s, deadline); }
    absl::Status operator()(const CheckpointStep&) {
      // The screenshot is what a checkpoint is for; take it even with screenshots = none.
      if (runner.options_.screenshots != ScreenshotPolicy::kAll) {
        runner.Screenshot(-1, "checkpoint", nullptr);
      }
      return absl::OkStatus();
    }
    absl::Status operator()(const ShellStep& s) { return runner.ExecuteShell(s, deadline); }
    absl::Status operator()(const LaunchStep& s) { return runner.ExecuteLaunch(s, deadline); }
    absl::Status operator()(const AtspiStep& s) { return runner.ExecuteAtspi(s, deadline); }
    absl::Status operator()(const VerifyAtspiStep& s) {
      return runner.ExecuteVerifyAtspi(s, deadline);
    }
    absl::Status operator()(const LocalizeStep& s) { return runner.ExecuteLocalize(s, deadline); }
    absl::Status operator()(const VerifyStep& s) { return runner.ExecuteVerify(s, deadline); }
    absl::Status operator()(const OcrStep& s) { return runner.ExecuteOcr(s, deadline); }
    absl::Status operator()(const IfVisibleStep& s) { return runner.ExecuteIfVisible(s, deadline); }
  };
  return std::visit(Visitor{*this, deadline}, kind);
}

absl::StatusOr<bool> ScenarioRunner::Holds(const Condition& condition, const Frame& first,
                                           const Frame& now, absl::Time* stable_since,
                                           absl::Time deadline, std::string* why_not) {
  if (const auto* c = std::get_if<AtspiCondition>(&condition)) {
    return AtspiHolds(*c, deadline, why_not);
  }
  if (const auto* c = std::get_if<TextCondition>(&condition)) {
    absl::StatusOr<OcrEngine*> ocr = Ocr();
    if (!ocr.ok()) return ocr.status();
    std::optional<Rect> region;
    if (c->region) region = ToRect(c->region);
    // Locate, not Find: when the text is absent its answer lists the nearest words read.
    absl::StatusOr<OcrMatch> found = (*ocr)->Locate(now, c->text, region);
    if (found.ok()) return true;
    // Several matches: the text is on screen, which is all a condition asks.
    if (found.status().code() == absl::StatusCode::kFailedPrecondition) return true;
    if (found.status().code() != absl::StatusCode::kNotFound) return found.status();
    if (why_not != nullptr) *why_not = std::string(found.status().message());
    return false;
  }
  if (const auto* c = std::get_if<ScreenChangesCondition>(&condition)) {
    return DifferenceRatio(first, now, ToRect(c->region)) > 0.0;
  }
  if (const auto* c = std::get_if<ScreenStableCondition>(&condition)) {
    return absl::Now() - *stable_since >= absl::Seconds(c->for_seconds);
  }
  if (const auto* c = std::get_if<VisualCondition>(&condition)) {
    absl::StatusOr<const VisualReference*> reference = Reference(c->reference);
    if (!reference.ok()) return reference.status();
    std::optional<Rect> expected = (*reference)->captured_at;
    const double threshold = VisualThreshold(c->threshold, **reference);
    if (c->region) expected = ToRect(c->region);
    VisualMatch match =
        FindReference(now, (*reference)->image, (*reference)->exclude, expected, threshold);
    if (why_not != nullptr) {
      *why_not =
          absl::StrFormat("best score %.3f at (%d,%d)", match.score, match.where.x, match.where.y);
    }
    return match.score >= threshold;
  }
  if (const auto* c = std::get_if<ShellCondition>(&condition)) {
    return ShellHolds(*c, deadline, why_not);
  }
  return VlmHolds(std::get<VlmCondition>(condition), now, deadline, why_not);
}

absl::Status ScenarioRunner::ParkPointer() {
  if (!options_.park) return absl::OkStatus();
  return screen_.Move(std::min(options_.park->x, screen_.width() - 1),
                      std::min(options_.park->y, screen_.height() - 1));
}

absl::Status ScenarioRunner::ExecuteWaitFor(const WaitForStep& step, absl::Time deadline) {
  if (absl::Status s = ParkPointer(); !s.ok()) return s;
  // Polling stops at `until`; a look that has begun may use the step's whole deadline,
  // so a zero timeout (if_visible's "look once") still gets one answer.
  const absl::Time begin = absl::Now();
  const absl::Duration wait_timeout = absl::Seconds(step.timeout_seconds);
  const absl::Time until = std::min(deadline, begin + wait_timeout);
  absl::Duration interval = absl::Seconds(step.interval_seconds);
  absl::StatusOr<Frame> first = screen_.CaptureAfterInput(absl::Seconds(5));
  if (!first.ok()) return first.status();
  Frame previous = *first;
  // screen_changes compares with the screen before the last action, when there was one.
  if (before_last_action_ && before_last_action_->width == first->width &&
      before_last_action_->height == first->height) {
    first = *before_last_action_;
  }
  // Per stable condition: when its region last changed.
  std::vector<absl::Time> stable_since(step.conditions.size(), absl::Now());
  std::vector<bool> held(step.conditions.size(), false);
  std::vector<std::string> why_not(step.conditions.size());
  auto timed_out = [&] {
    std::vector<std::string> missing;
    for (size_t i = 0; i < held.size(); ++i) {
      if (held[i]) continue;
      std::string name(ConditionKindName(step.conditions[i]));
      missing.push_back(why_not[i].empty() ? name : absl::StrCat(name, " (", why_not[i], ")"));
    }
    // Say which limit ended the wait: the step's own timeout can cut it short.
    const std::string limit =
        until < begin + wait_timeout
            ? absl::StrCat(absl::FormatDuration(until - begin), " (the step's timeout; the wait ",
                           "itself allows ", absl::FormatDuration(wait_timeout), ")")
            : absl::FormatDuration(wait_timeout);
    return Failed(absl::StrCat("wait_for (", step.mode == WaitForStep::Mode::kAny ? "any" : "all",
                               ") timed out after ", limit,
                               "; not satisfied: ", absl::StrJoin(missing, ", ")));
  };
  for (bool first_look = true;; first_look = false) {
    // Every look but the first starts before `until`: a look begun at the deadline
    // would only run out of time (a VLM question needs seconds).
    if (!first_look && absl::Now() >= until) return timed_out();
    if (absl::Status s = Interruption(); !s.ok()) return s;
    absl::StatusOr<Frame> now = screen_.Capture();
    if (!now.ok()) return now.status();
    for (size_t i = 0; i < step.conditions.size(); ++i) {
      if (const auto* c = std::get_if<ScreenStableCondition>(&step.conditions[i])) {
        if (DifferenceRatio(previous, *now, ToRect(c->region)) > 0.0) {
          stable_since[i] = absl::Now();
        }
      }
      absl::StatusOr<bool> holds =
          Holds(step.conditions[i], *first, *now, &stable_since[i], deadline, &why_not[i]);
      if (!holds.ok()) return holds.status();
      held[i] = *holds;
    }
    bool any = std::find(held.begin(), held.end(), true) != held.end();
    bool all = std::find(held.begin(), held.end(), false) == held.end();
    if (step.mode == WaitForStep::Mode::kAny ? any : all) {
      attempt_.satisfied.clear();
      for (size_t i = 0; i < held.size(); ++i) {
        if (held[i]) attempt_.satisfied.push_back(DescribeCondition(step.conditions[i]));
      }
      return absl::OkStatus();
    }
    if (absl::Now() >= until) return timed_out();
    previous = *now;
    // Wake on the next framebuffer update or after the interval, whichever is first:
    // polling, never a fixed sleep.
    WaitForUpdate(now->update_seq, std::min(interval, until - absl::Now())).IgnoreError();
  }
}

absl::StatusOr<const VisualReference*> ScenarioRunner::Reference(const std::string& path) {
  auto cached = references_.find(path);
  if (cached != references_.end()) return &cached->second;
  auto file = options_.files.find(path);
  if (file == options_.files.end()) {
    return absl::InternalError(
        absl::StrCat("reference image \"", path, "\" was not sent with the job"));
  }
  auto sidecar = options_.files.find(ReferenceSidecarPath(path));
  absl::StatusOr<VisualReference> reference =
      ParseReference(path, file->second, sidecar == options_.files.end() ? "" : sidecar->second);
  if (!reference.ok()) return reference.status();
  return &(references_[path] = std::move(*reference));
}

absl::Status ScenarioRunner::ExecuteVisual(const VisualStep& step, absl::Time deadline) {
  absl::StatusOr<const VisualReference*> reference = Reference(step.reference);
  if (!reference.ok()) return reference.status();
  if (step.timeout_seconds) {
    deadline = std::min(deadline, absl::Now() + absl::Seconds(*step.timeout_seconds));
  }
  std::optional<Rect> expected = (*reference)->captured_at;
  const double threshold = VisualThreshold(step.threshold, **reference);
  if (step.region) expected = ToRect(step.region);
  if (absl::Status s = ParkPointer(); !s.ok()) return s;
  absl::StatusOr<Frame> frame = screen_.CaptureAfterInput(absl::Seconds(5));
  VisualMatch best;
  auto record = [&] {
    attempt_.details.candidates = {{"visual", best.where.x, best.where.y, best.where.width,
                                    best.where.height, best.score, step.reference}};
  };
  while (frame.ok()) {
    best = FindReference(*frame, (*reference)->image, (*reference)->exclude, expected, threshold);
    if (best.score >= threshold) {
      record();
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) break;
    if (absl::Status s = Interruption(); !s.ok()) return s;
    absl::StatusOr<Frame> next =
        WaitForUpdate(frame->update_seq, std::min(absl::Milliseconds(500), deadline - absl::Now()));
    if (next.ok()) frame = next;
  }
  if (!frame.ok()) return frame.status();
  record();
  return Failed(absl::StrFormat(
      "%s does not match: best score %.3f at %s (threshold %.3f)%s", step.reference, best.score,
      FormatRect(best.where), threshold,
      step.region ? absl::StrCat(", expected near ", FormatRect(ToRect(step.region))) : ""));
}

// ---- Steps inside the VM: shell, launch, AT-SPI ------------------------------------

namespace {

constexpr size_t kOutputTailBytes = 64 * 1024;
// How long a click's effect is waited for. GTK4 state updates lag actions by ~0.3 s,
// and a GTK4 app busy redrawing after a click answers AT-SPI in ~0.6 s (measured); an
// app that shows nothing within this did not take the click as focus or state.
constexpr absl::Duration kClickEffectTimeout = absl::Seconds(2);
// A screen-only wait (no accessible state to ask) stops at the first changed frame.
constexpr absl::Duration kScreenEffectTimeout = absl::Milliseconds(500);
// Between two questions to the guest while waiting for a click's effect, unless a
// framebuffer update comes first.
constexpr absl::Duration kEffectPollInterval = absl::Milliseconds(50);

// The helper's test-failure answers: the object is absent, hidden or in another state.
bool NotThereAsAsked(const absl::Status& status) {
  return status.code() == absl::StatusCode::kNotFound ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

std::string TailOf(const std::string& text, size_t max) {
  return text.size() <= max ? text : text.substr(text.size() - max);
}

std::string Describe(const AtspiQuery& q) {
  std::vector<std::string> parts;
  if (!q.role.empty()) parts.push_back(q.role);
  if (!q.name.empty()) parts.push_back(absl::StrCat("\"", q.name, "\""));
  if (!q.name_substr.empty()) parts.push_back(absl::StrCat("*", q.name_substr, "*"));
  if (q.index) parts.push_back(absl::StrCat("#", *q.index));
  if (!q.states.empty()) parts.push_back(absl::StrCat("[", absl::StrJoin(q.states, ","), "]"));
  if (!q.app.empty()) parts.push_back(absl::StrCat("in ", q.app));
  if (!q.app_substr.empty()) parts.push_back(absl::StrCat("in an app named *", q.app_substr, "*"));
  return absl::StrJoin(parts, " ");
}

std::string Describe(const AccessibleObject& o) {
  return absl::StrFormat("%s \"%s\" in %s at (%d,%d %dx%d)", o.role, o.name, o.app, o.box.x,
                         o.box.y, o.box.width, o.box.height);
}

// How the real pointer performs an accessible action, when it can.
struct PointerAction {
  MouseButton button = MouseButton::kLeft;
  int count = 1;
};
std::optional<PointerAction> PointerActionFor(const std::string& action) {
  std::string a = absl::AsciiStrToLower(action);
  std::replace(a.begin(), a.end(), ' ', '_');
  if (a == "click" || a == "press" || a == "activate") return PointerAction{};
  if (a == "double_click") return PointerAction{MouseButton::kLeft, 2};
  if (a == "right_click") return PointerAction{MouseButton::kRight, 1};
  return std::nullopt;
}

}  // namespace

void ScenarioRunner::Log(const std::string& level, const std::string& text) {
  Event event = Event::Of(EventType::kLog);
  event.level = level;
  event.text = text;
  EmitEvent(std::move(event));
}

absl::StatusOr<GuestSession*> ScenarioRunner::Guest(std::string_view step_kind) {
  if (!options_.guest) {
    return ConfigError(
        absl::StrCat(std::string(step_kind),
                     " runs inside the VM over SSH, and this VM has no SSH access configured "
                     "(set ip, user and ssh_key in its [[vm]] table)"));
  }
  return options_.guest();
}

absl::Status ScenarioRunner::TypeText(const std::string& text, absl::Time deadline) {
  GuestKeyboard* keyboard = nullptr;
  if (options_.guest && TypesOffEveryKeymap(text)) {
    absl::StatusOr<GuestSession*> guest = options_.guest();
    if (!guest.ok()) return guest.status();
    keyboard = *guest;
  }
  absl::StatusOr<TypingReport> typed = TypeUnicode(screen_, text, keyboard, deadline);
  if (!typed.ok()) return typed.status();
  if (typed->placed > 0) {
    Log("info", absl::StrCat("typed ", typed->characters, " characters; ", typed->placed,
                             " not on the keyboard map were put on scratch keycodes",
                             typed->chunks > 1
                                 ? absl::StrCat(" in ", typed->chunks,
                                                " parts, each read back from ", typed->focused)
                             : typed->confirmed ? absl::StrCat(", read back from ", typed->focused)
                                                : ""));
  }
  if (!typed->note.empty()) Log("warning", absl::StrCat("typed text not read back: ", typed->note));
  return absl::OkStatus();
}

absl::Status ScenarioRunner::ExecuteShell(const ShellStep& step, absl::Time deadline) {
  absl::StatusOr<GuestSession*> guest = Guest("shell");
  if (!guest.ok()) return guest.status();
  absl::Duration timeout = TimeLeft(deadline);
  if (step.timeout_seconds) timeout = std::min(timeout, absl::Seconds(*step.timeout_seconds));
  absl::StatusOr<SshExecResult> result =
      (*guest)->Shell(step.command, step.x11.value_or(options_.x11), timeout);
  if (!result.ok()) return result.status();
  attempt_.details.output = CommandOutput{result->exit_code, TailOf(result->out, kOutputTailBytes),
                                          TailOf(result->err, kOutputTailBytes), result->timed_out};
  if (result->timed_out) {
    return Failed(
        absl::StrCat("the command did not finish within ", absl::FormatDuration(timeout)));
  }
  if (result->exit_code != step.expect_exit) {
    std::string err(absl::StripAsciiWhitespace(TailOf(result->err, 500)));
    return Failed(absl::StrCat("the command exited with status ", result->exit_code, ", expected ",
                               step.expect_exit, err.empty() ? "" : "; stderr: " + err));
  }
  return absl::OkStatus();
}

absl::Status ScenarioRunner::ExecuteLaunch(const LaunchStep& step, absl::Time deadline) {
  absl::StatusOr<GuestSession*> guest = Guest("launch");
  if (!guest.ok()) return guest.status();
  absl::Duration timeout = TimeLeft(deadline);
  if (step.timeout_seconds) timeout = std::min(timeout, absl::Seconds(*step.timeout_seconds));
  absl::StatusOr<LaunchResult> launched =
      (*guest)->Launch(step.command, step.app, step.window, timeout);
  if (!launched.ok()) return launched.status();
  Log("info", absl::StrCat("launched \"", step.command, "\" (pid ", launched->pid, ", output in ",
                           launched->log_path, "); application \"", launched->app,
                           "\" is on the accessibility bus"));
  return absl::OkStatus();
}

std::string ScenarioRunner::AwaitClickEffect(
    const Frame& before, absl::Time deadline,
    const std::function<absl::StatusOr<bool>()>& state_changed, bool state_only) {
  const absl::Time start = absl::Now();
  const absl::Time until =
      std::min(deadline, start + (state_changed ? kClickEffectTimeout : kScreenEffectTimeout));
  auto waited = [&] { return absl::FormatDuration(absl::Now() - start); };
  bool screen_changed = false;
  absl::StatusOr<Frame> frame = screen_.CaptureAfterInput(TimeLeft(until));
  while (true) {
    if (frame.ok() && DifferenceRatio(before, *frame, Rect{}) > 0.0) {
      screen_changed = true;
      if (!state_changed || !state_only) return absl::StrCat("the screen changed after ", waited());
    }
    if (state_changed) {
      absl::StatusOr<bool> changed = state_changed();
      if (changed.ok() && *changed) return absl::StrCat("its state changed after ", waited());
    }
    if (absl::Now() >= until) break;
    uint64_t seq = frame.ok() ? frame->update_seq : 0;
    absl::StatusOr<Frame> next = screen_.WaitForUpdate(
        seq, std::min(state_changed ? kEffectPollInterval : TimeLeft(until), TimeLeft(until)));
    if (next.ok()) frame = std::move(next);
  }
  return absl::StrCat(state_changed ? "its state did not change" : "the screen did not change",
                      screen_changed ? " (the screen did)" : "", " within ", waited());
}

absl::Status ScenarioRunner::ExecuteAtspi(const AtspiStep& step, absl::Time deadline) {
  absl::StatusOr<GuestSession*> guest = Guest("atspi");
  if (!guest.ok()) return guest.status();
  std::optional<PointerAction> pointer = PointerActionFor(step.action);
  if (!pointer && step.via == AtspiVia::kPointer) {
    return absl::InvalidArgumentError(
        absl::StrCat("the pointer can click, double_click or right_click, not \"", step.action,
                     "\"; use via: action for the accessible action"));
  }
  const bool want_pointer = pointer && step.via != AtspiVia::kAction && step.via != AtspiVia::kHint;
  AccessibleObject object;
  absl::Status found = (*guest)->WithAtspi([&](AtspiClient& client) {
    absl::StatusOr<AccessibleObject> o = client.Find(step.query, TimeLeft(deadline), want_pointer);
    if (!o.ok()) return o.status();
    object = *o;
    return absl::OkStatus();
  });
  if (!found.ok()) return found;
  attempt_.details.candidates.push_back(
      {"atspi", object.box.x, object.box.y, object.box.width, object.box.height,
       want_pointer ? (object.verified ? 1.0 : 0.0) : 1.0,
       absl::StrCat(object.role, " \"", object.name, "\" in ", object.app,
                    object.hit.empty() ? "" : "; centre hits " + object.hit,
                    object.hit_imprecise ? " (imprecise hit test, accepted)" : "")});

  if (want_pointer && object.verified) {
    absl::StatusOr<Frame> before = screen_.Capture();
    if (!before.ok()) return before.status();
    if (absl::Status s = screen_.Click(object.center.x, object.center.y, RfbButton(pointer->button),
                                       pointer->count);
        !s.ok()) {
      return s;
    }
    // What a click changes: the screen, the object's states (focused, checked, pressed,
    // expanded...), or the object goes away (a menu item's menu closes). Keys typed
    // next are meant for a text widget: there, only its focus (a state) counts.
    const bool takes_text =
        std::find(object.states.begin(), object.states.end(), "editable") != object.states.end();
    auto state_changed = [&]() -> absl::StatusOr<bool> {
      std::optional<AccessibleObject> now;
      absl::Status asked = (*guest)->WithAtspi([&](AtspiClient& client) {
        absl::StatusOr<AccessibleObject> o =
            client.Find(step.query, std::min(TimeLeft(deadline), absl::Seconds(5)), false);
        if (o.ok()) now = *o;
        return NotThereAsAsked(o.status()) ? absl::OkStatus() : o.status();
      });
      if (!asked.ok()) return asked;
      if (!now) return true;
      std::vector<std::string> was = object.states, is = now->states;
      std::sort(was.begin(), was.end());
      std::sort(is.begin(), is.end());
      return was != is;
    };
    std::string effect = AwaitClickEffect(*before, deadline, state_changed, takes_text);
    Log("info", absl::StrCat("clicked ", Describe(object), " at (", object.center.x, ",",
                             object.center.y, "): ", effect));
    return absl::OkStatus();
  }
  const std::string why = object.hit_reason.empty() ? "hit test: " + object.hit : object.hit_reason;
  if (want_pointer && step.via == AtspiVia::kPointer) {
    return Failed(absl::StrCat("refused to click the centre (", object.center.x, ",",
                               object.center.y, ") of ", Describe(object), ": ", why,
                               ". via: action uses the accessible action instead, via: both "
                               "falls back to it"));
  }
  if (step.via == AtspiVia::kHint) {
    // Shows where the action happens (recordings, screenshots) without clicking: the
    // visible widget may not be the accessible object, and a click there would act twice.
    if (absl::Status s = screen_.Move(object.center.x, object.center.y); !s.ok()) return s;
  }
  if (want_pointer) {  // via: both, and the pointer cannot reach the object
    Log("warning", absl::StrCat("the pointer cannot reach ", Describe(object), " (", why,
                                "); using the accessible action \"", step.action, "\""));
  }
  return (*guest)->WithAtspi([&](AtspiClient& client) {
    return client.Action(step.query, step.action, TimeLeft(deadline));
  });
}

absl::StatusOr<bool> ScenarioRunner::AtspiHolds(const AtspiCondition& condition,
                                                absl::Time deadline, std::string* why_not) {
  absl::StatusOr<GuestSession*> guest = Guest("an atspi condition");
  if (!guest.ok()) return guest.status();
  std::optional<AccessibleObject> object;
  std::optional<std::string> text;
  const bool check_text = condition.text || condition.text_substr;
  absl::Status status = (*guest)->WithAtspi([&](AtspiClient& client) {
    absl::StatusOr<AccessibleObject> o = client.Find(condition.query, TimeLeft(deadline), false);
    if (!o.ok()) return o.status();
    object = *o;
    if (!check_text) return absl::OkStatus();
    absl::StatusOr<std::string> t = client.Text(condition.query, TimeLeft(deadline));
    if (t.ok()) text = *t;
    return t.status();
  });
  if (!status.ok() && !NotThereAsAsked(status)) return status;
  std::string reason =
      object ? absl::StrCat("found ", Describe(*object)) : std::string(status.message());
  bool holds = object.has_value() == condition.exists;
  if (holds && check_text) {
    holds = text && (condition.text ? *text == *condition.text
                                    : absl::StrContains(*text, *condition.text_substr));
    if (text) {
      // Long texts are shortened here, once: the reason goes to the console and JUnit.
      constexpr size_t kShown = 120;
      reason = absl::StrCat(
          "the text of ", Describe(*object), " is \"", ShortenText(*text, kShown), "\", not ",
          condition.text ? "" : "containing ", "\"",
          ShortenText(condition.text ? *condition.text : *condition.text_substr, kShown), "\"");
    }
  }
  if (why_not != nullptr) *why_not = reason;
  return holds;
}

absl::Status ScenarioRunner::ExecuteVerifyAtspi(const VerifyAtspiStep& step, absl::Time deadline) {
  std::string why_not;
  absl::StatusOr<bool> holds = AtspiHolds(step, deadline, &why_not);
  if (!holds.ok()) return holds.status();
  if (*holds) return absl::OkStatus();
  return Failed(step.exists
                    ? why_not
                    : absl::StrCat(Describe(step.query), " should not exist, but ", why_not));
}

absl::Status ScenarioRunner::ExecuteIfVisible(const IfVisibleStep& step, absl::Time deadline) {
  WaitForStep probe;
  probe.conditions = {step.target};
  probe.timeout_seconds = step.timeout_seconds;
  absl::Status seen = ExecuteWaitFor(probe, deadline);
  if (!seen.ok() && seen.code() != absl::StatusCode::kFailedPrecondition) return seen;
  attempt_.branch = seen.ok() ? &step.then_steps : &step.else_steps;
  Log("info", absl::StrCat("if_visible: ", std::string(ConditionKindName(step.target)),
                           seen.ok() ? " holds; running then (" : " does not hold; running else (",
                           attempt_.branch->size(), " steps)"));
  return absl::OkStatus();
}

// ---- OCR ----------------------------------------------------------------------------

absl::StatusOr<OcrEngine*> ScenarioRunner::Ocr() {
  if (!ocr_) {
    absl::StatusOr<std::unique_ptr<OcrEngine>> engine = OcrEngine::Create();
    if (!engine.ok()) {
      return absl::UnavailableError(absl::StrCat("OCR: ", engine.status().message()));
    }
    ocr_ = std::move(*engine);
  }
  return ocr_.get();
}

absl::StatusOr<OcrMatch> ScenarioRunner::LocateText(const TextTarget& target, absl::Time deadline) {
  absl::StatusOr<OcrEngine*> ocr = Ocr();
  if (!ocr.ok()) return ocr.status();
  std::optional<Rect> region;
  if (target.region) region = ToRect(target.region);
  if (absl::Status s = ParkPointer(); !s.ok()) return s;
  absl::StatusOr<Frame> frame = screen_.CaptureAfterInput(absl::Seconds(5));
  while (true) {
    if (!frame.ok()) return frame.status();
    absl::StatusOr<OcrMatch> match = (*ocr)->Locate(*frame, target.text, region);
    if (match.ok()) {
      attempt_.details.candidates.push_back({"ocr", match->box.x, match->box.y, match->box.width,
                                             match->box.height, match->confidence / 100.0,
                                             match->text});
      return match;
    }
    // Absent text may still appear; two matches will not resolve themselves.
    if (match.status().code() != absl::StatusCode::kNotFound || absl::Now() >= deadline) {
      return absl::FailedPreconditionError(match.status().message());
    }
    if (absl::Status s = Interruption(); !s.ok()) return s;
    absl::StatusOr<Frame> next =
        WaitForUpdate(frame->update_seq, std::min(absl::Milliseconds(500), deadline - absl::Now()));
    if (next.ok()) frame = std::move(next);
  }
}

absl::Status ScenarioRunner::ExecuteOcr(const OcrStep& step, absl::Time deadline) {
  absl::StatusOr<OcrMatch> match = LocateText({step.text, step.region}, deadline);
  if (!match.ok()) return match.status();
  if (!step.click) return absl::OkStatus();
  return screen_.Click(match->box.x + match->box.width / 2, match->box.y + match->box.height / 2, 1,
                       1);
}

}  // namespace mosdat

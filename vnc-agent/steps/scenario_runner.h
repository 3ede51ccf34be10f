// ScenarioRunner: executes a parsed Scenario's steps, in order, on one VM's screen, and
// reports each step as events (started, finished with status/duration/reason,
// screenshots). Retries, per-step timeouts, must_pass and cleanup are handled here, so
// every step kind gets them the same way.
//
// The runner sees the VM only through interfaces — the Screen (a VncSession in the
// agent), the guest session and the VlmClient — so it runs in unit tests against
// scripted doubles of them.
#ifndef MOSDAT_VNC_AGENT_STEPS_SCENARIO_RUNNER_H_
#define MOSDAT_VNC_AGENT_STEPS_SCENARIO_RUNNER_H_

#include <functional>
#include <map>
#include <string>

#include "core/cancel_token.h"
#include "core/config.h"
#include "core/events.h"
#include "core/scenario.h"
#include "core/visual_reference.h"
#include "vnc-agent/guest/guest_session.h"
#include "vnc-agent/rfb/pointer_recorder.h"
#include "vnc-agent/rfb/screen.h"
#include "vnc-agent/steps/ocr.h"
#include "vnc-agent/steps/vlm_client.h"

namespace mosdat {

// What a person decided about a job held at a failed step (pause on failure).
struct ResumeDecision {
  int from_step = -1;  // the top-level step to go on from (0-based); -1: abort
  std::string text;    // who decided what, said in the job_resumed event
};

struct RunnerOptions {
  std::string job_id;
  // Reference images of `visual` steps, by the path the scenario gives (already
  // resolved by the parser); the agent receives them with the job.
  std::map<std::string, std::string> files;
  ScreenshotPolicy screenshots = ScreenshotPolicy::kAll;
  absl::Duration default_step_timeout = absl::Seconds(30);
  std::optional<CursorPark> park;
  // The inside of the VM (SSH: shell, launch, AT-SPI), made on first use so scenarios
  // that only need the screen work without SSH. Unset: this VM has no SSH access.
  std::function<absl::StatusOr<GuestSession*>()> guest;
  bool x11 = false;  // the VM's x11 = "auto": shell steps get the X11 preamble by default
  // The vlm-gateway, for localize/verify. Unset: VLM steps end as infrastructure errors
  // saying how to configure one.
  std::shared_ptr<VlmClient> vlm;
  // Set from another thread to stop the run (core/cancel_token.h): a cancel stops before
  // the next step or during a wait and runs the cleanup; a lost job stops at once, with
  // no cleanup and no further events. Null: the run is never stopped from outside.
  std::shared_ptr<const CancelToken> cancel;
  // Pause on failure: when a must_pass step fails the test (never for a config or
  // infrastructure error) and `wanted()` says so now, the runner emits job_paused and
  // calls `hold`, which blocks until a person decides; it then emits job_resumed and
  // the steps go on from the step decided. The verdict stays the failure's whatever
  // follows. An error from `hold` (the job was cancelled or lost while held) stops the
  // run as the interruption says. Unset: a failure ends the steps.
  struct PauseOnFailure {
    std::function<bool()> wanted;
    std::function<absl::StatusOr<ResumeDecision>(int failed_step, const std::string& reason)> hold;
  };
  std::optional<PauseOnFailure> pause_on_failure;
};

struct RunOutcome {
  JobVerdict verdict = JobVerdict::kPass;
  std::string reason;  // for fail/error: the first must_pass step that did not pass
  // A bug scenario's attempt (core/bug_verdict.h): the job passes only when the bug
  // did not show with its precondition met; `reason` says what was found.
  std::optional<BugVerdict> bug;
};

// The RFB button number of a scenario's mouse button (1 left, 2 middle, 3 right).
int RfbButton(MouseButton button);

class ScenarioRunner {
 public:
  // `emit` receives every event; the runner stops if it fails (the report channel is
  // gone, so further work would be lost).
  using Emit = std::function<absl::Status(Event)>;

  // `screen` must outlive the runner.
  ScenarioRunner(Screen& screen, RunnerOptions options, Emit emit);

  // Runs the steps, then the cleanup steps (always). Each attempt of a step is a
  // step_started / step_finished pair (attempt numbered from 1); a test failure is
  // retried up to the step's `retries`, a config or infrastructure error never is.
  // A bug scenario (core/scenario.h BugConfirmation) runs as one attempt at its bug:
  // setup, precondition, the steps, the bug signal (scenario_runner_bug.cc).
  RunOutcome Run(const Scenario& scenario);

 private:
  enum class Flow { kContinue, kStop };
  RunOutcome RunBugAttempt(const Scenario& scenario);
  // A bug signal's wait_for result as the step's: it held → a test failure (the bug
  // showed); it timed out → OK, with `*not_seen` saying so; anything else as it is.
  absl::Status SignalOutcome(const Step& signal, absl::Status waited, std::string* not_seen);
  // Asks the guest what it is (core/observed_environment.h) and logs it, for reports.
  void ObserveEnvironment(const std::string& app_package);
  absl::StatusOr<bool> ShellHolds(const ShellCondition& condition, absl::Time deadline,
                                  std::string* why_not);
  // The cleanup steps, numbered from `first_index`, and the verdict's last word (a
  // cancel, a lost job, events that could not be reported).
  RunOutcome Finish(const Scenario& scenario, int first_index, RunOutcome outcome);
  // After a failed must_pass step stopped the steps: where they go on from when a
  // person resumes them (pause_on_failure), or nullopt to end them.
  std::optional<size_t> HoldAfterFailure(int index, size_t step_count);
  // `substep`: the step's place inside if_visible branches ("" for a scenario step).
  // `check`: a bug scenario's precondition or signal (core/bug_verdict.h); a signal
  // that shows fails the step (the bug is there), one that does not passes it.
  Flow RunStep(const Step& step, int index, const std::string& substep, bool cleanup,
               RunOutcome* outcome, std::string_view check = "");
  absl::Status Execute(const StepKind& kind, absl::Time deadline);
  absl::Status ExecuteWaitFor(const WaitForStep& step, absl::Time deadline);
  absl::StatusOr<bool> Holds(const Condition& condition, const Frame& first, const Frame& now,
                             absl::Time* stable_since, absl::Time deadline, std::string* why_not);
  absl::Status ExecuteVisual(const VisualStep& step, absl::Time deadline);
  absl::Status ExecuteShell(const ShellStep& step, absl::Time deadline);
  absl::Status ExecuteLaunch(const LaunchStep& step, absl::Time deadline);
  absl::Status ExecuteAtspi(const AtspiStep& step, absl::Time deadline);
  absl::Status ExecuteVerifyAtspi(const VerifyAtspiStep& step, absl::Time deadline);
  absl::Status ExecuteIfVisible(const IfVisibleStep& step, absl::Time deadline);
  // Whether an accessibility condition holds now; `why_not` gets the helper's reason.
  absl::StatusOr<bool> AtspiHolds(const AtspiCondition& condition, absl::Time deadline,
                                  std::string* why_not);
  absl::StatusOr<GuestSession*> Guest(std::string_view step_kind);
  // Types through text_typing.h: the guest (SSH) is brought up only when the text has
  // characters that are not on every keyboard map.
  absl::Status TypeText(const std::string& text, absl::Time deadline);
  // After a click, before anything else is sent: waits until its effect shows, so keys
  // typed next cannot reach the app before it has moved the focus. The effect is a
  // frame differing from `before`, or, with `state_changed` (the clicked object's
  // accessible state, asked inside the guest), the object's state changing — and only
  // that when `state_only` (a text widget: the screen changes on hover already, before
  // the focus has moved). Polled (each framebuffer update wakes it), bounded by
  // kClickEffectTimeout and `deadline`; never fails the step — it returns what it saw,
  // for the log.
  std::string AwaitClickEffect(const Frame& before, absl::Time deadline,
                               const std::function<absl::StatusOr<bool>()>& state_changed,
                               bool state_only = false);
  // Polls frames until `target` is on screen exactly once (OCR) or the deadline; the
  // match is recorded as the step's candidate.
  absl::StatusOr<OcrMatch> LocateText(const TextTarget& target, absl::Time deadline);
  absl::StatusOr<OcrEngine*> Ocr();
  absl::Status ExecuteOcr(const OcrStep& step, absl::Time deadline);

  // VLM steps (scenario_runner_vlm.cc). Every question is recorded as a VlmCall with
  // the screenshot the model saw, and every point as a candidate.
  absl::Status ExecuteLocalize(const LocalizeStep& step, absl::Time deadline);
  absl::Status ExecuteVerify(const VerifyStep& step, absl::Time deadline);
  absl::StatusOr<bool> VlmHolds(const VlmCondition& condition, const Frame& now,
                                absl::Time deadline, std::string* why_not);
  absl::StatusOr<VlmClient*> Vlm(std::string_view step_kind);
  absl::StatusOr<LocalizeResult> AskWhere(const Frame& frame, const std::string& prompt,
                                          absl::Time deadline);
  absl::StatusOr<VerifyResult> AskWhether(const Frame& frame, const std::string& question,
                                          absl::Time deadline);
  // The frame as the model will see it; emitted as a "vlm" screenshot unless it is the
  // image sent last.
  absl::StatusOr<VlmImage> VlmScreen(const Frame& frame, std::string* file_name);
  // OK when a second signal agrees with the model's point (or there is none to ask);
  // FailedPrecondition when one disagrees.
  absl::Status CrossCheck(const LocalizeCrossCheck& check, const std::string& prompt,
                          const Frame& frame, Point point, absl::Time deadline);
  void Log(const std::string& level, const std::string& text);
  absl::StatusOr<const VisualReference*> Reference(const std::string& path);
  // Moves the pointer to [cursor].park, if set, before a verification looks.
  absl::Status ParkPointer();
  // A frame newer than the last input, once the screen has been still for a moment
  // (bounded: a screen that never rests gives its newest frame). What a model is shown.
  absl::StatusOr<Frame> SettledScreen(absl::Time deadline);
  // What was on the screen (OCR words) and in the accessibility tree (through the guest,
  // when the VM has one) now, at a failure; what could not be had says why.
  // (failure_snapshot.cc)
  FailureSnapshot SnapshotAtFailure();
  // Captures a frame newer than the last input and emits it as a screenshot event.
  void Screenshot(int step_index, const std::string& why, std::string* file_name);
  // Emits `png` as a screenshot event; returns its file name.
  std::string EmitScreenshot(int step_index, const std::string& why, std::string png);
  void EmitEvent(Event event);

  // Why the work in progress must stop now, or OK: the job was lost, its events cannot
  // be reported, or it was cancelled (not during cleanup, which a cancel does not cut
  // short).
  absl::Status Interruption() const;
  bool Lost() const { return options_.cancel && options_.cancel->lost(); }
  // Sleeps until `until`, waking early for an Interruption(), which it returns.
  absl::Status Pause(absl::Time until);
  // Screen::WaitForUpdate, woken early by an Interruption() (then DeadlineExceeded, as
  // if no update came: callers check Interruption() next).
  absl::StatusOr<Frame> WaitForUpdate(uint64_t after_update_seq, absl::Duration timeout);

  PointerRecorder recorder_;  // the screen given, remembering each step's pointer inputs
  Screen& screen_;            // recorder_
  RunnerOptions options_;
  Emit emit_;
  absl::Status emit_status_;
  bool in_cleanup_ = false;
  // Why the last top-level step stopped the steps, when a must_pass step failed the
  // test (what pause on failure holds for).
  std::optional<std::string> test_failure_;
  int screenshot_count_ = 0;
  std::map<std::string, VisualReference> references_;
  // The screen just before the latest input step: what `screen_changes` compares with,
  // so a change that happened before the wait began still counts.
  std::optional<Frame> before_last_action_;
  std::unique_ptr<OcrEngine> ocr_;  // made on first use (~100 ms)
  // The image last sent to the VLM and its screenshot file: polling an unchanged screen
  // does not store it again.
  std::string last_vlm_png_;
  std::string last_vlm_file_;
  uint64_t last_vlm_update_seq_ = 0;  // the framebuffer update last_vlm_png_ was made from

  // What one attempt of one step builds up. Replaced whole when an attempt begins, so
  // nothing of an earlier attempt or step leaks into the next.
  struct Attempt {
    int step_index = -1;  // the step being run, for screenshots taken inside it
    std::string substep;  // and its place in a branch
    // Evidence (candidates, command output, VLM calls), copied into step_finished.
    Event details;
    // When each polled VLM condition was last asked, and whether it held then; keyed
    // by (question, expected answer).
    std::map<std::pair<std::string, bool>, std::pair<absl::Time, bool>> vlm_looks;
    // Set by an if_visible step: the branch to run right after it.
    const std::vector<Step>* branch = nullptr;
    // Set by a wait_for that ended satisfied: the conditions that held then.
    std::vector<std::string> satisfied;
  };
  Attempt attempt_;
  // A bug signal that did not show: why (the report's reason for "not reproduced").
  std::string signal_not_seen_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_SCENARIO_RUNNER_H_

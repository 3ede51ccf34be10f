// A bug scenario's attempt: setup, precondition, the steps that trigger the bug, the
// bug signal — and what the attempt found (core/bug_verdict.h), decided here, where
// each check's result is known.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/observed_environment.h"
#include "core/outcome.h"
#include "core/time_left.h"
#include "vnc-agent/steps/scenario_runner.h"

namespace mosdat {

namespace {

// Where each part of the attempt is numbered: setup, then the precondition (after the
// setup, or after the steps when there is none), the steps, the signal, the cleanup.
struct BugLayout {
  explicit BugLayout(const Scenario& scenario) {
    const BugConfirmation& bug = *scenario.bug;
    const int setup = static_cast<int>(bug.setup.size());
    const bool has_pre = bug.precondition.has_value();
    precondition_first = has_pre && setup > 0;
    precondition_index = precondition_first ? setup : -1;
    steps_base = setup + (precondition_first ? 1 : 0);
    const int after_steps = steps_base + static_cast<int>(scenario.steps.size());
    if (has_pre && !precondition_first) precondition_index = after_steps;
    signal_index = after_steps + (has_pre && !precondition_first ? 1 : 0);
    cleanup_base = signal_index + 1;
  }
  bool precondition_first = false;
  int precondition_index = -1;
  int steps_base = 0;
  int signal_index = 0;
  int cleanup_base = 0;
};

}  // namespace

absl::Status ScenarioRunner::SignalOutcome(const Step& signal, absl::Status waited,
                                           std::string* not_seen) {
  if (waited.ok()) {
    // Which of the conditions held: the report says what showed.
    const std::string what = attempt_.satisfied.empty() ? DescribeStep(signal.kind)
                                                        : absl::StrJoin(attempt_.satisfied, ", ");
    return TestFailure(absl::StrCat("the bug showed: ", what));
  }
  if (OutcomeOf(waited) == Outcome::kTestFailed) {
    *not_seen = absl::StrCat("the bug did not show: ", waited.message());
    signal_not_seen_ = *not_seen;
    return absl::OkStatus();
  }
  return waited;
}

RunOutcome ScenarioRunner::RunBugAttempt(const Scenario& scenario) {
  const BugConfirmation& bug = *scenario.bug;
  const BugLayout layout(scenario);
  RunOutcome outcome;
  // What the attempt found; each set where it is known.
  std::optional<std::string> not_met;         // it never reached the bug's point
  std::optional<std::string> trigger_failed;  // a step of the trigger failed
  std::optional<std::string> shown;           // the signal showed
  bool signal_checked = false;

  // Runs one step; false when it stopped the attempt (the reason is in test_failure_,
  // or the rig failed and `outcome` says so).
  auto run = [&](const Step& step, int index, std::string_view check) {
    if (!Interruption().ok()) return false;
    test_failure_.reset();
    return RunStep(step, index, "", /*cleanup=*/false, &outcome, check) == Flow::kContinue;
  };
  auto failure = [&] { return test_failure_.value_or("the attempt was stopped"); };
  auto rig_failed = [&] {
    return outcome.verdict == JobVerdict::kError || outcome.verdict == JobVerdict::kConfigError ||
           !Interruption().ok();
  };
  auto attempt = [&] {
    for (size_t i = 0; i < bug.setup.size(); ++i) {
      if (!run(bug.setup[i], static_cast<int>(i), "")) {
        if (!rig_failed()) not_met = absl::StrCat("the setup did not finish: ", failure());
        return;
      }
    }
    if (layout.precondition_first &&
        !run(*bug.precondition, layout.precondition_index, kPreconditionCheck)) {
      if (!rig_failed()) not_met = absl::StrCat("the precondition did not hold: ", failure());
      return;
    }
    for (size_t i = 0; i < scenario.steps.size(); ++i) {
      if (!run(scenario.steps[i], layout.steps_base + static_cast<int>(i), "")) {
        if (rig_failed()) return;
        // The bug may be what broke the step (a crash): its signal is still looked for.
        trigger_failed = failure();
        break;
      }
    }
    if (bug.precondition && !layout.precondition_first &&
        !run(*bug.precondition, layout.precondition_index, kPreconditionCheck)) {
      if (!rig_failed()) not_met = absl::StrCat("the precondition did not hold: ", failure());
      return;
    }
    const bool went_on = run(*bug.bug_signal, layout.signal_index, kBugSignalCheck);
    if (rig_failed()) return;
    signal_checked = true;
    if (!went_on) shown = failure();
  };
  ObserveEnvironment(scenario.app);
  attempt();

  if (!rig_failed()) {
    if (not_met) {
      outcome = {JobVerdict::kFail, absl::StrCat("precondition not met: ", *not_met),
                 BugVerdict::kPreconditionNotMet};
    } else if (shown) {
      outcome = {JobVerdict::kFail, absl::StrCat("bug reproduced: ", *shown),
                 BugVerdict::kReproduced};
    } else if (trigger_failed) {
      outcome = {JobVerdict::kFail,
                 absl::StrCat("precondition not met: a step failed before the bug could show, "
                              "and its signal did not: ",
                              *trigger_failed),
                 BugVerdict::kPreconditionNotMet};
    } else if (signal_checked) {
      outcome = {JobVerdict::kPass, absl::StrCat("bug not reproduced: ", signal_not_seen_),
                 BugVerdict::kNotReproduced};
    }
  }
  if (!outcome.bug) outcome.bug = BugVerdict::kHarnessError;
  return Finish(scenario, layout.cleanup_base, std::move(outcome));
}

void ScenarioRunner::ObserveEnvironment(const std::string& app_package) {
  // A VM without SSH is not asked; what it was is then "not observed" in the report.
  if (!options_.guest) return;
  absl::StatusOr<GuestSession*> guest = Guest("environment");
  if (!guest.ok()) return;
  absl::StatusOr<SshExecResult> result =
      (*guest)->Shell(EnvironmentProbeScript(app_package), options_.x11, absl::Seconds(20));
  if (!result.ok() || result->timed_out) {
    Log("warning", absl::StrCat("the VM's environment could not be observed: ",
                                result.ok() ? "the probe timed out" : result.status().message()));
    return;
  }
  Log("info", EnvironmentLogText(ParseEnvironmentProbe(result->out)));
}

absl::StatusOr<bool> ScenarioRunner::ShellHolds(const ShellCondition& condition,
                                                absl::Time deadline, std::string* why_not) {
  absl::StatusOr<GuestSession*> guest = Guest("shell");
  if (!guest.ok()) return guest.status();
  const absl::Duration timeout =
      std::min(TimeLeft(deadline), absl::Seconds(condition.timeout_seconds.value_or(30)));
  absl::StatusOr<SshExecResult> result =
      (*guest)->Shell(condition.command, condition.x11.value_or(options_.x11), timeout);
  if (!result.ok()) return result.status();
  if (result->timed_out) {
    if (why_not != nullptr) {
      *why_not = absl::StrCat("did not finish within ", absl::FormatDuration(timeout));
    }
    return false;
  }
  if (result->exit_code == condition.expect_exit) return true;
  if (why_not != nullptr) {
    *why_not = absl::StrCat("exited with ", result->exit_code, ", not ", condition.expect_exit);
  }
  return false;
}

}  // namespace mosdat

// Bug scenarios: the typed precondition / bug_signal model with file:line:column
// errors, and the verdicts of attempts, VMs and runs (core/bug_verdict.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/bug_verdict.h"
#include "core/scenario.h"
#include "core/scenario_parser.h"

namespace mosdat {
namespace {

std::string DiagsOf(std::string_view yaml) {
  Diagnostics diags;
  ParseScenario(yaml, "bug.yaml", {}, &diags);
  std::vector<std::string> lines;
  for (const Diagnostic& d : diags.items()) lines.push_back(d.ToString());
  return absl::StrJoin(lines, "\n");
}

TEST(BugScenarioTest, SetupPreconditionAndSignalAreTypedWaitSteps) {
  Diagnostics diags;
  Scenario sc = ParseScenario(R"(name: tooltip never appears
issue: {id: 42, url: "https://github.com/o/r/issues/42"}
setup:
  - launch: {command: demo, app: demo}
precondition:
  all:
    - atspi: {role: frame, name: Demo}
    - shell: "test -n \"$WAYLAND_DISPLAY\""
  timeout: 20
steps:
  - hover: {x: 10, y: 10}
bug_signal:
  any:
    - shell: {command: "journalctl -b | grep -q segfault", expect_exit: 0, timeout: 5}
    - text: Segmentation fault
    - visual: {reference: images/blank.png}
    - verify: is the window blank?
  timeout: 4
cleanup:
  - shell: pkill demo
)",
                              "bug.yaml", {}, &diags);
  ASSERT_TRUE(diags.empty()) << diags.ToStatus();
  // This project's dialect: bug_signal is no sign of the original's.
  EXPECT_TRUE(diags.warnings().empty()) << diags.warnings()[0].ToString();
  EXPECT_EQ(sc.kind, "bug-confirmation");  // a bug_signal makes it one
  ASSERT_TRUE(sc.bug.has_value());
  EXPECT_TRUE(sc.bug->Checks());
  EXPECT_EQ(sc.bug->issue.at("id"), "42");
  ASSERT_EQ(sc.bug->setup.size(), 1u);
  ASSERT_TRUE(sc.bug->precondition.has_value());
  const auto& pre = std::get<WaitForStep>(sc.bug->precondition->kind);
  EXPECT_EQ(pre.mode, WaitForStep::Mode::kAll);
  EXPECT_EQ(pre.timeout_seconds, 20);
  ASSERT_EQ(pre.conditions.size(), 2u);
  EXPECT_EQ(std::get<ShellCondition>(pre.conditions[1]).command, "test -n \"$WAYLAND_DISPLAY\"");
  EXPECT_EQ(sc.bug->precondition->common.label, "precondition");
  EXPECT_EQ(sc.bug->precondition->location.ToString(), "bug.yaml:6:3");
  const auto& signal = std::get<WaitForStep>(sc.bug->bug_signal->kind);
  EXPECT_EQ(signal.mode, WaitForStep::Mode::kAny);
  EXPECT_EQ(signal.timeout_seconds, 4);
  ASSERT_EQ(signal.conditions.size(), 4u);
  const auto& shell = std::get<ShellCondition>(signal.conditions[0]);
  EXPECT_EQ(shell.expect_exit, 0);
  EXPECT_EQ(shell.timeout_seconds, 5);
  // Preflight sees the checks: SSH for atspi and shell, the VLM for verify, the image.
  EXPECT_EQ(StepsNeedingSsh(sc).size(), 4u);  // launch, precondition, signal, cleanup
  EXPECT_EQ(StepsNeedingVlm(sc).size(), 1u);
  ASSERT_EQ(ReferenceImages(sc).size(), 1u);
}

TEST(BugScenarioTest, ShortFormsAQuestionOrOneCondition) {
  Diagnostics diags;
  Scenario sc = ParseScenario(R"(kind: bug-confirmation
precondition_check: is the app running?
bug_signal: {shell: {command: "test -e /tmp/core", expect_exit: 0}}
steps:
  - key: ctrl+s
)",
                              "bug.yaml", {}, &diags);
  ASSERT_TRUE(diags.empty()) << diags.ToStatus();
  const auto& pre = std::get<WaitForStep>(sc.bug->precondition->kind);
  EXPECT_EQ(std::get<VlmCondition>(pre.conditions.at(0)).question, "is the app running?");
  EXPECT_EQ(pre.timeout_seconds, 30);  // a precondition's default
  const auto& signal = std::get<WaitForStep>(sc.bug->bug_signal->kind);
  EXPECT_EQ(std::get<ShellCondition>(signal.conditions.at(0)).command, "test -e /tmp/core");
  EXPECT_EQ(signal.timeout_seconds, 10);  // a signal's default
}

TEST(BugScenarioTest, MistakesAreNamedAtTheirPlace) {
  EXPECT_EQ(DiagsOf("kind: bug-confirmation\nsteps: [{key: a}]\n"),
            "bug.yaml:1:7: kind: a bug-confirmation scenario needs \"bug_signal\": the "
            "conditions that mean the bug showed");
  EXPECT_EQ(DiagsOf("precondition: is it up?\nsteps: [{key: a}]\n"),
            "bug.yaml:1:1: precondition: \"precondition\" belongs to a bug scenario: add "
            "\"bug_signal\" (the conditions that mean the bug showed)");
  EXPECT_EQ(
      DiagsOf("precondition: a?\nprecondition_check: b?\nbug_signal: c?\nsteps: [{key: a}]\n"),
      "bug.yaml:2:1: precondition_check: use either \"precondition\" or "
      "\"precondition_check\" (the original's name for a precondition that is a "
      "question), not both");
  EXPECT_EQ(DiagsOf("bug_signal: [a, b]\nsteps: [{key: a}]\n"),
            "bug.yaml:1:13: bug_signal: expected a yes/no question, a condition such as "
            "{shell: ...} or a group {any: [...], timeout: N}, got a list");
  EXPECT_EQ(DiagsOf("bug_signal: {shel: x}\nsteps: [{key: a}]\n"),
            "bug.yaml:1:14: bug_signal.shel: unknown condition \"shel\" (did you mean "
            "\"shell\"?)");
  EXPECT_EQ(DiagsOf("bug_signal: {any: [{shell: {command: x, expect_exit: 300}}]}\n"
                    "steps: [{key: a}]\n"),
            "bug.yaml:1:54: bug_signal.any[0].shell.expect_exit: must be between 0 and 255");
  EXPECT_EQ(DiagsOf("bug_signal: {any: [{text: x}], timeout: -1}\nsteps: [{key: a}]\n"),
            "bug.yaml:1:41: bug_signal.timeout: must be greater than 0 and at most 3600 seconds");
}

TEST(BugVerdictTest, AnAttemptCountsOnlyWhenItReachedTheBug) {
  BugTally tally;
  for (int i = 0; i < 3; ++i) tally.Add(BugVerdict::kReproduced);
  for (int i = 0; i < 7; ++i) tally.Add(BugVerdict::kNotReproduced);
  EXPECT_EQ(Aggregate(tally), BugAggregate::kIntermittent);
  EXPECT_EQ(tally.Rate(), "3/10");

  BugTally all;
  all.Add(BugVerdict::kReproduced);
  all.Add(BugVerdict::kReproduced);
  all.Add(BugVerdict::kPreconditionNotMet);
  EXPECT_EQ(Aggregate(all), BugAggregate::kConfirmed);

  BugTally none;
  none.Add(BugVerdict::kNotReproduced);
  none.Add(BugVerdict::kNotReproduced);
  EXPECT_EQ(Aggregate(none), BugAggregate::kNotReproduced);

  // A precondition that never holds says nothing about the bug.
  BugTally never;
  for (int i = 0; i < 4; ++i) never.Add(BugVerdict::kPreconditionNotMet);
  EXPECT_EQ(Aggregate(never), BugAggregate::kInconclusive);
  // One good attempt of five is too few to call it fixed.
  BugTally few;
  few.Add(BugVerdict::kNotReproduced);
  for (int i = 0; i < 4; ++i) few.Add(BugVerdict::kHarnessError);
  EXPECT_EQ(Aggregate(few), BugAggregate::kInconclusive);
  EXPECT_EQ(Aggregate(BugTally{}), BugAggregate::kInconclusive);
}

TEST(BugVerdictTest, VmsTogether) {
  using A = BugAggregate;
  EXPECT_EQ(AggregateAcrossVms({A::kConfirmed, A::kNotReproduced}), A::kConfirmed);
  EXPECT_EQ(AggregateAcrossVms({A::kConfirmed, A::kIntermittent}), A::kIntermittent);
  EXPECT_EQ(AggregateAcrossVms({A::kNotReproduced, A::kNotReproduced}), A::kNotReproduced);
  // A VM that could not tell keeps "fixed" from being claimed.
  EXPECT_EQ(AggregateAcrossVms({A::kNotReproduced, A::kInconclusive}), A::kInconclusive);
  EXPECT_EQ(AggregateAcrossVms({}), A::kInconclusive);
}

TEST(BugVerdictTest, NamesRoundTrip) {
  for (BugVerdict v : {BugVerdict::kReproduced, BugVerdict::kNotReproduced,
                       BugVerdict::kPreconditionNotMet, BugVerdict::kHarnessError}) {
    EXPECT_EQ(BugVerdictFromString(ToString(v)), v);
  }
  EXPECT_EQ(BugVerdictFromString("fixed"), std::nullopt);
  EXPECT_EQ(ConfirmModeFromString("verify-fix"), ConfirmMode::kVerifyFix);
  EXPECT_EQ(ConfirmModeFromString("verify"), std::nullopt);
}

}  // namespace
}  // namespace mosdat

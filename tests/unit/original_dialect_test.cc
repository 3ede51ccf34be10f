// The original mOSdat's scenario dialect (core/original_dialect.h): each construct is
// written here the original's way (our own files, not the original's) and must parse to
// exactly the steps of its canonical spelling; what differs in meaning between the
// dialects, and what is refused or warned about, is checked by message and place.
#include "core/original_dialect.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/scenario.h"
#include "core/scenario_migrate.h"
#include "core/scenario_parser.h"
#include "tests/unit/in_memory_files.h"

namespace mosdat {
namespace {

// The original's folders lie above the scenario, outside its own tree.
ScenarioOptions AnyFiles(std::map<std::string, std::string> files) {
  ScenarioOptions options = WithFiles(std::move(files));
  options.any_file = true;
  return options;
}

std::string Fingerprint(const std::vector<Step>& steps);

std::string QueryText(const AtspiQuery& q) {
  return absl::StrCat("{role=", q.role, " name=", q.name, " name_substr=", q.name_substr,
                      " app=", q.app, " app_substr=", q.app_substr,
                      " index=", q.index ? *q.index : -1, " states=", absl::StrJoin(q.states, ","),
                      "}");
}

std::string ConditionText(const Condition& c) {
  std::string out(ConditionKindName(c));  // NOLINT
  if (const auto* v = std::get_if<VlmCondition>(&c)) {
    absl::StrAppend(&out, "(", v->question, v->expect ? "=yes" : "=no", ")");
  } else if (const auto* a = std::get_if<AtspiCondition>(&c)) {
    absl::StrAppend(&out, QueryText(a->query), a->exists ? "" : " absent");
  } else if (const auto* t = std::get_if<TextCondition>(&c)) {
    absl::StrAppend(&out, "(", t->text, ")");
  }
  return out;
}

// Every field the rewrite may set, for an exact comparison of two step lists.
std::string StepText(const Step& step) {
  std::string out =
      absl::StrCat(Absl(StepKindName(step.kind)), " label=", step.common.label,
                   " retries=", step.common.retries, " must_pass=", step.common.must_pass,
                   " timeout=", step.common.timeout_seconds.value_or(-1), " ");
  std::visit(
      [&](const auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, LocalizeStep>) {
          absl::StrAppend(&out, k.prompt, " type=", k.then_type.value_or("-"),
                          " key=", k.then_key ? k.then_key->ToString() : "-", " click=", k.click,
                          " button=", static_cast<int>(k.button),
                          " verify_timeout=", k.verify_timeout_seconds.value_or(-1));
          for (const VlmCondition& v : k.verify) {
            absl::StrAppend(&out, " ", v.question, v.expect ? "=yes" : "=no");
          }
        } else if constexpr (std::is_same_v<K, WaitForStep>) {
          absl::StrAppend(&out, k.mode == WaitForStep::Mode::kAll ? "all" : "any",
                          " t=", k.timeout_seconds, " i=", k.interval_seconds);
          for (const Condition& c : k.conditions) absl::StrAppend(&out, " ", ConditionText(c));
        } else if constexpr (std::is_same_v<K, AtspiStep>) {
          absl::StrAppend(&out, QueryText(k.query), " action=", k.action,
                          " via=", static_cast<int>(k.via));
        } else if constexpr (std::is_same_v<K, VerifyAtspiStep>) {
          absl::StrAppend(&out, QueryText(k.query));
        } else if constexpr (std::is_same_v<K, ShellStep>) {
          absl::StrAppend(&out, k.command, " x11=", k.x11 ? (*k.x11 ? "1" : "0") : "-");
        } else if constexpr (std::is_same_v<K, LaunchStep>) {
          absl::StrAppend(&out, k.command, " window=", k.window,
                          " t=", k.timeout_seconds.value_or(-1));
        } else if constexpr (std::is_same_v<K, IfVisibleStep>) {
          absl::StrAppend(&out, ConditionText(k.target), " t=", k.timeout_seconds, " then[",
                          Fingerprint(k.then_steps), "] else[", Fingerprint(k.else_steps), "]");
        } else {
          absl::StrAppend(&out, DescribeStep(step.kind));
        }
      },
      step.kind);
  return out;
}

std::string Fingerprint(const std::vector<Step>& steps) {
  std::vector<std::string> lines;
  for (const Step& s : steps) lines.push_back(StepText(s));
  return absl::StrJoin(lines, "\n");
}

struct Parsed {
  Scenario scenario;
  std::string errors;
  std::string warnings;
};

Parsed Parse(std::string_view yaml, const ScenarioOptions& options = {}) {
  Diagnostics diags;
  Parsed p;
  p.scenario = ParseScenario(yaml, "s.yaml", options, &diags);
  std::vector<std::string> lines;
  for (const Diagnostic& d : diags.items()) lines.push_back(d.ToString());
  p.errors = absl::StrJoin(lines, "\n");
  lines.clear();
  for (const Diagnostic& d : diags.warnings()) lines.push_back(d.ToString());
  p.warnings = absl::StrJoin(lines, "\n");
  return p;
}

// `original` (the original's dialect) reads as the same steps as `canonical`.
void ExpectSameSteps(std::string_view original, std::string_view canonical,
                     const ScenarioOptions& options = {}) {
  Parsed o = Parse(original, options);
  Parsed c = Parse(canonical, options);
  ASSERT_EQ(o.errors, "");
  ASSERT_EQ(c.errors, "");
  EXPECT_NE(o.warnings.find("read in the original mOSdat's dialect"), std::string::npos)
      << o.warnings;
  EXPECT_EQ(c.warnings.find("original"), std::string::npos) << c.warnings;
  EXPECT_EQ(Fingerprint(o.scenario.steps), Fingerprint(c.scenario.steps));
  EXPECT_FALSE(o.scenario.steps.empty());

  // `mosdat migrate` writes the same steps in mOSdat's own dialect.
  Diagnostics diags;
  absl::StatusOr<Migration> migrated = MigrateScenario(original, "s.yaml", &diags);
  ASSERT_TRUE(migrated.ok()) << migrated.status() << "\n" << diags.ToStatus();
  ASSERT_TRUE(migrated->changed);
  Parsed m = Parse(migrated->text, options);
  ASSERT_EQ(m.errors, "") << migrated->text;
  EXPECT_EQ(m.warnings.find("original"), std::string::npos) << migrated->text << m.warnings;
  EXPECT_EQ(Fingerprint(m.scenario.steps), Fingerprint(c.scenario.steps)) << migrated->text;
  Diagnostics again;
  absl::StatusOr<Migration> twice = MigrateScenario(migrated->text, "s.yaml", &again);
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(twice->changed) << "a migrated file is in mOSdat's own dialect";
}

TEST(OriginalDialectTest, VerifyWithTimeoutIsAskedUntilItHoldsAndRetriesCountAttempts) {
  ExpectSameSteps(R"(
steps:
  - verify: "the login page is shown"
    verify_timeout: 25
    retries: 2
  - verify: "a chat is open"
    verify_not: "an error banner is shown"
)",
                  R"(
steps:
  - wait_for: {all: [{verify: "the login page is shown"}], timeout: 25}
    retries: 1
  - wait_for: {all: [{verify: "a chat is open"}, {verify_not: "an error banner is shown"}],
               timeout: 10}
    retries: 2
)");
}

TEST(OriginalDialectTest, ALocalizeStepClicksTypesPressesAndVerifiesAsOneStep) {
  ExpectSameSteps(R"(
steps:
  - localize: "the search box"
    click: right
    then_type: "hello"
    then_key: enter
    verify: "results are listed"
    verify_not: "an error is shown"
    verify_timeout: 12
    retries: 1
  - localize: "the OK button"
    click: true
)",
                  R"(
steps:
  - localize:
      prompt: "the search box"
      button: right
      then_type: "hello"
      then_key: enter
      verify: "results are listed"
      verify_not: "an error is shown"
      verify_timeout: 12
  - localize: {prompt: "the OK button"}
    retries: 2
)");
}

TEST(OriginalDialectTest, ChecksBetweenClickAndTypingKeepTheOriginalsOrder) {
  ExpectSameSteps(R"(
steps:
  - localize: "the URL field"
    verify_click: "the URL field is focused"
    verify_click_diff: true
    canary: true
    canary_verify: "a q is in the URL field"
    then_type: "https://example.org"
    verify_input: "the URL field shows the address"
    then_key: enter
    verify: "the login page is shown"
    verify_timeout: 20
)",
                  R"(
steps:
  - localize: "the URL field"
    retries: 2
  - wait_for: {all: [{screen_changes: }], timeout: 8}
    retries: 2
  - wait_for: {all: [{verify: "the URL field is focused"}], timeout: 8}
    retries: 2
  - type: q
  - wait_for: {all: [{verify: "a q is in the URL field"}], timeout: 8}
    retries: 2
  - key: backspace
  - type: "https://example.org"
  - wait_for: {all: [{verify: "the URL field shows the address"}], timeout: 10}
    retries: 2
  - key: enter
  - wait_for: {all: [{verify: "the login page is shown"}], timeout: 20}
    retries: 2
)");
}

TEST(OriginalDialectTest, StandaloneInputRunsKeyPreTypeKeyThenThePause) {
  ExpectSameSteps(R"(
steps:
  - type: "abc"
    key: ctrl+a
    key_pre: escape
    wait: 2
  - key: "ctrl+comma"
    verify: "the settings are open"
    wait: 1
)",
                  R"(
steps:
  - key: escape
  - type: "abc"
  - key: ctrl+a
  - wait: 2
  - key: ctrl+comma
  - wait: 1
  - wait_for: {all: [{verify: "the settings are open"}], timeout: 10}
    retries: 2
)");
}

TEST(OriginalDialectTest, AtspiSelectorsFlagsAppFilterAndViaHint) {
  ExpectSameSteps(R"(
steps:
  - atspi: {role: "check box", name: "Telephony", app_filter: "rocket", via: "hint"}
  - wait_for: {any: [{role: "frame"}, {role: "push button", name: "Got", name_substr: true}]}
    retries: 1
  - verify_atspi: {role: "page tab", name: "Voice"}
    retries: 1
  - wait_for:
      all:
        - {role: "menu item", name: "Settings"}
      timeout: 30
      app_filter: "rocket"
)",
                  R"(
steps:
  - atspi: {role: "check box", name: "Telephony", app_substr: "rocket", via: hint}
    retries: 2
  - wait_for: {any: [{atspi: {role: frame}}, {atspi: {role: push button, name_substr: "Got"}}],
               timeout: 15, interval: 0.5}
  - verify_atspi: {role: "page tab", name_substr: "Voice"}
  - wait_for: {all: [{atspi: {role: menu item, name: Settings, app_substr: rocket}}],
               timeout: 30, interval: 0.5}
)");
}

TEST(OriginalDialectTest, AtspiWithALocalizeFallbackUsesTheModelOnlyWhenTheObjectIsMissing) {
  ExpectSameSteps(R"(
steps:
  - atspi: {role: "push button", name: "Send"}
    localize: "the Send button"
    retries: 2
)",
                  R"(
steps:
  - if_visible:
      target: {atspi: {role: push button, name: Send}}
      then: [{atspi: {role: push button, name: Send}}]
      else: [{localize: {prompt: "the Send button"}}]
    retries: 1
)");
}

TEST(OriginalDialectTest, IfVisibleAsksIsThereAndRunsItsThenSteps) {
  ExpectSameSteps(R"(
steps:
  - if_visible: "crash report dialog"
    then:
      - localize: "the Cancel button"
        retries: 1
      - wait: 1
)",
                  R"(
steps:
  - if_visible:
      target: {verify: "is there a crash report dialog"}
      then:
        - localize: "the Cancel button"
        - wait: 1
)");
}

TEST(OriginalDialectTest, LaunchFocusAcceptAnyAndShell) {
  ExpectSameSteps(R"(
steps:
  - launch: "/opt/app/app --no-sandbox"
    launch_window: "App"
    wait: 40
    verify: "the app window is shown"
    verify_timeout: 30
    retries: 1
  - focus: "It's App"
    shell: "echo hi"
  - accept_any: ["a dialog is shown", "a banner is shown"]
    verify_timeout: 15
)",
                  R"(
steps:
  - launch: {command: "/opt/app/app --no-sandbox", window: App, timeout: 40}
  - wait_for: {all: [{verify: "the app window is shown"}], timeout: 30}
  - shell: "echo hi"
  - shell: {command: "wmctrl -a 'It'\\''s App'", x11: true}
  - wait_for: {any: [{verify: "a dialog is shown"}, {verify: "a banner is shown"}], timeout: 15}
    retries: 2
)");
}

TEST(OriginalDialectTest, SingleBracePlaceholdersNameVariablesAndOtherBracesStay) {
  ExpectSameSteps(R"(
kind: functional
vars: {workspace_url: "https://chat.example.org", user: jean}
steps:
  - shell: "echo {workspace_url} ${HOME} {unknown} {{ user }}"
)",
                  R"(
vars: {workspace_url: "https://chat.example.org", user: jean}
steps:
  - shell: "echo {{ workspace_url }} ${HOME} {unknown} {{ user }}"
)");
}

TEST(OriginalDialectTest, AFileWithoutAnythingOnlyTheOriginalHasKeepsTheCanonicalMeaning) {
  Parsed p = Parse(R"(
steps:
  - verify: "the window is shown"
    retries: 2
  - shell: "echo {x}"
vars: {x: 1}
)");
  ASSERT_EQ(p.errors, "");
  EXPECT_EQ(p.warnings, "");
  EXPECT_EQ(Fingerprint(p.scenario.steps),
            "verify label= retries=2 must_pass=1 timeout=-1 \"the window is shown\"\n"
            "shell label= retries=0 must_pass=1 timeout=-1 echo {x} x11=-");
}

TEST(OriginalDialectTest, TopLevelKeysOfTheOriginalAreReadOrWarnedAbout) {
  Parsed p = Parse(R"(
app: rocketchat
kind: bug-confirmation
issue: {id: 3308, url: "https://example.org/issues/3308"}
expected_env: {ozone: x11}
bug_signal: "the window is blank"
precondition_check: "the app is running"
schema_version: v1
phases: [{id: a, name: A, from_step: 1}]
description: "uses {{ not_a_var }} literally"
steps:
  - wait: 1
)");
  ASSERT_EQ(p.errors, "");
  EXPECT_EQ(p.scenario.name, "s");
  EXPECT_EQ(p.scenario.app, "rocketchat");
  EXPECT_EQ(p.scenario.kind, "bug-confirmation");
  ASSERT_TRUE(p.scenario.bug.has_value());
  EXPECT_EQ(p.scenario.bug->issue.at("id"), "3308");
  // Its questions are the precondition and the bug signal, asked of the VLM.
  ASSERT_TRUE(p.scenario.bug->bug_signal.has_value());
  const auto& signal = std::get<WaitForStep>(p.scenario.bug->bug_signal->kind);
  EXPECT_EQ(std::get<VlmCondition>(signal.conditions.at(0)).question, "the window is blank");
  ASSERT_TRUE(p.scenario.bug->precondition.has_value());
  const auto& pre = std::get<WaitForStep>(p.scenario.bug->precondition->kind);
  EXPECT_EQ(std::get<VlmCondition>(pre.conditions.at(0)).question, "the app is running");
  EXPECT_EQ(p.scenario.description, "uses {{ not_a_var }} literally");
  EXPECT_NE(p.warnings.find("s.yaml:9:1: \"phases\" is not read here"), std::string::npos)
      << p.warnings;
}

TEST(OriginalDialectTest, WhatCannotBeHonouredIsAnErrorOrAWarningAtItsPlace) {
  Parsed p = Parse(R"(
steps:
  - localize: "the OK button"
    retries: 0
  - localize: "the field"
    then_key_pre: tab
  - verify: "done"
    motion: bezier
    verfy_timeout: 3
  - if_visible: "a dialog"
    then_steps: [{wait: 1}]
)");
  EXPECT_EQ(p.errors,
            "s.yaml:4:14: steps[0]: \"retries: 0\" made the original mOSdat skip this step and "
            "report it passed; remove the step, or write \"retries: 1\" to run it once\n"
            "s.yaml:6:19: steps[1]: \"then_key_pre\": a key between the click and the typing is "
            "not supported yet; press it in a step of its own after this one\n"
            "s.yaml:9:5: steps[2]: unknown key \"verfy_timeout\" in a step of the original mOSdat "
            "(did you mean \"verify_timeout\"?)\n"
            "s.yaml:11:17: steps[3]: \"then_steps\": the original mOSdat did not read this key "
            "(it is \"then\"); write \"then\"\n"
            "s.yaml:10:17: steps[3]: \"if_visible\" needs \"then\" (the steps to run when it is "
            "there)");
  EXPECT_NE(p.warnings.find("s.yaml:8:13: steps[2]: \"motion\": the pointer moves straight"),
            std::string::npos)
      << p.warnings;
}

TEST(OriginalDialectTest, ErrorsInRewrittenStepsPointAtTheOriginalsPlace) {
  Parsed p = Parse(R"(
steps:
  - localize: "the field"
    then_type: "x"
    then_key: "ctrl+nosuchkey"
    verify_timeout: 5
    verify: "ok"
)");
  EXPECT_NE(p.errors.find("s.yaml:5:15:"), std::string::npos) << p.errors;
}

TEST(OriginalDialectTest, ImportsAndRoutinesAreFoundInTheOriginalsFoldersAboveTheScenario) {
  ScenarioOptions options = AnyFiles({
      {"shared/scenarios/imports/cleanup.yaml",
       "steps:\n  - shell: pkill app\n    label: kill it\n  - wait: 1\n"},
      {"shared/routines/open-settings.yaml", R"(
name: open-settings
schema_version: v1
inputs:
  tab: {name: tab, type: string, required: false, default: General}
  who: {name: who, type: string, required: true}
steps:
  - shell: "open {{ tab }} for {{ who }}"
postconditions:
  - verify: "the {{ tab }} tab is shown"
    verify_timeout: 5
)"},
  });
  Diagnostics diags;
  Scenario sc = ParseScenario(R"(
imports: [cleanup]
vars: {who: me}
steps:
  - import: cleanup
  - !import cleanup
  - routine: open-settings
  - routine: {name: open-settings, with: {tab: Voice, who: you}}
)",
                              "shared/scenarios/functional/linux/t.yaml", options, &diags);
  ASSERT_TRUE(diags.empty()) << diags.ToStatus();
  EXPECT_EQ(Fingerprint(sc.steps),
            "shell label=[import:cleanup] kill it retries=0 must_pass=1 timeout=-1 pkill app "
            "x11=-\n"
            "wait label= retries=0 must_pass=1 timeout=-1 1 s\n"
            "shell label=[import:cleanup] kill it retries=0 must_pass=1 timeout=-1 pkill app "
            "x11=-\n"
            "wait label= retries=0 must_pass=1 timeout=-1 1 s\n"
            "shell label= retries=0 must_pass=1 timeout=-1 open General for me x11=-\n"
            "wait_for label= retries=2 must_pass=1 timeout=-1 all t=5 i=0.25 verify(the General "
            "tab is shown=yes)\n"
            "shell label= retries=0 must_pass=1 timeout=-1 open Voice for you x11=-\n"
            "wait_for label= retries=2 must_pass=1 timeout=-1 all t=5 i=0.25 verify(the Voice "
            "tab is shown=yes)");

  Diagnostics missing;
  ParseScenario("steps:\n  - routine: {name: open-settings}\n  - import: ../etc/passwd\n",
                "shared/scenarios/functional/t.yaml", options, &missing);
  EXPECT_EQ(std::string(missing.ToStatus().message()),
            "shared/scenarios/functional/t.yaml:2:14: steps[0]: routine \"open-settings\" needs "
            "the input \"who\" (give it under \"with\", or define the variable)\n"
            "shared/scenarios/functional/t.yaml:3:13: steps[1]: an import is named by a plain "
            "file name (letters, digits, \"-\", \"_\"), not a path");
}

TEST(OriginalDialectTest, AnImportCycleIsAnErrorNotAHang) {
  ScenarioOptions options = AnyFiles({
      {"shared/scenarios/imports/a.yaml", "steps:\n  - import: b\n"},
      {"shared/scenarios/imports/b.yaml", "steps:\n  - import: a\n"},
  });
  Diagnostics diags;
  ParseScenario("steps:\n  - import: a\n", "t.yaml", options, &diags);
  EXPECT_NE(diags.ToStatus().message().find("import cycle: a -> b -> a"), std::string::npos)
      << diags.ToStatus();
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(OriginalDialectTest, ARoutineOfTheVmsPlatformIsPreferred) {
  ScenarioOptions options = AnyFiles({
      {"shared/routines/launch.yaml", "name: launch\nsteps:\n  - shell: linux-launch\n"},
      {"shared/routines/windows/launch.yaml", "name: launch\nsteps:\n  - shell: win-launch\n"},
  });
  auto shell_of = [&](const std::string& os) {
    ScenarioOptions o = options;
    if (!os.empty()) o.overrides["vm.os_type"] = os;
    Diagnostics diags;
    Scenario sc = ParseScenario("steps:\n  - routine: launch\n", "t.yaml", o, &diags);
    EXPECT_TRUE(diags.empty()) << diags.ToStatus();
    return sc.steps.empty() ? "" : std::get<ShellStep>(sc.steps[0].kind).command;
  };
  EXPECT_EQ(shell_of("windows"), "win-launch");
  EXPECT_EQ(shell_of("linux"), "linux-launch");  // no linux/ folder: the top-level routine
  EXPECT_EQ(shell_of(""), "linux-launch");
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(ScenarioMigrateTest, CommentsAboveStepsAndKeysAreKeptAndBlockTextIsUntouched) {
  constexpr char kOriginal[] = R"(# Header: what this test is for
name: commented
# The variables
vars: {n: 3}
steps:
  # ── open the app ──
  - shell: |
      # not a comment: part of the script
      echo {n}
    wait: 1
  # then check it
  - verify: "the app is open"
    verify_timeout: 5
)";
  Diagnostics diags;
  absl::StatusOr<Migration> migrated = MigrateScenario(kOriginal, "c.yaml", &diags);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_EQ(migrated->text, R"(# Header: what this test is for
dialect: mosdat
name: commented
# The variables
vars:
  n: 3
steps:
  # ── open the app ──
  - shell: |
      # not a comment: part of the script
      echo {{ n }}
  - wait: 1
  # then check it
  - wait_for:
      all:
        - verify: "the app is open"
      timeout: 5
    retries: 2
)");
}

TEST(ScenarioMigrateTest, WhatTheParserRefusesIsNotWritten) {
  Diagnostics diags;
  absl::StatusOr<Migration> migrated = MigrateScenario(
      "steps:\n  - verify: x\n    verify_timeout: 2\n    retries: 0\n", "r.yaml", &diags);
  EXPECT_FALSE(migrated.ok());
  EXPECT_NE(diags.ToStatus().message().find("r.yaml:4:14:"), std::string::npos) << diags.ToStatus();
}

TEST(ScenarioMigrateTest, EveryShippedScenarioIsAlreadyInMosdatsOwnDialect) {
  int files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(MOSDAT_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() != ".yaml") continue;
    absl::StatusOr<std::string> text = ReadFile(entry.path().string());
    ASSERT_TRUE(text.ok());
    Diagnostics diags;
    absl::StatusOr<Migration> migrated = MigrateScenario(*text, entry.path().string(), &diags);
    ASSERT_TRUE(migrated.ok()) << entry.path();
    EXPECT_FALSE(migrated->changed) << entry.path() << ": " << migrated->reason;
    EXPECT_EQ(migrated->text, *text);
    ++files;
  }
  EXPECT_GE(files, 5);
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(OriginalDialectTest, TheDialectKeySaysWhichReadingApplies) {
  constexpr char kSteps[] = "steps:\n  - verify: \"shown\"\n    retries: 2\n";
  Parsed original = Parse(absl::StrCat("dialect: original\n", kSteps));
  ASSERT_EQ(original.errors, "");
  EXPECT_EQ(Fingerprint(original.scenario.steps),
            "wait_for label= retries=1 must_pass=1 timeout=-1 all t=10 i=0.25 verify(shown=yes)");
  Parsed ours = Parse(absl::StrCat("dialect: mosdat\nkind: functional\n", kSteps));
  ASSERT_EQ(ours.errors, "");
  EXPECT_EQ(ours.warnings, "");
  EXPECT_EQ(Fingerprint(ours.scenario.steps),
            "verify label= retries=2 must_pass=1 timeout=-1 \"shown\"");
  EXPECT_EQ(Parse(absl::StrCat("dialect: python\n", kSteps)).errors,
            "s.yaml:1:10: dialect: must be \"mosdat\" (this project's) or \"original\" (the "
            "Python mOSdat's)");
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(OriginalDialectTest, TheConfigsWorkspaceUrlYieldsToTheScenariosOwn) {
  ScenarioOptions options;
  options.defaults["workspace_url"] = "https://from.config";
  auto typed = [&](const std::string& vars) {
    Parsed p =
        Parse(absl::StrCat(vars, "steps:\n  - type: \"{workspace_url}\"\n    wait: 1\n"), options);
    EXPECT_EQ(p.errors, "");
    return p.scenario.steps.empty() ? "" : std::get<TypeStep>(p.scenario.steps[0].kind).text;
  };
  EXPECT_EQ(typed(""), "https://from.config");
  EXPECT_EQ(typed("vars: {workspace_url: \"https://own.{{ x }}\", x: y}\n"), "https://own.y");
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(OriginalDialectTest, AHomeRelativePathIsRefusedNotJoinedToTheScenariosFolder) {
  EXPECT_EQ(
      Parse("imports: [\"~/frag.yaml\"]\nsteps:\n  - visual: {reference: \"~/a.png\"}\n").errors,
      "s.yaml:1:11: imports[0]: \"~/frag.yaml\": \"~\" is not expanded in a scenario (its "
      "files travel with it to other machines); write the path relative to this file\n"
      "s.yaml:3:25: steps[0].visual.reference: \"~/a.png\": \"~\" is not expanded in a "
      "scenario (its files travel with it to other machines); write the path relative to "
      "this file");
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(OriginalDialectTest, VerifyAtspiByPartOfTheNameSaysSoAndNameSubstrFalseIsExact) {
  Parsed part = Parse(R"(dialect: original
steps:
  - verify_atspi: {role: label, name: "5"}
)");
  ASSERT_EQ(part.errors, "");
  EXPECT_NE(part.warnings.find("s.yaml:3:39: steps[0]: verify_atspi matches a part of the name "
                               "here, as in the original mOSdat: any object whose name contains "
                               "\"5\" passes; add name_substr: false for the exact name"),
            std::string::npos)
      << part.warnings;
  Parsed exact = Parse(R"(dialect: original
steps:
  - verify_atspi: {role: label, name: "5", name_substr: false}
)");
  ASSERT_EQ(exact.errors, "");
  EXPECT_EQ(exact.warnings.find("a part of the name"), std::string::npos) << exact.warnings;
  EXPECT_EQ(Fingerprint(exact.scenario.steps),
            "verify_atspi label= retries=2 must_pass=1 timeout=-1 {role=label name=5 "
            "name_substr= app= app_substr= index=-1 states=}");
}

}  // namespace
}  // namespace mosdat

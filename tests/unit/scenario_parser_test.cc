// Tests for the scenario model and parser: every step kind, variables, imports and
// fragments, the shipped scenarios, and exact diagnostics for malformed input.
#include "core/scenario_parser.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/scenario.h"
#include "tests/unit/in_memory_files.h"

namespace mosdat {
namespace {

// Every diagnostic of parsing `yaml` as "s.yaml", one per line.
std::string DiagsOf(std::string_view yaml, const ScenarioOptions& options = {}) {
  Diagnostics diags;
  ParseScenario(yaml, "s.yaml", options, &diags);
  std::vector<std::string> lines;
  for (const Diagnostic& d : diags.items()) lines.push_back(d.ToString());
  return absl::StrJoin(lines, "\n");
}

Scenario ParseOk(std::string_view yaml, std::string_view file = "s.yaml",
                 const ScenarioOptions& options = {}) {
  Diagnostics diags;
  Scenario sc = ParseScenario(yaml, file, options, &diags);
  EXPECT_TRUE(diags.empty()) << diags.ToStatus();
  return sc;
}

template <class T>
const T& As(const Step& step) {
  const T* t = std::get_if<T>(&step.kind);
  EXPECT_NE(t, nullptr) << "step is " << StepKindName(step.kind);
  static const T kEmpty{};
  return t ? *t : kEmpty;
}

constexpr char kAllKinds[] = R"yaml(name: all kinds
description: every step type
vars:
  x: 10
  btn: right
steps:
  - shell: echo hi
  - shell: {command: "make test", timeout: 60, expect_exit: 2, x11: true}
    label: run tests
    retries: 2
    timeout: 120
    must_pass: false
  - launch: gtk3-widget-factory
  - launch: {command: gnome-calculator, app: gnome-calculator, window: Calculator, timeout: 30}
  - atspi: {role: push button, name: OK, app: demo, index: 1, states: [focused, Multi-Line], action: press, via: both}
  - verify_atspi: {role: check box, name_substr: Bold, states: [checked], exists: false}
  - localize: the Save button
  - localize: {prompt: message box, then_type: hi, then_key: enter, click: false, accept_any: [text field, input], cross_check: false}
  - ocr: {text: Save, region: {x: 1, y: 2, width: 3, height: 4}, click: true}
  - text: Cancel
  - visual: {reference: images/main.png, region: {x: 0, y: 0, width: 100, height: 50}, threshold: 0.9, timeout: 5}
  - click: {x: "{{ x }}", y: 20, button: middle, count: 2}
  - click: {text: Save, region: {x: 0, y: 0, width: 10, height: 10}}
  - click: OK
  - double_click: {x: 1, y: 2}
  - right_click: {text: File}
  - hover: {x: 5, y: 6}
  - hover: Help
  - drag: {from: {x: 1, y: 2}, to: {x: 3, y: 4}, button: "{{ btn }}"}
  - scroll: {x: 10, y: 20, dy: -3}
  - type: "héllo wörld ✓ 日本"
  - key: ctrl+shift+T
  - wait: 1.5
  - wait_for:
      any:
        - atspi: {role: frame, name_substr: GTK, index: 0, exists: true}
        - text: Saved
        - text: {text: Done, region: {x: 0, y: 0, width: 5, height: 5}}
        - visual: {reference: /abs/done.png, threshold: 0.8}
        - screen_changes:
        - screen_changes: {region: {x: 0, y: 0, width: 5, height: 5}}
        - screen_stable: {for: 2}
        - verify: is the dialog open?
        - verify_not: is there an error?
      timeout: 20
      interval: 0.5
  - wait_for: {all: [{text: A}]}
  - verify: Is the window maximised?
  - verify_not: Is an error shown?
  - if_visible:
      target: {text: Cancel}
      timeout: 2
      then:
        - click: Cancel
        - if_visible:
            target: {verify: "still open?"}
            else: [{key: escape}]
      else:
        - checkpoint: no-dialog
  - checkpoint: done
cleanup:
  - shell: pkill demo
)yaml";

TEST(ScenarioParserTest, EveryStepKind) {
  // /abs/done.png lies outside dir/: allowed only because /abs is listed.
  Scenario sc = ParseOk(kAllKinds, "dir/s.yaml", {.file_roots = {"/abs"}});
  EXPECT_EQ(sc.name, "all kinds");
  EXPECT_EQ(sc.description, "every step type");
  EXPECT_EQ(sc.source_path, "dir/s.yaml");
  ASSERT_EQ(sc.steps.size(), 29u);
  ASSERT_EQ(sc.cleanup.size(), 1u);

  std::vector<std::string_view> kinds;
  for (const Step& s : sc.steps) kinds.push_back(StepKindName(s.kind));
  EXPECT_EQ(kinds,
            (std::vector<std::string_view>{
                "shell",    "shell",    "launch",     "launch",     "atspi",     "verify_atspi",
                "localize", "localize", "ocr",        "ocr",        "visual",    "click",
                "click",    "click",    "click",      "click",      "hover",     "hover",
                "drag",     "scroll",   "type",       "key",        "wait",      "wait_for",
                "wait_for", "verify",   "verify_not", "if_visible", "checkpoint"}));

  const ShellStep& shell0 = As<ShellStep>(sc.steps[0]);
  EXPECT_EQ(shell0.command, "echo hi");
  EXPECT_EQ(shell0.expect_exit, 0);
  EXPECT_FALSE(shell0.x11.has_value());
  EXPECT_EQ(sc.steps[0].location.ToString(), "dir/s.yaml:7:5");
  EXPECT_EQ(sc.steps[0].common.retries, 0);
  EXPECT_TRUE(sc.steps[0].common.must_pass);

  const Step& shell1 = sc.steps[1];
  EXPECT_EQ(As<ShellStep>(shell1).command, "make test");
  EXPECT_EQ(As<ShellStep>(shell1).timeout_seconds, 60.0);
  EXPECT_EQ(As<ShellStep>(shell1).expect_exit, 2);
  EXPECT_EQ(As<ShellStep>(shell1).x11, true);
  EXPECT_EQ(shell1.common.label, "run tests");
  EXPECT_EQ(shell1.common.retries, 2);
  EXPECT_EQ(shell1.common.timeout_seconds, 120.0);
  EXPECT_FALSE(shell1.common.must_pass);

  EXPECT_EQ(As<LaunchStep>(sc.steps[2]).command, "gtk3-widget-factory");
  const LaunchStep& launch = As<LaunchStep>(sc.steps[3]);
  EXPECT_EQ(launch.app, "gnome-calculator");
  EXPECT_EQ(launch.window, "Calculator");
  EXPECT_EQ(launch.timeout_seconds, 30.0);

  const AtspiStep& atspi = As<AtspiStep>(sc.steps[4]);
  EXPECT_EQ(atspi.query.role, "push button");
  EXPECT_EQ(atspi.query.name, "OK");
  EXPECT_EQ(atspi.query.app, "demo");
  EXPECT_EQ(atspi.query.index, 1);
  EXPECT_EQ(atspi.query.states, (std::vector<std::string>{"focused", "multi_line"}));
  EXPECT_EQ(atspi.action, "press");
  EXPECT_EQ(atspi.via, AtspiVia::kBoth);

  const VerifyAtspiStep& va = As<VerifyAtspiStep>(sc.steps[5]);
  EXPECT_EQ(va.query.name_substr, "Bold");
  EXPECT_FALSE(va.exists);

  EXPECT_EQ(As<LocalizeStep>(sc.steps[6]).prompt, "the Save button");
  EXPECT_TRUE(As<LocalizeStep>(sc.steps[6]).click);
  const LocalizeStep& loc = As<LocalizeStep>(sc.steps[7]);
  EXPECT_EQ(loc.then_type, "hi");
  EXPECT_EQ(loc.then_key, (KeyCombo{{}, "enter"}));
  EXPECT_FALSE(loc.click);
  EXPECT_FALSE(loc.cross_check.enabled);
  EXPECT_EQ(loc.accept_any, (std::vector<std::string>{"text field", "input"}));

  const OcrStep& ocr = As<OcrStep>(sc.steps[8]);
  EXPECT_EQ(ocr.region, (Region{1, 2, 3, 4}));
  EXPECT_TRUE(ocr.click);
  EXPECT_EQ(As<OcrStep>(sc.steps[9]).text, "Cancel");
  EXPECT_FALSE(As<OcrStep>(sc.steps[9]).click);

  const VisualStep& visual = As<VisualStep>(sc.steps[10]);
  EXPECT_EQ(visual.reference, "dir/images/main.png");  // relative to the scenario file
  EXPECT_EQ(visual.threshold, 0.9);
  EXPECT_EQ(visual.timeout_seconds, 5.0);

  const ClickStep& click = As<ClickStep>(sc.steps[11]);
  EXPECT_EQ(std::get<Point>(click.target), (Point{10, 20}));  // "{{ x }}" stays an int
  EXPECT_EQ(click.button, MouseButton::kMiddle);
  EXPECT_EQ(click.count, 2);
  EXPECT_EQ(std::get<TextTarget>(As<ClickStep>(sc.steps[12]).target),
            (TextTarget{"Save", Region{0, 0, 10, 10}}));
  EXPECT_EQ(std::get<TextTarget>(As<ClickStep>(sc.steps[13]).target).text, "OK");
  EXPECT_EQ(As<ClickStep>(sc.steps[14]).count, 2);
  EXPECT_EQ(As<ClickStep>(sc.steps[15]).button, MouseButton::kRight);
  EXPECT_EQ(std::get<Point>(As<HoverStep>(sc.steps[16]).target), (Point{5, 6}));
  EXPECT_EQ(std::get<TextTarget>(As<HoverStep>(sc.steps[17]).target).text, "Help");

  const DragStep& drag = As<DragStep>(sc.steps[18]);
  EXPECT_EQ(drag.from, (Point{1, 2}));
  EXPECT_EQ(drag.to, (Point{3, 4}));
  EXPECT_EQ(drag.button, MouseButton::kRight);
  const ScrollStep& scroll = As<ScrollStep>(sc.steps[19]);
  EXPECT_EQ(scroll.at, (Point{10, 20}));
  EXPECT_EQ(scroll.dx, 0);
  EXPECT_EQ(scroll.dy, -3);

  EXPECT_EQ(As<TypeStep>(sc.steps[20]).text, "héllo wörld ✓ 日本");
  EXPECT_EQ(As<KeyStep>(sc.steps[21]).combo, (KeyCombo{{"ctrl", "shift"}, "T"}));
  EXPECT_EQ(As<WaitStep>(sc.steps[22]).seconds, 1.5);

  const WaitForStep& wf = As<WaitForStep>(sc.steps[23]);
  EXPECT_EQ(wf.mode, WaitForStep::Mode::kAny);
  EXPECT_EQ(wf.timeout_seconds, 20);
  EXPECT_EQ(wf.interval_seconds, 0.5);
  std::vector<std::string_view> conditions;
  for (const Condition& c : wf.conditions) conditions.push_back(ConditionKindName(c));
  EXPECT_EQ(conditions, (std::vector<std::string_view>{"atspi", "text", "text", "visual",
                                                       "screen_changes", "screen_changes",
                                                       "screen_stable", "verify", "verify_not"}));
  EXPECT_EQ(std::get<AtspiCondition>(wf.conditions[0]).query.name_substr, "GTK");
  EXPECT_EQ(std::get<TextCondition>(wf.conditions[2]).region, (Region{0, 0, 5, 5}));
  EXPECT_EQ(std::get<VisualCondition>(wf.conditions[3]).reference, "/abs/done.png");
  EXPECT_EQ(std::get<VisualCondition>(wf.conditions[3]).threshold, 0.8);
  EXPECT_FALSE(std::get<ScreenChangesCondition>(wf.conditions[4]).region.has_value());
  EXPECT_EQ(std::get<ScreenStableCondition>(wf.conditions[6]).for_seconds, 2);
  EXPECT_FALSE(std::get<VlmCondition>(wf.conditions[8]).expect);

  const WaitForStep& wf_all = As<WaitForStep>(sc.steps[24]);
  EXPECT_EQ(wf_all.mode, WaitForStep::Mode::kAll);
  EXPECT_EQ(wf_all.timeout_seconds, 10);
  EXPECT_EQ(wf_all.interval_seconds, 0.25);

  EXPECT_TRUE(As<VerifyStep>(sc.steps[25]).expect);
  EXPECT_FALSE(As<VerifyStep>(sc.steps[26]).expect);
  EXPECT_EQ(As<VerifyStep>(sc.steps[26]).question, "Is an error shown?");

  const IfVisibleStep& iv = As<IfVisibleStep>(sc.steps[27]);
  EXPECT_EQ(std::get<TextCondition>(iv.target).text, "Cancel");
  EXPECT_EQ(iv.timeout_seconds, 2);
  ASSERT_EQ(iv.then_steps.size(), 2u);
  ASSERT_EQ(iv.else_steps.size(), 1u);
  EXPECT_EQ(iv.then_steps[0].location.ToString(), "dir/s.yaml:54:11");
  const IfVisibleStep& inner = As<IfVisibleStep>(iv.then_steps[1]);
  EXPECT_TRUE(inner.then_steps.empty());
  EXPECT_EQ(As<KeyStep>(inner.else_steps[0]).combo.key, "escape");
  EXPECT_EQ(As<CheckpointStep>(iv.else_steps[0]).name, "no-dialog");
  EXPECT_EQ(As<CheckpointStep>(sc.steps[28]).name, "done");
  EXPECT_EQ(As<ShellStep>(sc.cleanup[0]).command, "pkill demo");

  EXPECT_EQ(sc.vars.at("x"), Value(10));
}

TEST(ScenarioParserTest, LocalizeCrossChecksAndFollowUpQuestions) {
  Scenario sc = ParseOk(R"yaml(
name: localize forms
steps:
  - localize: {prompt: 'the "Save" button'}
  - localize: {prompt: the save icon, cross_check: {text: Save}, verify: "Is a file dialog open?", verify_not: "Is an error shown?"}
  - localize: {prompt: the save icon, cross_check: {atspi: {role: push button, name: Save}}, if_visible: true}
)yaml");
  ASSERT_EQ(sc.steps.size(), 3u);
  const LocalizeStep& plain = As<LocalizeStep>(sc.steps[0]);
  EXPECT_TRUE(plain.cross_check.enabled);
  EXPECT_FALSE(plain.cross_check.text);
  EXPECT_TRUE(plain.verify.empty());
  const LocalizeStep& text = As<LocalizeStep>(sc.steps[1]);
  EXPECT_EQ(text.cross_check.text, "Save");
  ASSERT_EQ(text.verify.size(), 2u);
  EXPECT_EQ(text.verify[0].question, "Is a file dialog open?");
  EXPECT_TRUE(text.verify[0].expect);
  EXPECT_EQ(text.verify[1].question, "Is an error shown?");
  EXPECT_FALSE(text.verify[1].expect);
  const LocalizeStep& atspi = As<LocalizeStep>(sc.steps[2]);
  ASSERT_TRUE(atspi.cross_check.atspi);
  EXPECT_EQ(atspi.cross_check.atspi->role, "push button");
  EXPECT_EQ(atspi.cross_check.atspi->name, "Save");
  EXPECT_TRUE(atspi.if_visible);
  EXPECT_FALSE(plain.if_visible);
}

TEST(ScenarioDescribeTest, SaysWhatEachStepDoesInAFewWords) {
  Scenario sc = ParseOk(R"yaml(
name: described
steps:
  - key: ctrl+b
  - click: {x: 100, y: 40}
  - click: {text: Save}
  - type: héllo
  - localize: the Save button
  - atspi: {role: push button, name: OK}
  - wait_for: {any: [{text: OK}, {verify: "Done?"}]}
  - drag: {from: {x: 1, y: 2}, to: {x: 3, y: 4}}
  - visual: {reference: refs/main.png}
  - type: "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
)yaml");
  std::vector<std::string> described;
  for (const Step& step : sc.steps) described.push_back(DescribeStep(step.kind));
  ASSERT_EQ(described.size(), 10u);
  EXPECT_EQ(described[0], "ctrl+b");
  EXPECT_EQ(described[1], "(100,40)");
  EXPECT_EQ(described[2], "\"Save\"");
  EXPECT_EQ(described[3], "\"héllo\"");
  EXPECT_EQ(described[4], "\"the Save button\"");
  EXPECT_EQ(described[5], "push button \"OK\"");
  EXPECT_EQ(described[6], "any: text \"OK\", verify \"Done?\"");
  EXPECT_EQ(described[7], "(1,2) to (3,4)");
  EXPECT_EQ(described[8], "main.png");
  // Cut to a progress line: 60 characters (not bytes) with the ellipsis.
  std::string kept;
  for (int i = 0; i < 59; ++i) kept += "é";
  EXPECT_EQ(described[9], "\"" + kept + "\u2026\"");
}

TEST(ScenarioParserTest, StepKindKeysAreSortedAndComplete) {
  std::vector<std::string> keys = StepKindKeys();
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(keys.size(), 22u);
}

TEST(ScenarioKeyComboTest, ParsesAndNormalizes) {
  EXPECT_EQ(*ParseKeyCombo("ctrl+shift+t"), (KeyCombo{{"ctrl", "shift"}, "t"}));
  EXPECT_EQ(*ParseKeyCombo("Ctrl + Alt + Delete"), (KeyCombo{{"ctrl", "alt"}, "delete"}));
  EXPECT_EQ(*ParseKeyCombo("control+Return"), (KeyCombo{{"ctrl"}, "enter"}));
  EXPECT_EQ(*ParseKeyCombo("alt+F4"), (KeyCombo{{"alt"}, "f4"}));
  EXPECT_EQ(*ParseKeyCombo("f24"), (KeyCombo{{}, "f24"}));
  EXPECT_EQ(*ParseKeyCombo("ctrl++"), (KeyCombo{{"ctrl"}, "+"}));
  EXPECT_EQ(*ParseKeyCombo("+"), (KeyCombo{{}, "+"}));
  EXPECT_EQ(*ParseKeyCombo("super"), (KeyCombo{{}, "super"}));
  EXPECT_EQ(*ParseKeyCombo("shift+é"), (KeyCombo{{"shift"}, "é"}));
  EXPECT_EQ(ParseKeyCombo("meta+esc")->ToString(), "meta+escape");
  // The original mOSdat's (and xdotool's) names for punctuation keys.
  EXPECT_EQ(*ParseKeyCombo("ctrl+comma"), (KeyCombo{{"ctrl"}, ","}));
  EXPECT_EQ(*ParseKeyCombo("ctrl+Period"), (KeyCombo{{"ctrl"}, "."}));
  EXPECT_EQ(*ParseKeyCombo("shift+backslash"), (KeyCombo{{"shift"}, "\\"}));
  EXPECT_EQ(*ParseKeyCombo("plus"), (KeyCombo{{}, "+"}));
  EXPECT_FALSE(ParseKeyCombo("comma+a").ok());  // a character is not a modifier
  EXPECT_NE(
      std::string(ParseKeyCombo("ctrl+coma").status().message()).find("(did you mean \"comma\"?)"),
      std::string::npos);

  auto error = [](std::string_view combo) {
    return std::string(ParseKeyCombo(combo).status().message());
  };
  EXPECT_EQ(error(""), "empty key combination");
  EXPECT_EQ(error("ctrl+"), "\"ctrl+\" has no key after the last \"+\"");
  EXPECT_EQ(error("ctrl++a"), "\"ctrl++a\" has an empty part between \"+\" signs");
  EXPECT_EQ(error("ctrl+ctrl+a"), "modifier \"ctrl\" appears twice in \"ctrl+ctrl+a\"");
  EXPECT_EQ(error("f25"),
            "unknown key \"f25\" in \"f25\"; use a single character, its X keysym name (comma, "
            "slash, ...) or one of: enter, escape, tab, "
            "space, backspace, delete, insert, home, end, pageup, pagedown, up, down, left, right, "
            "menu, f1..f24");
  EXPECT_EQ(error("ab"),
            "unknown key \"ab\" in \"ab\" (did you mean \"tab\"?); use a single character, its X "
            "keysym name (comma, slash, ...) or one of: enter, escape, tab, "
            "space, backspace, delete, insert, home, end, pageup, pagedown, up, down, left, right, "
            "menu, f1..f24");
}

// The original mOSdat names a scenario without "name" after its file.
TEST(ScenarioParserTest, ANameDefaultsToTheFileName) {
  EXPECT_EQ(ParseOk("steps:\n  - key: a\n", "dir/login-flow.yaml").name, "login-flow");
  EXPECT_EQ(ParseOk("name: Login\nsteps:\n  - key: a\n", "dir/login-flow.yaml").name, "Login");
  EXPECT_EQ(ParseOk("steps:\n  - key: a\n", "").name, "scenario");
}

TEST(ScenarioParserTest, VariablesKeepTheirTypes) {
  ScenarioOptions options;
  options.overrides = {{"app.binary", Value("/opt/calc {{ not substituted }}")}, {"n", Value(3)}};
  Scenario sc = ParseOk(R"yaml(
name: "{{ app.name }} vars"
vars:
  n: 1                  # overridden to 3
  app:
    name: calc          # nested maps give dotted names
  states: [checked, focused]
  t: 2.5
  quiet: false
  quoted: "7"
  cmd: "{{ app.binary }} --x"
steps:
  - shell: "{{ cmd }}"
    retries: "{{ n }}"
    must_pass: "{{ quiet }}"
    timeout: "{{ t }}"
  - verify_atspi: {role: x, states: "{{ states }}"}
  - type: "{{ n }}"
  - type: "{{ quoted }}"
  - click: {x: "{{ n }}0", y: "{{ quoted }}"}
)yaml",
                        "s.yaml", options);
  EXPECT_EQ(sc.name, "calc vars");
  ASSERT_EQ(sc.steps.size(), 5u);
  EXPECT_EQ(As<ShellStep>(sc.steps[0]).command, "/opt/calc {{ not substituted }} --x");
  EXPECT_EQ(sc.steps[0].common.retries, 3);
  EXPECT_FALSE(sc.steps[0].common.must_pass);
  EXPECT_EQ(sc.steps[0].common.timeout_seconds, 2.5);
  EXPECT_EQ(As<VerifyAtspiStep>(sc.steps[1]).query.states,
            (std::vector<std::string>{"checked", "focused"}));
  EXPECT_EQ(As<TypeStep>(sc.steps[2]).text, "3");
  EXPECT_EQ(As<TypeStep>(sc.steps[3]).text, "7");
  EXPECT_EQ(std::get<Point>(As<ClickStep>(sc.steps[4]).target), (Point{30, 7}));
  EXPECT_EQ(sc.vars.at("n"), Value(3));
  EXPECT_EQ(sc.vars.at("app.name"), Value("calc"));
  EXPECT_EQ(sc.vars.at("quoted"), Value("7"));  // quoted scalars are strings
  EXPECT_EQ(sc.vars.at("t"), Value(2.5));
  EXPECT_EQ(sc.vars.at("cmd"), Value("/opt/calc {{ not substituted }} --x"));
}

ScenarioOptions FragmentFiles() {
  return WithFiles({
      {"dir/frags/common.yaml", R"yaml(imports: [base.yaml]
vars:
  who: common
  greeting: hello
  only_common: c
fragments:
  greet:
    - type: "{{ greeting }} {{ who }}"
    - visual: {reference: img/x.png}
  bye:
    - key: alt+F4
)yaml"},
      {"dir/frags/base.yaml", R"yaml(vars: {greeting: base-hello, base_only: b}
fragments:
  nested:
    - use: greet
    - checkpoint: "{{ base_only }}"
)yaml"},
      {"dir/frags/extra.yaml", "imports: [base.yaml]\nvars: {only_common: extra}\n"},
  });
}

constexpr char kImporting[] = R"yaml(name: imp
imports: [frags/common.yaml, frags/extra.yaml]
vars:
  who: scenario
steps:
  - use: greet
  - key: enter
  - use: nested
cleanup:
  - use: bye
)yaml";

TEST(ScenarioImportTest, FragmentsExpandInlineWithTheirOwnLocations) {
  Scenario sc = ParseOk(kImporting, "dir/s.yaml", FragmentFiles());
  ASSERT_EQ(sc.steps.size(), 6u);
  EXPECT_EQ(As<TypeStep>(sc.steps[0]).text, "hello scenario");
  EXPECT_EQ(sc.steps[0].location.ToString(), "dir/frags/common.yaml:8:7");
  EXPECT_EQ(As<VisualStep>(sc.steps[1]).reference, "dir/frags/img/x.png");
  EXPECT_EQ(As<KeyStep>(sc.steps[2]).combo.ToString(), "enter");
  EXPECT_EQ(sc.steps[2].location.ToString(), "dir/s.yaml:7:5");
  EXPECT_EQ(As<TypeStep>(sc.steps[3]).text, "hello scenario");
  EXPECT_EQ(StepKindName(sc.steps[4].kind), "visual");
  EXPECT_EQ(As<CheckpointStep>(sc.steps[5]).name, "b");
  EXPECT_EQ(sc.steps[5].location.ToString(), "dir/frags/base.yaml:5:7");
  ASSERT_EQ(sc.cleanup.size(), 1u);
  EXPECT_EQ(As<KeyStep>(sc.cleanup[0]).combo.ToString(), "alt+f4");
  // A file's vars override its imports'; later imports override earlier ones.
  EXPECT_EQ(sc.vars.at("greeting"), Value("hello"));
  EXPECT_EQ(sc.vars.at("only_common"), Value("extra"));
  EXPECT_EQ(sc.vars.at("who"), Value("scenario"));
}

TEST(ScenarioImportTest, OverridesBeatScenarioVarsWhichBeatImportedVars) {
  ScenarioOptions options = FragmentFiles();
  options.overrides = {{"greeting", Value("hi")}, {"who", Value("cli")}};
  Scenario sc = ParseOk(kImporting, "dir/s.yaml", options);
  EXPECT_EQ(As<TypeStep>(sc.steps[0]).text, "hi cli");
}

TEST(ScenarioImportTest, ErrorsInFragmentsPointIntoTheFragmentFile) {
  ScenarioOptions options = WithFiles({{"f.yaml", R"yaml(fragments:
  bad:
    - key: ctrl+nope
    - clik: OK
  a: [{use: b}]
  b: [{use: a}]
)yaml"}});
  EXPECT_EQ(DiagsOf("name: t\nimports: [f.yaml]\nsteps:\n  - use: bad\n  - use: bad\n  - use: a\n",
                    options),
            "f.yaml:3:12: fragments.bad[0].key: unknown key \"nope\" in \"ctrl+nope\"; use a "
            "single character, its X keysym name (comma, slash, ...) or one of: enter, escape, "
            "tab, space, backspace, delete, insert, home, end, pageup, pagedown, up, down, left, "
            "right, menu, f1..f24\n"
            "f.yaml:4:7: fragments.bad[1].clik: unknown step type \"clik\" (did you mean "
            "\"click\"?)\n"
            "f.yaml:6:13: fragments.b[0].use: fragment \"a\" uses itself: a -> b -> a");
}

TEST(ScenarioImportTest, ImportProblems) {
  ScenarioOptions options = WithFiles({
      {"a.yaml", "imports: [b.yaml]\nfragments: {x: [{key: a}]}\n"},
      {"b.yaml", "imports: [a.yaml]\n"},
      {"c.yaml", "fragments: {x: [{key: b}]}\nfoo: 1\n"},
      {"d.yaml", "fragments: {x: [{key: b}]"},
  });
  EXPECT_EQ(DiagsOf("name: t\nimports: [a.yaml, c.yaml, nope.yaml, d.yaml, s.yaml, "
                    "\"{{ x }}.yaml\"]\nsteps:\n  - use: y\n",
                    options),
            "b.yaml:1:11: imports[0]: import cycle: a.yaml -> b.yaml -> a.yaml\n"
            "c.yaml:2:1: foo: unknown key \"foo\"; valid keys: vars, fragments, imports\n"
            "c.yaml:1:13: fragments.x: fragment \"x\" is already defined at a.yaml:2:16\n"
            "s.yaml:2:27: imports[2]: cannot read \"nope.yaml\": not found: nope.yaml\n"
            "d.yaml:1:1: end of map flow not found\n"
            "s.yaml:2:46: imports[4]: import cycle: s.yaml -> s.yaml\n"
            "s.yaml:2:54: imports[5]: import paths cannot use variables\n"
            "s.yaml:4:10: steps[0].use: unknown fragment \"y\"; imported fragments: x");
}

TEST(ScenarioImportTest, UseTakesNoOtherKeys) {
  EXPECT_EQ(DiagsOf("name: t\nsteps:\n  - use: x\n    label: y\n"),
            "s.yaml:4:5: steps[0].label: \"label\" cannot be combined with \"use\", which expands "
            "into the fragment's steps");
  EXPECT_EQ(DiagsOf("name: t\nsteps:\n  - use: clos_app\n"),
            "s.yaml:3:10: steps[0].use: unknown fragment \"clos_app\"; no fragments are imported "
            "(add the file under \"imports\")");
}

// One malformed input and the exact diagnostics it must produce.
struct BadCase {
  const char* yaml;
  const char* diagnostics;
};

constexpr char kStepTypes[] =
    "atspi, checkpoint, click, double_click, drag, hover, if_visible, key, launch, localize, ocr, "
    "right_click, scroll, shell, text, type, verify, verify_atspi, verify_not, visual, wait, "
    "wait_for, use";

class ScenarioDiagnosticsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ScenarioDiagnosticsTest, ReportsExactly) {
  EXPECT_EQ(DiagsOf(GetParam().yaml), GetParam().diagnostics);
}

const BadCase kBadCases[] = {
    {"name: t\nsteps:\n  - clik: {x: 1, y: 2}\n",
     "s.yaml:3:5: steps[0].clik: unknown step type \"clik\" (did you mean \"click\"?)"},
    {"name: t\nsteps:\n  - frobnicate: 1\n",
     "s.yaml:3:5: steps[0].frobnicate: unknown step type \"frobnicate\"; step types: atspi, "
     "checkpoint, click, double_click, drag, hover, if_visible, key, launch, localize, ocr, "
     "right_click, scroll, shell, text, type, verify, verify_atspi, verify_not, visual, wait, "
     "wait_for, use"},
    {"name: t\nsteps:\n  - click: OK\n    type: hi\n",
     "s.yaml:4:5: steps[0].type: a step has exactly one type, found \"click\" and \"type\": split "
     "it into two steps"},
    {"name: t\nsteps:\n  - click: OK\n    lable: x\n",
     "s.yaml:4:5: steps[0].lable: unknown key \"lable\" (did you mean \"label\"?)"},
    {"name: t\nsteps:\n  - click: OK\n    colour: red\n",
     "s.yaml:4:5: steps[0].colour: unknown key \"colour\"; besides its type a step takes only "
     "label, retries, timeout, must_pass"},
    {"name: t\nsteps:\n  - shell: ls\n  - atspi:\n      role: button\n      via: mouse\n",
     "s.yaml:6:12: steps[1].atspi.via: must be one of \"pointer\", \"action\", \"both\", \"hint\""},
    {"name: t\nsteps:\n  - atspi: {app: x}\n",
     "s.yaml:3:12: steps[0].atspi: needs at least one of \"role\", \"name\", \"name_substr\""},
    {"name: t\nsteps:\n  - atspi: {name: a, name_substr: b}\n",
     "s.yaml:3:22: steps[0].atspi.name_substr: use either \"name\" or \"name_substr\", not both"},
    {"name: t\nsteps:\n  - verify_atspi: {role: x, text: a, text_substr: b}\n",
     "s.yaml:3:38: steps[0].verify_atspi.text_substr: use either \"text\" or \"text_substr\", "
     "not both"},
    {"name: t\nsteps:\n  - verify_atspi: {role: x, exists: false, text: a}\n",
     "s.yaml:3:44: steps[0].verify_atspi.text: a text check needs the object to exist (drop "
     "\"exists: false\")"},
    {"name: t\nsteps:\n  - atspi: {role: x, text: a}\n",
     "s.yaml:3:22: steps[0].atspi.text: unknown key \"text\"; valid keys: role, name, "
     "name_substr, app, app_substr, index, states, action, via"},
    {"name: t\nsteps:\n  - verify_atspi: {role: x, states: [cheked]}\n",
     "s.yaml:3:38: steps[0].verify_atspi.states[0]: unknown AT-SPI state \"cheked\" (did you "
     "mean \"checked\"?)"},
    {"name: t\nsteps:\n  - atspi: role\n",
     "s.yaml:3:12: steps[0].atspi: expected a map such as {role: push button, name: OK}, got "
     "\"role\""},
    {"name: t\nsteps:\n  - shell: {timeout: 5}\n",
     "s.yaml:3:12: steps[0].shell: missing required key \"command\""},
    {"name: t\nsteps:\n  - shell: {command: x, expect_exit: 300}\n",
     "s.yaml:3:38: steps[0].shell.expect_exit: must be between 0 and 255"},
    {"name: t\nsteps:\n  - shell: {comand: x}\n",
     "s.yaml:3:13: steps[0].shell.comand: unknown key \"comand\" (did you mean \"command\"?)\n"
     "s.yaml:3:12: steps[0].shell: missing required key \"command\""},
    {"name: t\nsteps:\n  - launch: \"\"\n", "s.yaml:3:13: steps[0].launch: must not be empty"},
    {"name: t\nsteps:\n  - key: ctrl+entr\n",
     "s.yaml:3:10: steps[0].key: unknown key \"entr\" in \"ctrl+entr\" (did you mean \"enter\"?); "
     "use a single character, its X keysym name (comma, slash, ...) or one of: enter, escape, "
     "tab, space, backspace, delete, insert, home, end, pageup, pagedown, up, down, left, right, "
     "menu, f1..f24"},
    {"name: t\nsteps:\n  - key: a+b\n",
     "s.yaml:3:10: steps[0].key: \"a\" in \"a+b\" is not a modifier (modifiers: ctrl, shift, alt, "
     "super, meta)"},
    {"name: t\nsteps:\n  - wait: 0\n",
     "s.yaml:3:11: steps[0].wait: must be greater than 0 and at most 3600 seconds"},
    {"name: t\nsteps:\n  - wait: soon\n",
     "s.yaml:3:11: steps[0].wait: expected a number, got \"soon\""},
    {"name: t\nsteps:\n  - wait_for: {any: [{text: a}], all: [{text: b}]}\n",
     "s.yaml:3:34: steps[0].wait_for.all: use either \"any\" or \"all\", not both"},
    {"name: t\nsteps:\n  - wait_for: {timeout: 5}\n",
     "s.yaml:3:15: steps[0].wait_for: needs \"any\" or \"all\" (a list of conditions)"},
    {"name: t\nsteps:\n  - wait_for: {any: []}\n",
     "s.yaml:3:21: steps[0].wait_for.any: expected a non-empty list of conditions, got a list"},
    {"name: t\nsteps:\n  - wait_for: {any: [{txt: a}]}\n",
     "s.yaml:3:23: steps[0].wait_for.any[0].txt: unknown condition \"txt\" (did you mean "
     "\"text\"?)"},
    {"name: t\nsteps:\n  - wait_for: {any: [{text: a, verify: b}]}\n",
     "s.yaml:3:32: steps[0].wait_for.any[0].verify: a condition has exactly one type, found "
     "\"text\" and \"verify\": list them separately"},
    {"name: t\nsteps:\n  - wait_for: {any: [{text: a}], timeout: 1, interval: 2}\n",
     "s.yaml:3:56: steps[0].wait_for.interval: must not be longer than the timeout"},
    {"name: t\nsteps:\n  - wait_for: {any: [{screen_stable: {for: 0}}]}\n",
     "s.yaml:3:44: steps[0].wait_for.any[0].screen_stable.for: must be greater than 0 and at most "
     "3600 seconds"},
    {"name: t\nsteps:\n  - verify: \"\"\n", "s.yaml:3:13: steps[0].verify: must not be empty"},
    {"name: t\nsteps:\n  - if_visible:\n      target: {text: OK}\n      then:\n        - key: "
     "hyper+x\n",
     "s.yaml:6:16: steps[0].if_visible.then[0].key: \"hyper\" in \"hyper+x\" is not a modifier "
     "(modifiers: ctrl, shift, alt, super, meta)"},
    {"name: t\nsteps:\n  - if_visible: {then: [{key: a}]}\n",
     "s.yaml:3:17: steps[0].if_visible: missing required key \"target\""},
    {"name: t\nsteps:\n  - if_visible: {target: {text: a}}\n",
     "s.yaml:3:17: steps[0].if_visible: needs \"then\" or \"else\" (a list of steps)"},
    {"name: t\nsteps:\n  - click: {x: 1, y: 2, text: OK}\n",
     "s.yaml:3:25: steps[0].click.text: use either \"x\"/\"y\" or \"text\", not both"},
    {"name: t\nsteps:\n  - click: {x: 1}\n",
     "s.yaml:3:12: steps[0].click: missing required key \"y\""},
    {"name: t\nsteps:\n  - click: {x: 1, y: 2, count: 3}\n",
     "s.yaml:3:32: steps[0].click.count: must be between 1 and 2"},
    {"name: t\nsteps:\n  - click: {x: -5, y: 2}\n",
     "s.yaml:3:16: steps[0].click.x: must be between 0 and 65535"},
    {"name: t\nsteps:\n  - click: {x: 1, y: 2, button: centre}\n",
     "s.yaml:3:33: steps[0].click.button: must be one of \"left\", \"middle\", \"right\""},
    {"name: t\nsteps:\n  - double_click: {x: 1, y: 2, count: 2}\n",
     "s.yaml:3:32: steps[0].double_click.count: unknown key \"count\"; valid keys: x, y, text, "
     "region, button"},
    {"name: t\nsteps:\n  - hover: {region: {x: 0, y: 0, width: 1, height: 1}, x: 1, y: 1}\n",
     "s.yaml:3:13: steps[0].hover.region: \"region\" only applies to a \"text\" target"},
    {"name: t\nsteps:\n  - visual: {reference: a.png, threshold: 1.5}\n",
     "s.yaml:3:43: steps[0].visual.threshold: must be greater than 0 and at most 1"},
    {"name: t\nsteps:\n  - visual:\n      reference: a.png\n      region: {x: 0, y: 0, height: "
     "5}\n",
     "s.yaml:5:15: steps[0].visual.region: missing required key \"width\""},
    {"name: t\nsteps:\n  - ocr: {text: a, region: {x: 0, y: 0, width: 0, height: 5}}\n",
     "s.yaml:3:48: steps[0].ocr.region.width: must be between 1 and 65535"},
    {"name: t\nsteps:\n  - text: {text: a}\n",
     "s.yaml:3:11: steps[0].text: \"text\" takes a string; use \"ocr\" for a map with region or "
     "click"},
    {"name: t\nsteps:\n  - localize: {prompt: box, then_key: ctrl+}\n",
     "s.yaml:3:39: steps[0].localize.then_key: \"ctrl+\" has no key after the last \"+\""},
    {"name: t\nsteps:\n  - localize: {then_type: x}\n",
     "s.yaml:3:15: steps[0].localize: missing required key \"prompt\""},
    {"name: t\nsteps:\n  - localize: {prompt: box, cross_check: {}}\n",
     "s.yaml:3:42: steps[0].localize.cross_check: needs \"text\" or \"atspi\" (or write "
     "true/false)"},
    {"name: t\nsteps:\n  - localize: {prompt: box, cross_check: {atspi: {app: x}}}\n",
     "s.yaml:3:50: steps[0].localize.cross_check.atspi: needs at least one of \"role\", "
     "\"name\", \"name_substr\""},
    {"name: t\nsteps:\n  - localize: {prompt: box, cross_check: {text: a, atspi: {role: x}}}\n",
     "s.yaml:3:52: steps[0].localize.cross_check.atspi: use either \"text\" or \"atspi\", not "
     "both"},
    {"name: t\nsteps:\n  - localize: {prompt: box, verify_not: \"\"}\n",
     "s.yaml:3:41: steps[0].localize.verify_not: must not be empty"},
    {"name: t\nsteps:\n  - scroll: {x: 1, y: 2}\n",
     "s.yaml:3:13: steps[0].scroll: needs a non-zero \"dx\" or \"dy\""},
    {"name: t\nsteps:\n  - drag: {from: {x: 1, y: 2}}\n",
     "s.yaml:3:11: steps[0].drag: missing required key \"to\""},
    {"name: t\nsteps:\n  - key: a\n    retries: many\n",
     "s.yaml:4:14: steps[0].retries: expected an integer, got \"many\""},
    {"name: t\nsteps:\n  - key: a\n    must_pass: yes\n",
     "s.yaml:4:16: steps[0].must_pass: expected true or false, got \"yes\""},
    {"name: t\nsteps:\n  - key: a\n    timeout: -1\n",
     "s.yaml:4:14: steps[0].timeout: must be greater than 0 and at most 86400 seconds"},
    {"name: t\nsteps:\n  - key: a\n    key: b\n",
     "s.yaml:4:5: steps[0].key: duplicate key \"key\""},
    {"name: t\nsteps:\n  - just a string\n",
     "s.yaml:3:5: steps[0]: expected a step (a map such as {key: enter}), got \"just a string\""},
    {"name: t\nsteps:\n  - label: x\n",
     "s.yaml:3:5: steps[0]: step has no type; add one of: atspi, checkpoint, click, double_click, "
     "drag, hover, if_visible, key, launch, localize, ocr, right_click, scroll, shell, text, type, "
     "verify, verify_atspi, verify_not, visual, wait, wait_for, use"},
    {"name: t\nsteps:\n  - type:\n", "s.yaml:3:5: steps[0].type: expected a string, got nothing"},
    {"name: t\nsteps:\n  - type: [a]\n",
     "s.yaml:3:11: steps[0].type: expected a string, got a list"},
    {"name: t\n", "s.yaml:1:1: missing required key \"steps\""},
    {"name: t\nsteps: []\n", "s.yaml:2:8: steps: must list at least one step"},
    {"name: t\nsteps: {key: a}\n", "s.yaml:2:8: steps: expected a list of steps, got a map"},
    {"name: t\nstep:\n  - key: a\n",
     "s.yaml:2:1: step: unknown key \"step\" (did you mean \"steps\"?)\n"
     "s.yaml:1:1: missing required key \"steps\""},
    {"name: t\nname: u\nsteps: [{key: a}]\n", "s.yaml:2:1: name: duplicate key \"name\""},
    {"name: t\nsteps: [\n", "s.yaml:3:1: end of sequence flow not found"},
    {"name: t\nsteps: [{key: a}]\n---\nname: u\n",
     "s.yaml:4:1: a file holds one YAML document; remove the second \"---\""},
    {"", "s.yaml: empty scenario: it needs \"steps\""},
    // yaml-cpp 0.7 loops forever on this; the parser must stop and say so.
    {",\n",
     "s.yaml:1:1: the YAML parser cannot get past this point (a line starting with \",\" is a "
     "common cause)"},
    {"- a\n", "s.yaml:1:1: expected a scenario (a map with name, steps, ...), got a list"},
    {"name: t\nsteps:\n  - key: a\ncleanup:\n  - shell: {command: x, timeout: 0}\n",
     "s.yaml:5:34: cleanup[0].shell.timeout: must be greater than 0 and at most 86400 seconds"},
    {"name: t\nvars: {greeting: hi}\nsteps:\n  - type: \"{{ greting }}\"\n",
     "s.yaml:4:11: steps[0].type: undefined variable \"greting\" (did you mean \"greeting\"?); "
     "defined: greeting"},
    {"name: t\nsteps:\n  - type: \"{{ x\"\n",
     "s.yaml:3:11: steps[0].type: unterminated \"{{\" at offset 0 (missing \"}}\")"},
    {"name: t\nvars: {n: abc}\nsteps:\n  - wait: \"{{ n }}\"\n",
     "s.yaml:4:11: steps[0].wait: expected a number, got \"abc\""},
    {"name: t\nvars: {l: [a, b]}\nsteps:\n  - type: \"x {{ l }}\"\n",
     "s.yaml:4:11: steps[0].type: variable \"l\" is a list and cannot be part of a longer string "
     "(write {{ l | tojson }} for its JSON)"},
    {"name: t\nvars:\n  a: \"{{ b }}\"\n  b: \"{{ a }}\"\nsteps:\n  - key: a\n",
     "s.yaml:3:6: vars.a: variables refer to each other in a cycle: a -> b -> a\n"
     "s.yaml:4:6: vars.b: variables refer to each other in a cycle: b -> a -> b"},
    {"name: t\nvars:\n  1x: a\n  ok: {nested: [{no: [1, {a: b, a: c}]}]}\nsteps:\n  - key: a\n",
     "s.yaml:3:3: vars: invalid variable name \"1x\" (use letters, digits, \"_\" and \"-\", with "
     "\".\" between parts)\n"
     "s.yaml:4:33: vars.ok.nested[0].no[1].a: duplicate key \"a\""},
    {"name: t\nvars:\n  a: {b: 1}\n  a.b: 2\nsteps:\n  - key: a\n",
     "s.yaml:4:3: vars.a.b: variable \"a.b\" is defined twice"},
    {"name: \"{{ nope }}\"\nsteps:\n  - key: a\n",
     "s.yaml:1:7: name: undefined variable \"nope\"; no variables are defined"},
};

INSTANTIATE_TEST_SUITE_P(ScenarioMalformed, ScenarioDiagnosticsTest,
                         ::testing::ValuesIn(kBadCases));

TEST(ScenarioDiagnosticsCountTest, AtLeastThirtyDistinctCases) {
  EXPECT_GE(std::size(kBadCases), 30u);
}

TEST(ScenarioDiagnosticsTest2, EveryProblemIsReported) {
  Diagnostics diags;
  Scenario sc = ParseScenario(R"yaml(name: many
descripton: typo
steps:
  - clik: OK
  - key: ctrl+nope
  - atspi: {role: button, via: mouse}
  - wait: -1
  - type: hello
    retries: -2
  - key: enter
cleanup:
  - shell: {command: ""}
)yaml",
                              "m.yaml", {}, &diags);
  std::vector<std::string> lines;
  for (const Diagnostic& d : diags.items()) lines.push_back(d.ToString());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "m.yaml:2:1: descripton: unknown key \"descripton\" (did you mean "
                       "\"description\"?)",
                       "m.yaml:4:5: steps[0].clik: unknown step type \"clik\" (did you mean "
                       "\"click\"?)",
                       "m.yaml:5:10: steps[1].key: unknown key \"nope\" in \"ctrl+nope\"; use a "
                       "single character, its X keysym name (comma, slash, ...) or one of: "
                       "enter, escape, tab, space, backspace, delete, insert, home, end, pageup, "
                       "pagedown, up, down, left, right, menu, f1..f24",
                       "m.yaml:6:32: steps[2].atspi.via: must be one of \"pointer\", \"action\", "
                       "\"both\", \"hint\"",
                       "m.yaml:7:11: steps[3].wait: must be greater than 0 and at most 3600 "
                       "seconds",
                       "m.yaml:9:14: steps[4].retries: must be between 0 and 100",
                       "m.yaml:12:22: cleanup[0].shell.command: must not be empty",
                   }));
  // The valid steps are still there, so tools can show what did parse.
  ASSERT_EQ(sc.steps.size(), 1u);
  EXPECT_EQ(As<KeyStep>(sc.steps[0]).combo.key, "enter");
  EXPECT_EQ(diags.ToStatus().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ScenarioRobustnessTest, AliasCyclesAndDeepNestingAreCapped) {
  // A step list that contains itself through an alias.
  std::string diags =
      DiagsOf("name: t\nsteps: &s\n  - if_visible:\n      target: {text: a}\n      then: *s\n");
  EXPECT_NE(diags.find("steps are nested too deeply (limit 16 levels of if_visible and use)"),
            std::string::npos)
      << diags;
  EXPECT_EQ(DiagsOf("name: t\nvars:\n  a: &a [*a]\nsteps: [{key: a}]\n"),
            "s.yaml:3:6: vars.a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: lists are nested "
            "too deeply (limit 16)");
  // Aliases that multiply: 10^6 nodes after expansion.
  std::string big = "name: t\nvars:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'f'; ++c) {
    absl::StrAppend(&big, "  ", std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 10; ++i) absl::StrAppend(&big, i ? ", " : "", "*", std::string(1, c - 1));
    absl::StrAppend(&big, "]\n");
  }
  absl::StrAppend(&big, "steps: [{key: a}]\n");
  EXPECT_EQ(DiagsOf(big),
            "s.yaml: scenario is too large (more than 200000 YAML nodes after "
            "expanding aliases)");
  // Deeply nested flow collections are a YAML error, not a crash.
  std::string deep = "name: t\nsteps: " + std::string(5000, '[') + std::string(5000, ']');
  EXPECT_FALSE(DiagsOf(deep).empty());
}

TEST(ScenarioLoadTest, MissingFileIsNotFound) {
  absl::StatusOr<Scenario> sc = LoadScenario("/nonexistent/x.yaml");
  EXPECT_EQ(sc.status().code(), absl::StatusCode::kNotFound);
}

TEST(ScenarioLoadTest, InvalidFileListsEveryDiagnostic) {
  ScenarioOptions options = WithFiles({{"x.yaml", "name: t\nsteps:\n  - wait: 0\n  - key: q+\n"}});
  absl::StatusOr<Scenario> sc = LoadScenario("x.yaml", options);
  EXPECT_EQ(sc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(sc.status().message()),
            "x.yaml:3:11: steps[0].wait: must be greater than 0 and at most 3600 seconds\n"
            "x.yaml:4:10: steps[1].key: \"q+\" has no key after the last \"+\"");
}

TEST(ScenarioShippedTest, Gtk3WidgetFactorySmoke) {
  absl::StatusOr<Scenario> sc =
      LoadScenario(MOSDAT_SOURCE_DIR "/scenarios/gtk3-widget-factory-smoke.yaml");
  ASSERT_TRUE(sc.ok()) << sc.status();
  EXPECT_EQ(sc->name, "gtk3-widget-factory-smoke");
  ASSERT_GE(sc->steps.size(), 10u);
  EXPECT_EQ(StepKindName(sc->steps[0].kind), "launch");
  EXPECT_EQ(As<LaunchStep>(sc->steps[0]).app, "gtk3-widget-factory");
  // The first wait comes from the fragment file, with its location.
  EXPECT_EQ(StepKindName(sc->steps[1].kind), "wait_for");
  EXPECT_NE(sc->steps[1].location.file.find("scenarios/fragments/common.yaml"), std::string::npos);
  EXPECT_EQ(As<WaitForStep>(sc->steps[1]).timeout_seconds, 30);
  EXPECT_EQ(sc->steps[1].common.label, "gtk3-widget-factory window is up");
  bool has_checkpoint = false, has_verify_atspi = false, has_combo = false;
  for (const Step& s : sc->steps) {
    has_checkpoint |= std::holds_alternative<CheckpointStep>(s.kind);
    has_verify_atspi |= std::holds_alternative<VerifyAtspiStep>(s.kind);
    if (const auto* k = std::get_if<KeyStep>(&s.kind)) has_combo |= !k->combo.modifiers.empty();
  }
  EXPECT_TRUE(has_checkpoint);
  EXPECT_TRUE(has_verify_atspi);
  EXPECT_TRUE(has_combo);
  ASSERT_EQ(sc->cleanup.size(), 1u);
  EXPECT_EQ(StepKindName(sc->cleanup[0].kind), "if_visible");
  // The last steps come from the close_app fragment: alt+F4, then wait for the frame to go.
  const auto& gone = std::get<AtspiCondition>(As<WaitForStep>(sc->steps.back()).conditions[0]);
  EXPECT_FALSE(gone.exists);
  EXPECT_EQ(As<KeyStep>(sc->steps[sc->steps.size() - 2]).combo.ToString(), "alt+f4");
}

TEST(ScenarioShippedTest, CalculatorBasic) {
  absl::StatusOr<Scenario> sc = LoadScenario(MOSDAT_SOURCE_DIR "/scenarios/calculator-basic.yaml");
  ASSERT_TRUE(sc.ok()) << sc.status();
  EXPECT_EQ(sc->name, "calculator-basic");
  std::vector<std::string> pressed;
  for (const Step& s : sc->steps) {
    if (const auto* a = std::get_if<AtspiStep>(&s.kind)) {
      EXPECT_EQ(a->query.role, "push button");
      pressed.push_back(a->query.name_substr);
    }
  }
  EXPECT_EQ(pressed, (std::vector<std::string>{"2", "+", "3", "="}));
  const auto& ready = std::get<AtspiCondition>(As<WaitForStep>(sc->steps[2]).conditions[0]);
  EXPECT_EQ(ready.query.states, (std::vector<std::string>{"sensitive", "visible"}));
}

}  // namespace
}  // namespace mosdat

// Tests for the step and condition tables (core/step_kinds.h): every alternative has a
// row, every key parses in each form its row allows to that row's alternative, aliases
// agree with their canonical row, and the needs the rows describe.
#include "core/step_kinds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/scenario_parser.h"

namespace mosdat {
namespace {

// The steps of a one-step scenario, with its diagnostics joined by newlines.
std::pair<std::vector<Step>, std::string> ParseSteps(std::string_view step_yaml) {
  Diagnostics diags;
  Scenario sc = ParseScenario(absl::StrCat("name: t\nsteps:\n  - ", Absl(step_yaml), "\n"),
                              "s.yaml", ScenarioOptions{.any_file = true}, &diags);
  std::string messages;
  for (const Diagnostic& d : diags.items()) absl::StrAppend(&messages, d.ToString(), "\n");
  return {sc.steps, messages};
}

// The map a row's "expected a map such as {...}" shows, made parseable.
std::string ExampleMap(std::string_view map_expected) {
  std::string example(map_expected.substr(map_expected.find('{')));
  if (size_t steps = example.find("[...]"); steps != std::string::npos) {
    example.replace(steps, 5, "[{wait: 1}]");
  }
  return example;
}

bool TakesScalar(KindForm form) {
  return form == KindForm::kScalar || form == KindForm::kScalarOrMap;
}

template <class Kind>
void ExpectEveryAlternativeHasARow(const std::vector<KindRow<Kind>>& rows) {
  for (size_t i = 0; i < std::variant_size_v<Kind>; ++i) {
    EXPECT_TRUE(std::any_of(rows.begin(), rows.end(),
                            [&](const KindRow<Kind>& row) { return row.preset.index() == i; }))
        << "alternative " << i << " has no row in core/step_kinds.cc";
  }
}

template <class Kind>
void ExpectUniqueKeys(const std::vector<KindRow<Kind>>& rows) {
  std::set<std::string_view> keys;
  for (const KindRow<Kind>& row : rows) EXPECT_TRUE(keys.insert(row.key).second) << row.key;
}

// Aliases share their canonical row's answers: RowOf() only ever returns the latter.
template <class Kind>
void ExpectAliasesAgree(const std::vector<KindRow<Kind>>& rows) {
  for (const KindRow<Kind>& row : rows) {
    const KindRow<Kind>& canonical = RowOf(row.preset);
    EXPECT_EQ(row.input, canonical.input) << row.key;
    EXPECT_EQ(row.needs_vlm, canonical.needs_vlm) << row.key;
    EXPECT_EQ(row.needs_ssh, canonical.needs_ssh) << row.key;
    EXPECT_EQ(row.references, canonical.references) << row.key;
  }
}

TEST(StepKindsTest, EveryAlternativeHasARowAndKeysAreUnique) {
  ExpectEveryAlternativeHasARow(StepKindRows());
  ExpectEveryAlternativeHasARow(ConditionRows());
  ExpectUniqueKeys(StepKindRows());
  ExpectUniqueKeys(ConditionRows());
  ExpectAliasesAgree(StepKindRows());
  ExpectAliasesAgree(ConditionRows());
}

TEST(StepKindsTest, KeyListsComeFromTheRows) {
  EXPECT_EQ(StepKindKeys().size(), StepKindRows().size());
  EXPECT_TRUE(std::is_sorted(StepKindKeys().begin(), StepKindKeys().end()));
  for (const StepKindRow& row : StepKindRows()) {
    EXPECT_EQ(FindStepKindRow(row.key), &row);
    EXPECT_TRUE(std::count(StepKindKeys().begin(), StepKindKeys().end(), row.key)) << row.key;
  }
  EXPECT_EQ(ConditionKeys(),
            (std::vector<std::string>{"atspi", "screen_changes", "screen_stable", "shell", "text",
                                      "verify", "verify_not", "visual"}));
  EXPECT_EQ(FindStepKindRow("use"), nullptr);  // `use` expands fragments; it is no kind
  EXPECT_EQ(FindConditionRow("wait"), nullptr);
}

TEST(StepKindsTest, EveryStepKeyParsesInTheFormsItsRowAllows) {
  for (const StepKindRow& row : StepKindRows()) {
    SCOPED_TRACE(row.key);
    if (TakesScalar(row.form)) {
      auto [steps, errors] = ParseSteps(absl::StrCat(Absl(row.key), ": \"1\""));
      ASSERT_EQ(errors, "");
      ASSERT_EQ(steps.size(), 1u);
      EXPECT_EQ(steps[0].kind.index(), row.preset.index());
      EXPECT_EQ(StepKindName(steps[0].kind), StepKindName(row.preset));
    } else {
      // A scalar is refused with the row's example, and that example parses.
      // (`if_visible: "a dialog"` is the original mOSdat's question form, which needs
      // "then": core/original_dialect.h.)
      auto [none, refused] = ParseSteps(absl::StrCat(Absl(row.key), ": \"1\""));
      if (row.key == "if_visible") {
        EXPECT_EQ(refused,
                  "s.yaml:3:17: steps[0]: \"if_visible\" needs \"then\" (the steps "
                  "to run when it is there)\n");
      } else {
        EXPECT_EQ(refused,
                  absl::StrCat("s.yaml:3:", 5 + row.key.size() + 2, ": steps[0].", Absl(row.key),
                               ": expected ", Absl(row.map_expected), ", got \"1\"\n"));
      }
      auto [steps, errors] =
          ParseSteps(absl::StrCat(Absl(row.key), ": ", ExampleMap(row.map_expected)));
      ASSERT_EQ(errors, "");
      ASSERT_EQ(steps.size(), 1u);
      EXPECT_EQ(steps[0].kind.index(), row.preset.index());
      EXPECT_EQ(StepKindName(steps[0].kind), StepKindName(row.preset));
    }
  }
}

TEST(StepKindsTest, ScalarOnlyKeysRefuseMaps) {
  for (const StepKindRow& row : StepKindRows()) {
    if (row.form != KindForm::kScalar) continue;
    SCOPED_TRACE(row.key);
    auto [steps, errors] = ParseSteps(absl::StrCat(Absl(row.key), ": {a: 1}"));
    EXPECT_TRUE(steps.empty());
    if (!row.map_refused.empty()) {
      EXPECT_NE(errors.find(row.map_refused), std::string::npos) << errors;
    } else {
      EXPECT_NE(errors.find("got a map"), std::string::npos) << errors;
    }
  }
}

TEST(StepKindsTest, EveryConditionKeyParsesToItsRow) {
  for (const ConditionRow& row : ConditionRows()) {
    SCOPED_TRACE(row.key);
    std::string value = TakesScalar(row.form)                ? "\"1\""
                        : row.form == KindForm::kOptionalMap ? "~"
                                                             : ExampleMap(row.map_expected);
    auto [steps, errors] =
        ParseSteps(absl::StrCat("wait_for: {any: [{", Absl(row.key), ": ", value, "}]}"));
    ASSERT_EQ(errors, "");
    ASSERT_EQ(steps.size(), 1u);
    const Condition& parsed = std::get<WaitForStep>(steps[0].kind).conditions.at(0);
    EXPECT_EQ(parsed.index(), row.preset.index());
    EXPECT_EQ(ConditionKindName(parsed), row.key);
  }
}

TEST(StepKindsTest, InputStepsAreThePointerAndKeyboardOnes) {
  std::vector<std::string_view> input;
  for (const StepKindRow& row : StepKindRows()) {
    if (IsInputStep(row.preset)) input.push_back(row.key);
  }
  EXPECT_EQ(input, (std::vector<std::string_view>{"click", "double_click", "right_click", "hover",
                                                  "drag", "scroll", "type", "key"}));
}

// What the step parsed from `step_yaml` needs, as "vlm ssh refs=<references>".
std::string NeedsOf(std::string_view step_yaml) {
  auto [steps, errors] = ParseSteps(step_yaml);
  EXPECT_EQ(errors, "");
  if (steps.size() != 1) return "not parsed";
  const StepKind& kind = steps[0].kind;
  const StepKindRow& row = RowOf(kind);
  std::string out;
  if (row.needs_vlm(kind)) out += "vlm ";
  if (row.needs_ssh(kind)) out += "ssh ";
  for (const std::string& path : row.references(kind)) absl::StrAppend(&out, "ref=", path, " ");
  return out;
}

TEST(StepKindsTest, NeedsFollowTheStepsContent) {
  EXPECT_EQ(NeedsOf("type: hello"), "");
  EXPECT_EQ(NeedsOf("type: héllo"), "ssh ");
  EXPECT_EQ(NeedsOf("shell: ls"), "ssh ");
  EXPECT_EQ(NeedsOf("verify_not: Is it red?"), "vlm ");
  EXPECT_EQ(NeedsOf("localize: the icon"), "vlm ");
  EXPECT_EQ(NeedsOf("localize: {prompt: the field, then_type: naïve}"), "vlm ssh ");
  EXPECT_EQ(NeedsOf("localize: {prompt: OK, cross_check: {atspi: {role: push button}}}"),
            "vlm ssh ");
  EXPECT_EQ(NeedsOf("localize: {prompt: OK, cross_check: false}"), "vlm ");
  EXPECT_EQ(NeedsOf("visual: {reference: /img/a.png}"), "ref=/img/a.png ");
  EXPECT_EQ(NeedsOf("wait_for: {any: [{text: OK}, {screen_stable: ~}]}"), "");
  EXPECT_EQ(NeedsOf("wait_for: {all: [{verify: \"Done?\"}, {atspi: {role: frame}}, "
                    "{visual: {reference: /img/b.png}}]}"),
            "vlm ssh ref=/img/b.png ");
  EXPECT_EQ(NeedsOf("if_visible: {target: {verify_not: \"Busy?\"}, then: [{key: enter}]}"), "vlm ");
}

}  // namespace
}  // namespace mosdat

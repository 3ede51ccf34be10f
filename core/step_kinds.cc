// The step and condition tables. A row's preset names the alternative the key builds;
// its functions answer for the content of a parsed step.
#include "core/step_kinds.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace mosdat {
namespace {

// ---- Content-dependent needs -------------------------------------------------------

bool TypingNeedsSsh(const StepKind& kind) {
  return TypesOffEveryKeymap(std::get<TypeStep>(kind).text);
}

// Typing off the keymap goes through the guest; so does an AT-SPI cross-check.
bool LocalizeNeedsSsh(const StepKind& kind) {
  const auto& s = std::get<LocalizeStep>(kind);
  return (s.then_type && TypesOffEveryKeymap(*s.then_type)) ||
         (s.cross_check.enabled && s.cross_check.atspi);
}

std::vector<std::string> VisualStepReference(const StepKind& kind) {
  return {std::get<VisualStep>(kind).reference};
}

std::vector<std::string> VisualConditionReference(const Condition& condition) {
  return {std::get<VisualCondition>(condition).reference};
}

// The conditions a step polls: wait_for's, or if_visible's target.
std::vector<const Condition*> OwnConditions(const StepKind& kind) {
  std::vector<const Condition*> out;
  if (const auto* wait = std::get_if<WaitForStep>(&kind)) {
    for (const Condition& c : wait->conditions) out.push_back(&c);
  } else if (const auto* branch = std::get_if<IfVisibleStep>(&kind)) {
    out.push_back(&branch->target);
  }
  return out;
}

// A step that polls conditions needs what any of them needs.
template <bool (*ConditionRow::*need)(const Condition&)>
bool ConditionsNeed(const StepKind& kind) {
  std::vector<const Condition*> conditions = OwnConditions(kind);
  return std::any_of(conditions.begin(), conditions.end(),
                     [](const Condition* c) { return (RowOf(*c).*need)(*c); });
}

std::vector<std::string> ConditionReferences(const StepKind& kind) {
  std::vector<std::string> out;
  for (const Condition* c : OwnConditions(kind)) {
    std::vector<std::string> paths = RowOf(*c).references(*c);
    out.insert(out.end(), paths.begin(), paths.end());
  }
  return out;
}

constexpr auto kConditionsNeedVlm = ConditionsNeed<&ConditionRow::needs_vlm>;
constexpr auto kConditionsNeedSsh = ConditionsNeed<&ConditionRow::needs_ssh>;

constexpr std::string_view kAtspiCheckMap = "a map such as {role: check box, states: [checked]}";

// The first row holding `kind`'s alternative: the canonical one, listed before aliases.
template <class Kind>
const KindRow<Kind>& FirstRowOf(const std::vector<KindRow<Kind>>& rows, const Kind& kind) {
  for (const KindRow<Kind>& row : rows) {
    if (row.preset.index() == kind.index()) return row;
  }
  std::abort();  // unreachable: step_kinds_test checks every alternative has a row
}

template <class Kind>
const KindRow<Kind>* FindRow(const std::vector<KindRow<Kind>>& rows, std::string_view key) {
  for (const KindRow<Kind>& row : rows) {
    if (row.key == key) return &row;
  }
  return nullptr;
}

template <class Kind>
std::vector<std::string> SortedKeys(const std::vector<KindRow<Kind>>& rows) {
  std::vector<std::string> keys;
  for (const KindRow<Kind>& row : rows) keys.emplace_back(row.key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Builds one row of the tables below, each call saying one thing about the key.
template <class Kind>
class Row {
 public:
  Row(std::string_view key, Kind preset) {
    row_.key = key;
    row_.preset = std::move(preset);
  }
  Row& Map(std::string_view expected) { return Form(KindForm::kMap, {}, expected); }
  Row& NothingOrMap(std::string_view expected) {
    return Form(KindForm::kOptionalMap, {}, expected);
  }
  Row& Scalar(std::string_view key) { return Form(KindForm::kScalar, key, {}); }
  Row& ScalarOrMap(std::string_view key) { return Form(KindForm::kScalarOrMap, key, {}); }
  Row& RefusingMap(std::string_view message) {
    row_.map_refused = message;
    return *this;
  }
  Row& Input() {
    row_.input = true;
    return *this;
  }
  Row& Vlm(bool (*need)(const Kind&) = Always<Kind>) {
    row_.needs_vlm = need;
    return *this;
  }
  Row& Ssh(bool (*need)(const Kind&) = Always<Kind>) {
    row_.needs_ssh = need;
    return *this;
  }
  Row& References(std::vector<std::string> (*references)(const Kind&)) {
    row_.references = references;
    return *this;
  }
  operator KindRow<Kind>() const { return row_; }

 private:
  Row& Form(KindForm form, std::string_view scalar_key, std::string_view map_expected) {
    row_.form = form;
    row_.scalar_key = scalar_key;
    row_.map_expected = map_expected;
    return *this;
  }

  KindRow<Kind> row_;
};

using StepRow = Row<StepKind>;

}  // namespace

const std::vector<StepKindRow>& StepKindRows() {
  static const auto* const kRows = new std::vector<StepKindRow>{
      StepRow("shell", ShellStep{}).ScalarOrMap("command").Ssh(),
      StepRow("launch", LaunchStep{}).ScalarOrMap("command").Ssh(),
      StepRow("atspi", AtspiStep{}).Map("a map such as {role: push button, name: OK}").Ssh(),
      StepRow("verify_atspi", VerifyAtspiStep{}).Map(kAtspiCheckMap).Ssh(),
      StepRow("localize", LocalizeStep{}).ScalarOrMap("prompt").Vlm().Ssh(LocalizeNeedsSsh),
      StepRow("ocr", OcrStep{}).ScalarOrMap("text"),
      StepRow("text", OcrStep{})
          .Scalar("text")
          .RefusingMap("\"text\" takes a string; use \"ocr\" for a map with region or click"),
      StepRow("visual", VisualStep{})
          .Map("a map such as {reference: images/main.png}")
          .References(VisualStepReference),
      StepRow("click", ClickStep{}).ScalarOrMap("text").Input(),
      StepRow("double_click", ClickStep{.count = 2}).ScalarOrMap("text").Input(),
      StepRow("right_click", ClickStep{.button = MouseButton::kRight}).ScalarOrMap("text").Input(),
      StepRow("hover", HoverStep{}).ScalarOrMap("text").Input(),
      StepRow("drag", DragStep{})
          .Map("a map such as {from: {x: 10, y: 10}, to: {x: 200, y: 10}}")
          .Input(),
      StepRow("scroll", ScrollStep{}).Map("a map such as {x: 640, y: 400, dy: 3}").Input(),
      StepRow("type", TypeStep{}).Scalar("text").Input().Ssh(TypingNeedsSsh),
      StepRow("key", KeyStep{}).Scalar("combo").Input(),
      StepRow("wait", WaitStep{}).Scalar("seconds"),
      StepRow("wait_for", WaitForStep{})
          .Map("a map such as {any: [{text: Saved}], timeout: 10}")
          .Vlm(kConditionsNeedVlm)
          .Ssh(kConditionsNeedSsh)
          .References(ConditionReferences),
      StepRow("verify", VerifyStep{}).Scalar("question").Vlm(),
      StepRow("verify_not", VerifyStep{.expect = false}).Scalar("question").Vlm(),
      StepRow("if_visible", IfVisibleStep{})
          .Map("a map such as {target: {text: Cancel}, then: [...]}")
          .Vlm(kConditionsNeedVlm)
          .Ssh(kConditionsNeedSsh)
          .References(ConditionReferences),
      StepRow("checkpoint", CheckpointStep{}).Scalar("name"),
  };
  return *kRows;
}

const std::vector<ConditionRow>& ConditionRows() {
  static const auto* const kRows = new std::vector<ConditionRow>{
      Row<Condition>("atspi", AtspiCondition{}).Map(kAtspiCheckMap).Ssh(),
      Row<Condition>("text", TextCondition{}).ScalarOrMap("text"),
      Row<Condition>("visual", VisualCondition{})
          .Map("a map such as {reference: images/done.png}")
          .References(VisualConditionReference),
      Row<Condition>("screen_changes", ScreenChangesCondition{})
          .NothingOrMap("nothing or a map such as {region: {...}}"),
      Row<Condition>("screen_stable", ScreenStableCondition{})
          .NothingOrMap("a map such as {for: 1.5}"),
      Row<Condition>("verify", VlmCondition{}).Scalar("question").Vlm(),
      Row<Condition>("verify_not", VlmCondition{.expect = false}).Scalar("question").Vlm(),
      Row<Condition>("shell", ShellCondition{}).ScalarOrMap("command").Ssh(),
  };
  return *kRows;
}

const StepKindRow* FindStepKindRow(std::string_view key) { return FindRow(StepKindRows(), key); }
const ConditionRow* FindConditionRow(std::string_view key) { return FindRow(ConditionRows(), key); }

const StepKindRow& RowOf(const StepKind& kind) { return FirstRowOf(StepKindRows(), kind); }
const ConditionRow& RowOf(const Condition& condition) {
  return FirstRowOf(ConditionRows(), condition);
}

const std::vector<std::string>& StepKindKeys() {
  static const auto* const kKeys = new std::vector<std::string>(SortedKeys(StepKindRows()));
  return *kKeys;
}

const std::vector<std::string>& ConditionKeys() {
  static const auto* const kKeys = new std::vector<std::string>(SortedKeys(ConditionRows()));
  return *kKeys;
}

bool IsInputStep(const StepKind& kind) { return RowOf(kind).input; }

}  // namespace mosdat

// One description per step kind and per condition kind: ONE row per YAML key, aliases
// included. The key list, the parser's dispatch and short forms, the runner's input
// steps, preflight's VLM / SSH / reference-image needs and "did you mean" suggestions
// all read these rows, so a new kind is a new StepKind alternative, its row here and
// its reader in core/scenario_parser.cc (which the compiler asks for).
//
// tests/unit/step_kinds_test.cc checks that every StepKind and Condition alternative
// has a row, that every key parses to its row's alternative, and that aliases agree
// with their canonical row.
#ifndef MOSDAT_CORE_STEP_KINDS_H_
#define MOSDAT_CORE_STEP_KINDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/scenario.h"

namespace mosdat {

// How the YAML value under a kind's key may be written.
enum class KindForm {
  kMap,          // only a map: `atspi: {role: push button, name: OK}`
  kOptionalMap,  // nothing (all defaults) or a map: `screen_changes:`
  kScalar,       // only a scalar: `type: hello`, `wait: 2`
  kScalarOrMap,  // a scalar standing for one key of the map: `shell: ls` = `shell: {command: ls}`
};

template <class Kind>
bool Never(const Kind&) {
  return false;
}
template <class Kind>
bool Always(const Kind&) {
  return true;
}
template <class Kind>
std::vector<std::string> NoReferences(const Kind&) {
  return {};
}

// One YAML key. `Kind` is StepKind or Condition.
template <class Kind>
struct KindRow {
  std::string_view key;
  // The alternative the key builds, holding what the key itself says: double_click
  // is a ClickStep with count 2, verify_not a VerifyStep expecting "no".
  Kind preset;
  KindForm form = KindForm::kMap;
  // kScalar, kScalarOrMap: the map key a scalar value stands for ("command").
  std::string_view scalar_key;
  // kMap, kOptionalMap: what a value of the wrong type is told it should have been.
  std::string_view map_expected;
  // kScalar: the error for a map, when better than "expected a string, got a map".
  std::string_view map_refused;
  // Steps: the runner captures the screen before it, for `screen_changes`.
  bool input = false;
  // Whether this step or condition asks the vision-language model, or reaches into the
  // guest over SSH; some depend on the content (typing off the keymap, conditions).
  bool (*needs_vlm)(const Kind&) = Never<Kind>;
  bool (*needs_ssh)(const Kind&) = Never<Kind>;
  // The visual reference images it compares against (resolved paths).
  std::vector<std::string> (*references)(const Kind&) = NoReferences<Kind>;
};

using StepKindRow = KindRow<StepKind>;
using ConditionRow = KindRow<Condition>;

// Every step key, one row each: canonical keys before their aliases.
const std::vector<StepKindRow>& StepKindRows();
// The row for a YAML step key, or nullptr.
const StepKindRow* FindStepKindRow(std::string_view key);
// The canonical row of a parsed step's alternative (aliases agree with it).
const StepKindRow& RowOf(const StepKind& kind);

// Every condition key (wait_for, if_visible), one row each.
const std::vector<ConditionRow>& ConditionRows();
const ConditionRow* FindConditionRow(std::string_view key);
const ConditionRow& RowOf(const Condition& condition);
// The condition keys, sorted.
const std::vector<std::string>& ConditionKeys();

// Click, hover, drag, scroll, type and key: what `screen_changes` looks for the effect of.
bool IsInputStep(const StepKind& kind);

}  // namespace mosdat

#endif  // MOSDAT_CORE_STEP_KINDS_H_

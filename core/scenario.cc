// Implements the scenario model helpers: kind names and key-combination parsing.
#include "core/scenario.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/step_kinds.h"
#include "core/suggest.h"
#include "core/utf8.h"

namespace mosdat {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 lacks aggregate deduction

constexpr std::string_view kModifiers[] = {"ctrl", "shift", "alt", "super", "meta"};

// Named keys besides f1..f24 and single characters.
constexpr std::string_view kNamedKeys[] = {
    "enter", "escape", "tab",      "space", "backspace", "delete", "insert", "home",
    "end",   "pageup", "pagedown", "up",    "down",      "left",   "right",  "menu"};

// Common spellings accepted for convenience, mapped to the canonical name.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"return", "enter"}, {"esc", "escape"}, {"del", "delete"}, {"control", "ctrl"}};

// The X keysym names of printable ASCII punctuation ("ctrl+comma", as the original
// mOSdat and xdotool write them), mapped to the character itself.
constexpr std::pair<std::string_view, std::string_view> kCharacterNames[] = {
    {"comma", ","},      {"period", "."},      {"slash", "/"},        {"backslash", "\\"},
    {"minus", "-"},      {"equal", "="},       {"plus", "+"},         {"semicolon", ";"},
    {"colon", ":"},      {"apostrophe", "'"},  {"quotedbl", "\""},    {"grave", "`"},
    {"asciitilde", "~"}, {"bracketleft", "["}, {"bracketright", "]"}, {"braceleft", "{"},
    {"braceright", "}"}, {"less", "<"},        {"greater", ">"},      {"question", "?"},
    {"exclam", "!"},     {"at", "@"},          {"numbersign", "#"},   {"dollar", "$"},
    {"percent", "%"},    {"asciicircum", "^"}, {"ampersand", "&"},    {"asterisk", "*"},
    {"parenleft", "("},  {"parenright", ")"},  {"underscore", "_"},   {"bar", "|"}};

template <size_t N>
std::string JoinNames(const std::string_view (&names)[N]) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool IsModifier(std::string_view s) {
  return std::find(std::begin(kModifiers), std::end(kModifiers), s) != std::end(kModifiers);
}

bool IsFunctionKey(std::string_view s) {
  if (s.size() < 2 || s.size() > 3 || s[0] != 'f') return false;
  if (!absl::ascii_isdigit(s[1]) || s[1] == '0') return false;
  int n = s[1] - '0';
  if (s.size() == 3) {
    if (!absl::ascii_isdigit(s[2])) return false;
    n = n * 10 + (s[2] - '0');
  }
  return n >= 1 && n <= 24;
}

// True when `s` is exactly one UTF-8 encoded code point.
bool IsSingleCodePoint(std::string_view s) {
  if (s.empty()) return false;
  unsigned char c = static_cast<unsigned char>(s[0]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || s.size() != len) return false;
  for (size_t i = 1; i < len; ++i) {
    if ((static_cast<unsigned char>(s[i]) >> 6) != 0x2) return false;
  }
  return true;
}

std::string Canonical(std::string_view part) {
  std::string lower = absl::AsciiStrToLower(Absl(part));
  for (const auto& [alias, name] : kAliases) {
    if (lower == alias) return std::string(name);
  }
  for (const auto& [name, character] : kCharacterNames) {
    if (lower == name) return std::string(character);
  }
  return lower;
}

std::string UnknownKeyError(std::string_view part, std::string_view combo) {
  std::vector<std::string> names(std::begin(kNamedKeys), std::end(kNamedKeys));
  names.insert(names.end(), std::begin(kModifiers), std::end(kModifiers));
  for (const auto& [name, character] : kCharacterNames) names.emplace_back(name);
  std::string close = ClosestName(absl::AsciiStrToLower(Absl(part)), names);
  std::string msg = absl::StrCat("unknown key \"", Absl(part), "\" in \"", Absl(combo), "\"");
  if (!close.empty()) absl::StrAppend(&msg, " (did you mean \"", close, "\"?)");
  absl::StrAppend(&msg,
                  "; use a single character, its X keysym name (comma, slash, ...) or one of: ",
                  JoinNames(kNamedKeys), ", f1..f24");
  return msg;
}

}  // namespace

std::string KeyCombo::ToString() const {
  std::vector<std::string> parts = modifiers;
  parts.push_back(key);
  return absl::StrJoin(parts, "+");
}

absl::StatusOr<KeyCombo> ParseKeyCombo(std::string_view combo) {
  std::string_view text = Std(absl::StripAsciiWhitespace(Absl(combo)));
  if (text.empty()) return absl::InvalidArgumentError("empty key combination");
  std::vector<std::string_view> parts;
  for (absl::string_view p : absl::StrSplit(Absl(text), '+')) parts.push_back(Std(p));
  // "ctrl++" and "+" mean the '+' key: the split leaves two empty parts at the end.
  if (parts.size() >= 2 && parts.back().empty() && parts[parts.size() - 2].empty()) {
    parts.pop_back();
    parts.back() = "+";
  }
  if (Std(absl::StripAsciiWhitespace(Absl(parts.back()))).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", Absl(text), "\" has no key after the last \"+\""));
  }
  KeyCombo out;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = Std(absl::StripAsciiWhitespace(Absl(parts[i])));
    bool last = i + 1 == parts.size();
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", Absl(text), "\" has an empty part between \"+\" signs"));
    }
    std::string name = Canonical(part);
    if (!last) {
      if (!IsModifier(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", Absl(part), "\" in \"", Absl(text),
                         "\" is not a modifier (modifiers: ", JoinNames(kModifiers), ")"));
      }
      if (std::find(out.modifiers.begin(), out.modifiers.end(), name) != out.modifiers.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("modifier \"", name, "\" appears twice in \"", Absl(text), "\""));
      }
      out.modifiers.push_back(std::move(name));
      continue;
    }
    if (IsSingleCodePoint(part)) {
      out.key = std::string(part);
    } else if (IsSingleCodePoint(name)) {  // a character's name: "comma"
      out.key = std::move(name);
    } else if (IsModifier(name) || IsFunctionKey(name) ||
               std::find(std::begin(kNamedKeys), std::end(kNamedKeys), name) !=
                   std::end(kNamedKeys)) {
      out.key = std::move(name);
    } else {
      return absl::InvalidArgumentError(UnknownKeyError(part, text));
    }
  }
  return out;
}

const std::vector<std::string>& KnownAtspiStates() {
  // AT-SPI's AtspiStateType names, '-' written as '_'.
  static const auto* const kStates = new std::vector<std::string>{"active",
                                                                  "animated",
                                                                  "armed",
                                                                  "busy",
                                                                  "checkable",
                                                                  "checked",
                                                                  "collapsed",
                                                                  "defunct",
                                                                  "editable",
                                                                  "enabled",
                                                                  "expandable",
                                                                  "expanded",
                                                                  "focusable",
                                                                  "focused",
                                                                  "has_popup",
                                                                  "has_tooltip",
                                                                  "horizontal",
                                                                  "iconified",
                                                                  "indeterminate",
                                                                  "invalid",
                                                                  "invalid_entry",
                                                                  "is_default",
                                                                  "manages_descendants",
                                                                  "modal",
                                                                  "multi_line",
                                                                  "multiselectable",
                                                                  "opaque",
                                                                  "pressed",
                                                                  "read_only",
                                                                  "required",
                                                                  "resizable",
                                                                  "selectable",
                                                                  "selectable_text",
                                                                  "selected",
                                                                  "sensitive",
                                                                  "showing",
                                                                  "single_line",
                                                                  "stale",
                                                                  "supports_autocompletion",
                                                                  "transient",
                                                                  "truncated",
                                                                  "vertical",
                                                                  "visible",
                                                                  "visited"};
  return *kStates;
}

std::string_view ConditionKindName(const Condition& condition) {
  return std::visit(
      Overloaded{
          [](const AtspiCondition&) -> std::string_view { return "atspi"; },
          [](const TextCondition&) -> std::string_view { return "text"; },
          [](const VisualCondition&) -> std::string_view { return "visual"; },
          [](const ScreenChangesCondition&) -> std::string_view { return "screen_changes"; },
          [](const ScreenStableCondition&) -> std::string_view { return "screen_stable"; },
          [](const VlmCondition& c) -> std::string_view {
            return c.expect ? "verify" : "verify_not";
          },
          [](const ShellCondition&) -> std::string_view { return "shell"; },
      },
      condition);
}

std::string_view StepKindName(const StepKind& kind) {
  return std::visit(Overloaded{
                        [](const ShellStep&) -> std::string_view { return "shell"; },
                        [](const LaunchStep&) -> std::string_view { return "launch"; },
                        [](const AtspiStep&) -> std::string_view { return "atspi"; },
                        [](const VerifyAtspiStep&) -> std::string_view { return "verify_atspi"; },
                        [](const LocalizeStep&) -> std::string_view { return "localize"; },
                        [](const OcrStep&) -> std::string_view { return "ocr"; },
                        [](const VisualStep&) -> std::string_view { return "visual"; },
                        [](const ClickStep&) -> std::string_view { return "click"; },
                        [](const HoverStep&) -> std::string_view { return "hover"; },
                        [](const DragStep&) -> std::string_view { return "drag"; },
                        [](const ScrollStep&) -> std::string_view { return "scroll"; },
                        [](const TypeStep&) -> std::string_view { return "type"; },
                        [](const KeyStep&) -> std::string_view { return "key"; },
                        [](const WaitStep&) -> std::string_view { return "wait"; },
                        [](const WaitForStep&) -> std::string_view { return "wait_for"; },
                        [](const VerifyStep& s) -> std::string_view {
                          return s.expect ? "verify" : "verify_not";
                        },
                        [](const IfVisibleStep&) -> std::string_view { return "if_visible"; },
                        [](const CheckpointStep&) -> std::string_view { return "checkpoint"; },
                    },
                    kind);
}

namespace {

constexpr size_t kDescriptionChars = 60;

// `text` in quotes, cut to fit a progress line (on a UTF-8 character boundary).
std::string Quoted(const std::string& text) {
  std::string shown = ShortenText(text, kDescriptionChars);
  for (char& c : shown) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return absl::StrCat("\"", shown, "\"");
}

std::string At(const Point& p) { return absl::StrCat("(", p.x, ",", p.y, ")"); }

std::string Target(const std::variant<Point, TextTarget>& target) {
  if (const auto* p = std::get_if<Point>(&target)) return At(*p);
  return Quoted(std::get<TextTarget>(target).text);
}

std::string Query(const AtspiQuery& q) {
  std::string out = q.role;
  const std::string& name = q.name.empty() ? q.name_substr : q.name;
  if (!name.empty()) absl::StrAppend(&out, out.empty() ? "" : " ", Quoted(name));
  return out;
}

}  // namespace

std::string DescribeCondition(const Condition& condition) {
  return std::visit(
      Overloaded{
          [](const AtspiCondition& c) { return absl::StrCat("atspi ", Query(c.query)); },
          [](const TextCondition& c) { return absl::StrCat("text ", Quoted(c.text)); },
          [](const VisualCondition& c) { return absl::StrCat("visual ", c.reference); },
          [](const ScreenChangesCondition&) { return std::string("screen_changes"); },
          [](const ScreenStableCondition&) { return std::string("screen_stable"); },
          [](const VlmCondition& c) {
            return absl::StrCat(c.expect ? "verify " : "verify_not ", Quoted(c.question));
          },
          [](const ShellCondition& c) { return absl::StrCat("shell ", Quoted(c.command)); },
      },
      condition);
}

std::string DescribeStep(const StepKind& kind) {
  return std::visit(
      Overloaded{
          [](const ShellStep& s) { return Quoted(s.command); },
          [](const LaunchStep& s) { return Quoted(s.command); },
          [](const AtspiStep& s) { return Query(s.query); },
          [](const VerifyAtspiStep& s) { return Query(s.query); },
          [](const LocalizeStep& s) { return Quoted(s.prompt); },
          [](const OcrStep& s) { return Quoted(s.text); },
          [](const VisualStep& s) { return s.reference.substr(s.reference.rfind('/') + 1); },
          [](const ClickStep& s) { return Target(s.target); },
          [](const HoverStep& s) { return Target(s.target); },
          [](const DragStep& s) { return absl::StrCat(At(s.from), " to ", At(s.to)); },
          [](const ScrollStep& s) {
            return absl::StrCat("dx ", s.dx, " dy ", s.dy, " at ", At(s.at));
          },
          [](const TypeStep& s) { return Quoted(s.text); },
          [](const KeyStep& s) { return s.combo.ToString(); },
          [](const WaitStep& s) { return absl::StrCat(s.seconds, " s"); },
          [](const WaitForStep& s) {
            std::vector<std::string> parts;
            for (const Condition& c : s.conditions) parts.push_back(DescribeCondition(c));
            return absl::StrCat(s.mode == WaitForStep::Mode::kAny ? "any: " : "all: ",
                                absl::StrJoin(parts, ", "));
          },
          [](const VerifyStep& s) { return Quoted(s.question); },
          [](const IfVisibleStep& s) { return DescribeCondition(s.target); },
          [](const CheckpointStep& s) { return s.name; },
      },
      kind);
}

namespace {

void VisitSteps(const std::vector<Step>& steps, const std::function<void(const Step&)>& visit) {
  for (const Step& step : steps) {
    visit(step);
    if (const auto* branch = std::get_if<IfVisibleStep>(&step.kind)) {
      VisitSteps(branch->then_steps, visit);
      VisitSteps(branch->else_steps, visit);
    }
  }
}

// The steps whose row says they need it.
std::vector<const Step*> StepsWhere(const Scenario& scenario,
                                    bool (*StepKindRow::*need)(const StepKind&)) {
  std::vector<const Step*> out;
  ForEachStep(scenario, [&](const Step& step) {
    if ((RowOf(step.kind).*need)(step.kind)) out.push_back(&step);
  });
  return out;
}

}  // namespace

void ForEachStep(const Scenario& scenario, const std::function<void(const Step&)>& visit) {
  if (scenario.bug) {
    VisitSteps(scenario.bug->setup, visit);
    if (scenario.bug->precondition) visit(*scenario.bug->precondition);
  }
  VisitSteps(scenario.steps, visit);
  if (scenario.bug && scenario.bug->bug_signal) visit(*scenario.bug->bug_signal);
  VisitSteps(scenario.cleanup, visit);
}

std::vector<const Step*> StepsNeedingVlm(const Scenario& scenario) {
  return StepsWhere(scenario, &StepKindRow::needs_vlm);
}

bool TypesOffEveryKeymap(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return !((c >= 0x20 && c <= 0x7e) || c == '\n' || c == '\t'); });
}

std::vector<const Step*> StepsNeedingSsh(const Scenario& scenario) {
  return StepsWhere(scenario, &StepKindRow::needs_ssh);
}

std::vector<std::pair<const Step*, std::string>> ReferenceImages(const Scenario& scenario) {
  std::vector<std::pair<const Step*, std::string>> out;
  ForEachStep(scenario, [&](const Step& step) {
    for (std::string& path : RowOf(step.kind).references(step.kind)) {
      out.emplace_back(&step, std::move(path));
    }
  });
  return out;
}

}  // namespace mosdat

// Rewrites the original mOSdat's steps into canonical step maps. What the original did
// with each key (its runner performed one step map in a fixed order) is kept here as
// the order of the maps this file makes; see core/original_dialect.h for the meanings.
#include "core/original_dialect.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/step_kinds.h"
#include "core/suggest.h"

namespace mosdat {
namespace {

// Every step key the original had; the first group is what only the original has.
const std::vector<std::string>& OriginalOnlyStepKeys() {
  static const auto* const kKeys = new std::vector<std::string>{"verify_timeout",
                                                                "then_type",
                                                                "then_key",
                                                                "then_key_pre",
                                                                "key_pre",
                                                                "verify_input",
                                                                "verify_click",
                                                                "verify_click_diff",
                                                                "verify_click_diff_prompt",
                                                                "verify_click_diff_crop",
                                                                "launch_window",
                                                                "launch_timeout",
                                                                "dwell_ms",
                                                                "motion",
                                                                "precheck_click",
                                                                "focus",
                                                                "localize_consistent",
                                                                "verify_consistent",
                                                                "then",
                                                                "then_steps",
                                                                "on_failure_agent",
                                                                "canary",
                                                                "canary_verify",
                                                                "canary_char",
                                                                "accept_any",
                                                                "popup_sweep"};
  return *kKeys;
}

const std::vector<std::string>& SharedStepKeys() {
  static const auto* const kKeys = new std::vector<std::string>{
      "localize",  "click",  "type",  "key",          "verify",     "verify_not",
      "retries",   "launch", "wait",  "shell",        "if_visible", "checkpoint",
      "must_pass", "label",  "atspi", "verify_atspi", "wait_for",   "timeout"};
  return *kKeys;
}

// A canonical step kind (core/step_kinds.h), or `use`.
bool IsCanonicalKind(const std::string& key) {
  return key == "use" || FindStepKindRow(key) != nullptr;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

YAML::Node NewMap() { return YAML::Node(YAML::NodeType::Map); }
YAML::Node NewList() { return YAML::Node(YAML::NodeType::Sequence); }

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

// `{name}` → `{{ name }}` for the names in `names`; everything else as written.
std::string ExpandPlaceholders(const std::string& text, const std::set<std::string>& names) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    if (open == std::string::npos) break;
    size_t end = open + 1;
    while (end < text.size() && IsNameChar(text[end])) ++end;
    const bool braced = end < text.size() && text[end] == '}' && end > open + 1;
    const bool doubled = (open > 0 && text[open - 1] == '{') ||
                         (braced && end + 1 < text.size() && text[end + 1] == '}');
    if (braced && !doubled && names.contains(text.substr(open + 1, end - open - 1))) {
      absl::StrAppend(&out, text.substr(i, open - i), "{{ ", text.substr(open + 1, end - open - 1),
                      " }}");
      i = end + 1;
    } else {
      out += text.substr(i, open + 1 - i);
      i = open + 1;
    }
  }
  out += text.substr(i);
  return out;
}

// Reads one original step map; each Take() marks a key as used, so what is left over
// can be reported as unknown.
class StepMap {
 public:
  StepMap(const YAML::Node& step, const OriginalRewriteOptions& options, DialectReporter& report)
      : step_(step), options_(options), report_(report) {}

  // Present and not taken yet.
  bool Has(const std::string& key) const {
    return !used_.contains(key) && Lookup(step_, key).IsDefined();
  }

  YAML::Node Take(const std::string& key) {
    used_.insert(key);
    return Lookup(step_, key);
  }

  // A string field, placeholders expanded (a new node then, placed at the step).
  YAML::Node TakeText(const std::string& key) {
    YAML::Node value = Take(key);
    return Expanded(value);
  }

  YAML::Node Expanded(const YAML::Node& value) const {
    if (!value.IsScalar()) return value;
    std::string expanded = ExpandPlaceholders(value.Scalar(), options_.placeholders);
    if (expanded == value.Scalar()) return value;
    return YAML::Node(expanded);
  }

  // A non-negative whole number, or nullopt (reported).
  std::optional<int> TakeInt(const std::string& key) {
    YAML::Node value = Take(key);
    int n = 0;
    if (!value.IsScalar() || !absl::SimpleAtoi(value.Scalar(), &n) || n < 0) {
      report_.Error(value, absl::StrCat("\"", key, "\" takes a whole number of ",
                                        key == "retries" ? "attempts" : "seconds"));
      return std::nullopt;
    }
    return n;
  }

  void Warn(const std::string& key, const std::string& message) {
    if (Has(key)) report_.Warn(Take(key), absl::StrCat("\"", key, "\": ", message));
  }
  void Refuse(const std::string& key, const std::string& message) {
    if (Has(key)) report_.Error(Take(key), absl::StrCat("\"", key, "\": ", message));
  }
  void Error(const YAML::Node& at, const std::string& message) { report_.Error(at, message); }

  // Keys present but not taken: unknown in both dialects.
  void ReportLeftovers() {
    std::vector<std::string> known = OriginalOnlyStepKeys();
    known.insert(known.end(), SharedStepKeys().begin(), SharedStepKeys().end());
    for (const auto& kv : step_) {
      if (!kv.first.IsScalar()) continue;
      const std::string name = kv.first.Scalar();
      if (used_.contains(name)) continue;
      std::string close = ClosestName(name, known);
      report_.Error(
          kv.first,
          absl::StrCat("unknown key \"", name, "\" in a step of the original mOSdat",
                       close.empty() ? "" : absl::StrCat(" (did you mean \"", close, "\"?)")));
    }
  }

  const YAML::Node& node() const { return step_; }
  const OriginalRewriteOptions& options() const { return options_; }
  DialectReporter& report() { return report_; }

 private:
  YAML::Node step_;
  const OriginalRewriteOptions& options_;
  DialectReporter& report_;
  std::set<std::string> used_;
};

// An AT-SPI selector of the original → a canonical query map. The original matched
// `name` exactly unless `name_substr: true` (a flag); verify_atspi matched a part by
// default. `app_filter` picked applications by a part of their name, in any case.
YAML::Node RewriteSelector(const YAML::Node& selector, bool name_part_by_default,
                           const YAML::Node& app_filter, StepMap& step) {
  YAML::Node out = NewMap();
  if (!selector.IsMap()) {
    step.Error(selector, "expected an AT-SPI selector such as {role: push button, name: OK}");
    return out;
  }
  bool part = name_part_by_default;
  YAML::Node name(YAML::NodeType::Undefined);
  for (const auto& kv : selector) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    const YAML::Node& value = kv.second;
    if (key == "name_substr") {
      if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
        part = value.Scalar() == "true";
      } else {
        // The original tested only whether it was set: `name_substr: "Foo"` matched any
        // name. Its evident meaning is taken, the canonical one.
        out["name_substr"] = step.Expanded(value);
      }
    } else if (key == "name") {
      name = step.Expanded(value);
    } else if (key == "app_filter") {
      out["app_substr"] = step.Expanded(value);
    } else if (key == "timeout") {
      // The original's SSH call limit, not a wait: the step's own deadline applies.
    } else if (key == "action_idx") {
      if (!(value.IsScalar() && value.Scalar() == "0")) {
        step.Error(value,
                   "\"action_idx\": only the first action (0) is supported; name it with "
                   "\"action\" instead");
      }
    } else if (key == "motion" || key == "dwell_ms") {
      step.report().Warn(
          value, absl::StrCat("\"", key, "\": the pointer moves straight to its target here"));
    } else {
      out[kv.first] = step.Expanded(value);  // role, via, action, index, states, ...
    }
  }
  if (name.IsDefined() && !name.IsNull()) out[part ? "name_substr" : "name"] = name;
  if (app_filter.IsDefined() && !app_filter.IsNull() && !Lookup(out, "app_substr").IsDefined()) {
    out["app_substr"] = app_filter;
  }
  return out;
}

YAML::Node Step(const std::string& key, const YAML::Node& value) {
  YAML::Node step = NewMap();
  step[key] = value;
  return step;
}

// The rewrite of one step; `out` collects canonical steps in order.
class StepRewrite {
 public:
  StepRewrite(StepMap& step, std::vector<YAML::Node>* out) : s_(step), out_(out) {}

  void Run() {
    if (s_.Has("label")) label_ = s_.Take("label");
    if (s_.Has("must_pass")) must_pass_ = s_.Take("must_pass");
    if (s_.Has("timeout")) timeout_ = s_.Take("timeout");
    ReadAttempts();

    if (s_.Has("checkpoint")) {
      Emit(Step("checkpoint", s_.Take("checkpoint")), false);
      s_.ReportLeftovers();
      return;
    }
    if (s_.Has("wait_for")) {
      WaitFor();
      s_.ReportLeftovers();
      return;
    }
    if (s_.Has("shell")) Emit(Step("shell", s_.TakeText("shell")), false);
    if (s_.Has("launch")) Launch();
    const bool standalone = !s_.Has("localize") && !s_.Has("atspi");
    if (standalone) Keys();
    if (s_.Has("if_visible")) {
      IfVisible();
      s_.ReportLeftovers();
      return;
    }
    if (s_.Has("focus")) Focus();
    Unsupported();
    if (s_.Has("atspi")) {
      Atspi();
    } else if (s_.Has("localize")) {
      Localize();
    }
    if (s_.Has("verify_atspi")) VerifyAtspi();
    Verify();
    if (s_.Has("accept_any")) AcceptAny();
    if (!standalone && s_.Has("wait") && !s_.Has("launch")) Pause();
    s_.ReportLeftovers();
  }

 private:
  // retries: attempts in all, default 3 on the steps the original retried.
  void ReadAttempts() {
    if (!s_.Has("retries")) return;
    YAML::Node at = Lookup(s_.node(), "retries");
    std::optional<int> n = s_.TakeInt("retries");
    if (!n) return;
    if (*n == 0) {
      s_.Error(at,
               "\"retries: 0\" made the original mOSdat skip this step and report it passed; "
               "remove the step, or write \"retries: 1\" to run it once");
      return;
    }
    attempts_ = *n;
  }

  void Emit(YAML::Node step, bool retried) {
    if (label_.IsDefined()) step["label"] = label_;
    if (must_pass_.IsDefined()) step["must_pass"] = must_pass_;
    if (timeout_.IsDefined()) step["timeout"] = timeout_;
    if (retried && attempts_ > 1) step["retries"] = attempts_ - 1;
    out_->push_back(step);
  }

  void WaitFor() {
    YAML::Node wait_for = s_.Take("wait_for");
    if (!wait_for.IsMap()) {
      Emit(Step("wait_for", wait_for), false);
      return;
    }
    YAML::Node out = NewMap();
    YAML::Node app_filter = Lookup(wait_for, "app_filter");
    for (const auto& kv : wait_for) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "app_filter") continue;
      if ((key == "any" || key == "all") && kv.second.IsSequence()) {
        YAML::Node list = NewList();
        for (const YAML::Node& condition : kv.second)
          list.push_back(Condition(condition, app_filter));
        out[kv.first] = list;
      } else {
        out[kv.first] = kv.second;
      }
    }
    // The original waited 15 s by default, polling every half second.
    if (!Lookup(out, "timeout").IsDefined()) out["timeout"] = 15;
    if (!Lookup(out, "interval").IsDefined()) out["interval"] = 0.5;
    Emit(Step("wait_for", out), false);  // the original did not retry a wait_for
    if (s_.Has("wait")) s_.Warn("wait", "ignored beside wait_for, as the original did");
  }

  // A canonical condition stays; a bare selector ({role: frame}) is an AT-SPI condition.
  YAML::Node Condition(const YAML::Node& condition, const YAML::Node& app_filter) {
    if (condition.IsMap()) {
      for (const auto& kv : condition) {
        if (kv.first.IsScalar() && (kv.first.Scalar() == "role" || kv.first.Scalar() == "name" ||
                                    kv.first.Scalar() == "name_substr")) {
          return Step("atspi", RewriteSelector(condition, false, app_filter, s_));
        }
      }
    }
    return condition;
  }

  void Launch() {
    if (!Lookup(s_.node(), "launch").IsScalar()) {  // the canonical map form
      Emit(Step("launch", s_.Take("launch")), false);
      return;
    }
    YAML::Node launch = NewMap();
    launch["command"] = s_.TakeText("launch");
    if (s_.Has("launch_window")) launch["window"] = s_.Take("launch_window");
    // The time to come up: launch_timeout, else the step's wait (0: do not wait).
    YAML::Node budget = s_.Has("launch_timeout") ? s_.Take("launch_timeout")
                                                 : YAML::Node(YAML::NodeType::Undefined);
    if (!budget.IsDefined() && s_.Has("wait")) budget = s_.Take("wait");
    if (budget.IsDefined() && !(budget.IsScalar() && budget.Scalar() == "0")) {
      launch["timeout"] = budget;
    }
    Emit(Step("launch", launch), false);
  }

  // The original's standalone input: key_pre, type, key, then the pause.
  void Keys() {
    for (const char* key : {"then_key_pre", "key_pre"}) {
      if (s_.Has(key)) Emit(Step("key", s_.Take(key)), false);
    }
    for (const char* key : {"then_type", "type"}) {
      if (s_.Has(key)) Emit(Step("type", s_.TakeText(key)), false);
    }
    for (const char* key : {"then_key", "key"}) {
      if (s_.Has(key)) Emit(Step("key", s_.Take(key)), false);
    }
    if (s_.Has("wait")) Pause();
  }

  void Pause() {
    YAML::Node wait = s_.Take("wait");
    if (wait.IsScalar() && wait.Scalar() == "0") return;
    Emit(Step("wait", wait), false);
  }

  // if_visible: "<thing>" asked once as "is there a <thing>"; then: steps when yes.
  void IfVisible() {
    YAML::Node prompt = s_.TakeText("if_visible");
    if (!prompt.IsScalar()) {  // the canonical form, inside an original file
      Emit(Step("if_visible", prompt), false);
      return;
    }
    YAML::Node branch = NewMap();
    branch["target"] = Step("verify", YAML::Node("is there a " + prompt.Scalar()));
    if (s_.Has("then_steps")) {
      s_.Refuse("then_steps",
                "the original mOSdat did not read this key (it is \"then\"); "
                "write \"then\"");
    }
    YAML::Node then_steps =
        s_.Has("then") ? s_.Take("then") : YAML::Node(YAML::NodeType::Undefined);
    if (!then_steps.IsDefined()) {
      s_.Error(Lookup(s_.node(), "if_visible"),
               "\"if_visible\" needs \"then\" (the steps to run when "
               "it is there)");
      return;
    }
    if (!then_steps.IsSequence()) {
      s_.Error(then_steps, "\"then\" takes a list of steps");
      return;
    }
    YAML::Node list = NewList();
    for (const YAML::Node& sub : then_steps) {
      if (sub.IsMap()) {
        StepMap sub_map(sub, s_.options(), s_.report());
        std::vector<YAML::Node> made;
        StepRewrite(sub_map, &made).Run();
        for (YAML::Node& m : made) list.push_back(m);
      } else {
        list.push_back(sub);  // the canonical reader says what is wrong with it
      }
    }
    branch["then"] = list;
    Emit(Step("if_visible", branch), false);
  }

  // focus: a window title, raised the way the original did.
  void Focus() {
    YAML::Node title = s_.Take("focus");
    if (!title.IsScalar() || title.Scalar().empty()) {
      s_.Error(title, "\"focus\" takes a window title");
      return;
    }
    std::string quoted = "'";
    for (char c : title.Scalar()) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    YAML::Node shell = NewMap();
    shell["command"] = "wmctrl -a " + quoted;
    shell["x11"] = true;
    Emit(Step("shell", shell), false);
  }

  void Unsupported() {
    const std::string weaker =
        "not honoured here; it made the original more careful about "
        "where to click, and mOSdat cross-checks a localized point by "
        "OCR of the label the prompt quotes instead";
    s_.Warn("precheck_click", weaker);
    s_.Warn("localize_consistent", weaker);
    s_.Warn("motion", "the pointer moves straight to its target here");
    s_.Warn("dwell_ms", "the pointer moves straight to its target here");
    s_.Warn("verify_consistent", "each question is asked once per look, not three times");
    s_.Warn("on_failure_agent", "no agent takes over after a failure here; the failure stands");
    s_.Warn("popup_sweep", "pop-ups are not swept; use if_visible for one you expect");
    if (s_.Has("hover") && s_.Has("localize")) {
      s_.Refuse("hover", "hovering a localized point is not supported yet");
    } else if (s_.Has("hover")) {
      s_.Warn("hover", "ignored, as the original did without \"localize\"");
    }
  }

  void Atspi() {
    YAML::Node selector = s_.Take("atspi");
    YAML::Node query = RewriteSelector(selector, false, YAML::Node(YAML::NodeType::Undefined), s_);
    YAML::Node atspi = Step("atspi", query);
    if (!s_.Has("localize")) {
      Emit(atspi, true);
      return;
    }
    // atspi with a localize fallback: the object when it is there, else the model.
    YAML::Node condition_query = NewMap();
    for (const char* key :
         {"role", "name", "name_substr", "app", "app_substr", "index", "states"}) {
      if (Lookup(query, key).IsDefined()) condition_query[key] = Lookup(query, key);
    }
    YAML::Node localize = NewMap();
    localize["prompt"] = s_.TakeText("localize");
    YAML::Node branch = NewMap();
    branch["target"] = Step("atspi", condition_query);
    YAML::Node then_steps = NewList(), else_steps = NewList();
    then_steps.push_back(atspi);
    else_steps.push_back(Step("localize", localize));
    branch["then"] = then_steps;
    branch["else"] = else_steps;
    Emit(Step("if_visible", branch), true);
  }

  void Localize() {
    if (!Lookup(s_.node(), "localize").IsScalar()) {  // the canonical map form
      Emit(Step("localize", s_.Take("localize")), true);
      return;
    }
    YAML::Node localize = NewMap();
    localize["prompt"] = s_.TakeText("localize");
    if (s_.Has("click")) {
      // The original always clicked a localized point; `click` named the button.
      YAML::Node button = s_.Take("click");
      const std::string b = button.IsScalar() ? button.Scalar() : "";
      if (b == "right" || b == "middle") {
        localize["button"] = button;
      } else if (b != "left" && b != "true" && b != "false") {
        s_.Error(button, "\"click\" beside \"localize\" names the button: left or right");
      }
    }
    if (s_.Has("then")) s_.Warn("then", "ignored, as the original did: only if_visible runs it");
    for (const char* key : {"then_key_pre", "key_pre"}) {
      s_.Refuse(key,
                "a key between the click and the typing is not supported yet; press it "
                "in a step of its own after this one");
    }
    YAML::Node text(YAML::NodeType::Undefined), then_key(YAML::NodeType::Undefined);
    for (const char* key : {"then_type", "type"}) {
      if (s_.Has(key)) text = s_.TakeText(key);
    }
    for (const char* key : {"then_key", "key"}) {
      if (s_.Has(key)) then_key = s_.Take(key);
    }
    const bool checks_between = s_.Has("verify_click") || s_.Has("verify_click_diff") ||
                                s_.Has("canary") || s_.Has("verify_input");
    if (!checks_between) {
      // One step: a failed answer to verify clicks again, as in the original.
      if (text.IsDefined()) localize["then_type"] = text;
      if (then_key.IsDefined()) localize["then_key"] = then_key;
      if (s_.Has("verify") || s_.Has("verify_not")) {
        if (s_.Has("verify")) localize["verify"] = s_.TakeText("verify");
        if (s_.Has("verify_not")) localize["verify_not"] = s_.TakeText("verify_not");
        localize["verify_timeout"] = VerifyTimeout();
      }
      Emit(Step("localize", localize), true);
      return;
    }
    // Checks between the click and the typing: the original's order, one step each.
    Emit(Step("localize", localize), true);
    const double between = std::min(VerifyTimeout(), 8.0);
    if (s_.Has("verify_click_diff")) {
      YAML::Node diff = s_.Take("verify_click_diff");
      if (!(diff.IsScalar() && diff.Scalar() == "false")) {
        Check(Step("screen_changes", YAML::Node(YAML::NodeType::Null)), between);
      }
      s_.Warn("verify_click_diff_prompt", "the click is checked by the screen changing");
      s_.Warn("verify_click_diff_crop", "the click is checked by the screen changing");
    }
    if (s_.Has("verify_click")) Check(Step("verify", s_.TakeText("verify_click")), between);
    if (s_.Has("canary")) {
      YAML::Node canary = s_.Take("canary");
      const bool on = !(canary.IsScalar() && canary.Scalar() == "false");
      YAML::Node character = s_.Has("canary_char") ? s_.Take("canary_char") : YAML::Node("q");
      if (on && !s_.Has("canary_verify")) {
        s_.Error(canary,
                 "\"canary: true\" needs \"canary_verify\" (the question that sees the "
                 "typed character)");
      } else if (on) {
        // Type a character, see it land in the right field, take it back.
        Emit(Step("type", character), false);
        Check(Step("verify", s_.TakeText("canary_verify")), between);
        const size_t n = character.IsScalar() ? character.Scalar().size() : 1;
        for (size_t k = 0; k < n; ++k) Emit(Step("key", YAML::Node("backspace")), false);
      }
    }
    if (text.IsDefined()) Emit(Step("type", text), false);
    if (s_.Has("verify_input")) {
      Check(Step("verify", s_.TakeText("verify_input")), std::min(VerifyTimeout(), 10.0));
    }
    if (then_key.IsDefined()) Emit(Step("key", then_key), false);
  }

  // `conditions` polled until all (or any) hold, for `timeout` seconds; retried like
  // the original retried its checks.
  void PollUntil(const char* mode, const YAML::Node& conditions, double timeout) {
    YAML::Node wait_for = NewMap();
    wait_for[mode] = conditions;
    wait_for["timeout"] = timeout;
    Emit(Step("wait_for", wait_for), true);
  }

  // One condition asked until it holds, for `timeout` seconds.
  void Check(const YAML::Node& condition, double timeout) {
    YAML::Node all = NewList();
    all.push_back(condition);
    PollUntil("all", all, timeout);
  }

  void VerifyAtspi() {
    YAML::Node selector = s_.Take("verify_atspi");
    // A part of the name can match another object (`name: "5"` matches a "5" key as well
    // as the result): the original's meaning stands, said where it applies.
    if (Lookup(selector, "name").IsScalar() && !Lookup(selector, "name_substr").IsDefined()) {
      s_.report().Warn(Lookup(selector, "name"),
                       absl::StrCat("verify_atspi matches a part of the name here, as in the "
                                    "original mOSdat: any object whose name contains \"",
                                    Lookup(selector, "name").Scalar(),
                                    "\" passes; add name_substr: false for the exact name"));
    }
    Emit(Step("verify_atspi",
              RewriteSelector(selector, true, YAML::Node(YAML::NodeType::Undefined), s_)),
         true);
  }

  // verify / verify_not not attached to a localize: asked until answered as expected.
  void Verify() {
    if (!s_.Has("verify") && !s_.Has("verify_not")) {
      if (s_.Has("verify_timeout") && !s_.Has("accept_any")) {
        s_.Warn("verify_timeout", "there is nothing to verify on this step");
      }
      return;
    }
    YAML::Node all = NewList();
    if (s_.Has("verify")) all.push_back(Step("verify", s_.TakeText("verify")));
    if (s_.Has("verify_not")) {
      all.push_back(Step("verify_not", s_.TakeText("verify_not")));
    }
    PollUntil("all", all, VerifyTimeout());
  }

  void AcceptAny() {
    YAML::Node prompts = s_.Take("accept_any");
    if (!prompts.IsSequence() || prompts.size() == 0) {
      s_.Error(prompts, "\"accept_any\" takes a non-empty list of yes/no questions");
      return;
    }
    YAML::Node any = NewList();
    for (const YAML::Node& prompt : prompts) any.push_back(Step("verify", s_.Expanded(prompt)));
    PollUntil("any", any, VerifyTimeout());
  }

  // verify_timeout (default 10 s), read once.
  double VerifyTimeout() {
    if (!verify_timeout_) {
      verify_timeout_ = 10;
      if (s_.Has("verify_timeout")) {
        YAML::Node at = Lookup(s_.node(), "verify_timeout");
        std::optional<int> n = s_.TakeInt("verify_timeout");
        if (n && *n == 0) s_.Error(at, "\"verify_timeout\" must be at least 1 second");
        if (n && *n > 0) verify_timeout_ = *n;
      }
    }
    return *verify_timeout_;
  }

  StepMap& s_;
  std::vector<YAML::Node>* out_;
  YAML::Node label_{YAML::NodeType::Undefined};
  YAML::Node must_pass_{YAML::NodeType::Undefined};
  YAML::Node timeout_{YAML::NodeType::Undefined};
  int attempts_ = 3;
  std::optional<double> verify_timeout_;
};

// A step the original could not have written (ocr, visual, drag, use, a click on text...):
// nothing in it has the original's meaning, so it is read as it is.
bool IsCanonicalOnly(const YAML::Node& step) {
  static const std::set<std::string> kOriginalVocabulary = {
      "localize", "type",    "key",        "verify",     "verify_not", "launch",
      "wait",     "shell",   "if_visible", "checkpoint", "atspi",      "verify_atspi",
      "wait_for", "retries", "label",      "must_pass",  "timeout"};
  bool any_canonical_only = false;
  for (const auto& kv : step) {
    if (!kv.first.IsScalar()) return false;
    const std::string key = kv.first.Scalar();
    if (Contains(OriginalOnlyStepKeys(), key)) return false;
    if (key == "click" && Lookup(step, "localize").IsDefined()) return false;
    if (key == "hover" && kv.second.IsScalar() &&
        (kv.second.Scalar() == "true" || kv.second.Scalar() == "false")) {
      return false;
    }
    if (!kOriginalVocabulary.contains(key)) any_canonical_only = true;
  }
  return any_canonical_only;
}

std::optional<DialectSign> SignInSteps(const YAML::Node& steps, int depth);

std::optional<DialectSign> SignInStep(const YAML::Node& step, int depth) {
  if (step.Tag() == "!import") return DialectSign{"the !import tag", step.Mark()};
  if (!step.IsMap()) return std::nullopt;
  std::set<std::string> kinds;
  for (const auto& kv : step) {
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    if (Contains(OriginalOnlyStepKeys(), key)) {
      return DialectSign{absl::StrCat("the step key \"", key, "\""), kv.first.Mark()};
    }
    if (key == "hover" && kv.second.IsScalar() &&
        (kv.second.Scalar() == "true" || kv.second.Scalar() == "false")) {
      return DialectSign{"\"hover\" as a flag", kv.first.Mark()};
    }
    if (key == "if_visible" && kv.second.IsScalar()) {
      return DialectSign{"\"if_visible\" with a question", kv.first.Mark()};
    }
    if (key == "wait_for" && kv.second.IsMap()) {
      for (const char* list : {"any", "all"}) {
        const YAML::Node conditions = Lookup(kv.second, list);
        if (!conditions.IsSequence()) continue;
        for (const YAML::Node& c : conditions) {
          if (c.IsMap() && (Lookup(c, "role").IsDefined() || Lookup(c, "name").IsDefined())) {
            return DialectSign{"a bare AT-SPI selector in wait_for", c.Mark()};
          }
        }
      }
      if (Lookup(kv.second, "app_filter").IsDefined()) {
        return DialectSign{"\"app_filter\"", Lookup(kv.second, "app_filter").Mark()};
      }
    }
    if ((key == "atspi" || key == "verify_atspi") && kv.second.IsMap()) {
      for (const char* own : {"app_filter", "action_idx"}) {
        if (Lookup(kv.second, own).IsDefined()) {
          return DialectSign{absl::StrCat("\"", own, "\""), Lookup(kv.second, own).Mark()};
        }
      }
      const YAML::Node flag = Lookup(kv.second, "name_substr");
      if (flag.IsScalar() && (flag.Scalar() == "true" || flag.Scalar() == "false")) {
        return DialectSign{"\"name_substr\" as a flag", flag.Mark()};
      }
    }
    if (IsCanonicalKind(key)) kinds.insert(key);
  }
  if (kinds.size() > 1) return DialectSign{"a step with several actions", step.Mark()};
  if (depth < 16 && Lookup(step, "if_visible").IsMap()) {
    for (const char* branch : {"then", "else"}) {
      if (auto sign = SignInSteps(Lookup(Lookup(step, "if_visible"), branch), depth + 1))
        return sign;
    }
  }
  return std::nullopt;
}

std::optional<DialectSign> SignInSteps(const YAML::Node& steps, int depth) {
  if (!steps.IsSequence()) return std::nullopt;
  for (const YAML::Node& step : steps) {
    if (auto sign = SignInStep(step, depth)) return sign;
  }
  return std::nullopt;
}

// Top-level keys only the original has.
const std::vector<std::string>& OriginalOnlyTopKeys() {
  static const auto* const kKeys =
      new std::vector<std::string>{"schema_version", "checkpoints",
                                   "phases",         "report_config_snapshots",
                                   "inputs",         "kind",
                                   "issue",          "expected_env",
                                   "bug_signal",     "precondition_check",
                                   "preconditions",  "postconditions",
                                   "fallbacks",      "on_failure"};
  return *kKeys;
}

// Keys of the original that the canonical reader also reads (a bug confirmation's).
bool IsCanonicalTopKey(const std::string& key) {
  return key == "kind" || key == "issue" || key == "expected_env" || key == "bug_signal" ||
         key == "precondition_check";
}

// A bug scenario's keys that this project's dialect reads as the original does
// (`precondition_check` is the original's name only).
bool IsSharedBugKey(const std::string& key) {
  return IsCanonicalTopKey(key) && key != "precondition_check";
}

// The original's `imports:` is a list of fragment names, ours of file paths.
bool IsImportManifest(const YAML::Node& imports) {
  if (!imports.IsSequence() || imports.size() == 0) return false;
  for (const YAML::Node& entry : imports) {
    if (!entry.IsScalar()) return false;
    const std::string& s = entry.Scalar();
    if (s.find('/') != std::string::npos || s.ends_with(".yaml") || s.ends_with(".yml")) {
      return false;
    }
  }
  return true;
}

}  // namespace

const std::set<std::string>& OriginalRunValueNames() {
  static const auto* const kNames =
      new std::set<std::string>{"timestamp",     "app_path",         "workspace_url", "test_user",
                                "test_password", "vm_password",      "app.name",      "app.version",
                                "app.binary",    "app.process_name", "vm.name",       "vm.os_type"};
  return *kNames;
}

YAML::Node Lookup(const YAML::Node& map, const std::string& key) {
  if (map.IsMap()) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::optional<DialectSign> FindOriginalDialectSign(const YAML::Node& root) {
  if (!root.IsMap()) return std::nullopt;
  // A bug scenario with what only this project's has (`setup`, `precondition`, a
  // bug_signal that is not a question) shares the original's bug keys: no sign then.
  const YAML::Node signal = Lookup(root, "bug_signal");
  const bool our_bug_scenario = Lookup(root, "setup").IsDefined() ||
                                Lookup(root, "precondition").IsDefined() ||
                                (signal.IsDefined() && !signal.IsScalar());
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    if (Contains(OriginalOnlyTopKeys(), key) && !(our_bug_scenario && IsSharedBugKey(key))) {
      return DialectSign{absl::StrCat("the top-level key \"", key, "\""), kv.first.Mark()};
    }
    if (key == "imports" && IsImportManifest(kv.second)) {
      return DialectSign{"\"imports\" naming fragments", kv.first.Mark()};
    }
  }
  for (const char* list : {"steps", "cleanup"}) {
    if (auto sign = SignInSteps(Lookup(root, list), 0)) return sign;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<DialectSign>> ScenarioDialect(const YAML::Node& root) {
  const YAML::Node dialect = Lookup(root, "dialect");
  if (!dialect.IsDefined()) return FindOriginalDialectSign(root);
  if (dialect.IsScalar() && dialect.Scalar() == "original") {
    return std::optional<DialectSign>(DialectSign{"\"dialect: original\"", dialect.Mark()});
  }
  if (dialect.IsScalar() && dialect.Scalar() == "mosdat") return std::nullopt;
  return absl::InvalidArgumentError(
      "must be \"mosdat\" (this project's) or \"original\" (the Python mOSdat's)");
}

YAML::Node RewriteOriginalTopLevel(const YAML::Node& root, DialectReporter& report) {
  YAML::Node out = NewMap();
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (key == "imports" && IsImportManifest(kv.second)) continue;  // steps import by name
    if (key == "schema_version" || key == "dialect") continue;
    if (key == "checkpoints") {
      report.Warn(kv.first,
                  "\"checkpoints\": VM snapshots at checkpoints are not taken yet; "
                  "a checkpoint step only marks a point in the report");
      continue;
    }
    if (Contains(OriginalOnlyTopKeys(), key) && !IsCanonicalTopKey(key)) {
      report.Warn(kv.first, absl::StrCat("\"", key, "\" is not read here; it is ignored"));
      continue;
    }
    out[kv.first] = kv.second;
  }
  return out;
}

bool IsInclude(const YAML::Node& step) {
  return step.Tag() == "!import" || Lookup(step, "import").IsDefined() ||
         Lookup(step, "routine").IsDefined();
}

bool IncludedFileIsOriginal(const YAML::Node& root) {
  if (root.IsSequence()) return SignInSteps(root, 0).has_value();
  for (const char* part : {"preconditions", "steps", "postconditions"}) {
    if (SignInSteps(Lookup(root, part), 0)) return true;
  }
  return false;
}

std::optional<OriginalInclude> AsOriginalInclude(const YAML::Node& step, DialectReporter& report) {
  if (step.Tag() == "!import") {
    if (!step.IsScalar() || step.Scalar().empty()) {
      report.Error(step, "\"!import\" takes the name of a file in the imports folder");
      return OriginalInclude{OriginalInclude::Kind::kImport, "", YAML::Node(), step};
    }
    return OriginalInclude{OriginalInclude::Kind::kImport, step.Scalar(), YAML::Node(), step};
  }
  if (!step.IsMap()) return std::nullopt;
  if (Lookup(step, "import").IsDefined()) {
    const YAML::Node name = Lookup(step, "import");
    for (const auto& kv : step) {
      if (kv.first.IsScalar() && kv.first.Scalar() != "import" && kv.first.Scalar() != "label") {
        report.Error(kv.first, absl::StrCat("\"", kv.first.Scalar(),
                                            "\" cannot be combined with \"import\", which "
                                            "expands into the imported file's steps"));
      }
    }
    if (!name.IsScalar() || name.Scalar().empty()) {
      report.Error(name, "\"import\" takes the name of a file in the imports folder");
      return OriginalInclude{OriginalInclude::Kind::kImport, "", YAML::Node(), name};
    }
    return OriginalInclude{OriginalInclude::Kind::kImport, name.Scalar(), YAML::Node(), name};
  }
  if (Lookup(step, "routine").IsDefined()) {
    const YAML::Node call = Lookup(step, "routine");
    for (const auto& kv : step) {
      if (kv.first.IsScalar() && kv.first.Scalar() != "routine" && kv.first.Scalar() != "label") {
        report.Error(kv.first, absl::StrCat("\"", kv.first.Scalar(),
                                            "\" cannot be combined with \"routine\""));
      }
    }
    if (call.IsScalar() && !call.Scalar().empty()) {
      return OriginalInclude{OriginalInclude::Kind::kRoutine, call.Scalar(), YAML::Node(), call};
    }
    if (call.IsMap() && Lookup(call, "name").IsScalar() && !Lookup(call, "name").Scalar().empty()) {
      for (const auto& kv : call) {
        if (kv.first.IsScalar() && kv.first.Scalar() != "name" && kv.first.Scalar() != "with") {
          report.Error(kv.first, absl::StrCat("unknown key \"", kv.first.Scalar(),
                                              "\" in a routine call; it takes name and with"));
        }
      }
      return OriginalInclude{OriginalInclude::Kind::kRoutine, Lookup(call, "name").Scalar(),
                             Lookup(call, "with"), call};
    }
    report.Error(call, "\"routine\" takes a routine name, or {name: ..., with: {...}}");
    return OriginalInclude{OriginalInclude::Kind::kRoutine, "", YAML::Node(), call};
  }
  return std::nullopt;
}

std::vector<YAML::Node> RewriteOriginalStep(const YAML::Node& step,
                                            const OriginalRewriteOptions& options,
                                            DialectReporter& report) {
  std::vector<YAML::Node> out;
  if (!step.IsMap()) {
    out.push_back(step);  // the canonical reader reports it
    return out;
  }
  if (IsCanonicalOnly(step)) {
    out.push_back(step);
    return out;
  }
  StepMap map(step, options, report);
  StepRewrite(map, &out).Run();
  return out;
}

}  // namespace mosdat

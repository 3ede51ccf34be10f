// The scenario model: ONE typed representation of a YAML scenario's steps, shared by
// the parser, the coordinator (scheduling, reports), the agent (execution) and the
// authoring API. Plain structs with no yaml-cpp types; the parser
// (core/scenario_parser.h) is the only place that knows YAML.
#ifndef MOSDAT_CORE_SCENARIO_H_
#define MOSDAT_CORE_SCENARIO_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "core/diagnostics.h"
#include "core/template_vars.h"

namespace mosdat {

// Framebuffer pixel coordinates (0,0 = top left).
struct Point {
  int x = 0;
  int y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

// A rectangle of the framebuffer, in pixels.
struct Region {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend bool operator==(const Region&, const Region&) = default;
};

// A pointer target found by OCR: the text, optionally searched only inside `region`.
struct TextTarget {
  std::string text;
  std::optional<Region> region;
  friend bool operator==(const TextTarget&, const TextTarget&) = default;
};

enum class MouseButton { kLeft, kMiddle, kRight };

// A validated key combination: "ctrl+shift+t" → {{"ctrl", "shift"}, "t"}. Modifiers
// are lowercase and in the order written; `key` is a lowercase key name ("enter",
// "f4") or a single character as written ("T", "é", "+").
struct KeyCombo {
  std::vector<std::string> modifiers;
  std::string key;

  std::string ToString() const;  // "ctrl+shift+t"
  friend bool operator==(const KeyCombo&, const KeyCombo&) = default;
};

// Parses and validates "mod+...+key". Errors name the bad part and list valid names.
absl::StatusOr<KeyCombo> ParseKeyCombo(std::string_view combo);

// An accessible-object query (AT-SPI on Linux). At least one of role/name/name_substr.
// Objects matching role/name/name_substr/app are taken in tree order (depth first);
// `index` picks one of them (default: the first), then `states` must all be set on it.
struct AtspiQuery {
  std::string role;                 // AT-SPI role name, e.g. "push button", "frame"
  std::string name;                 // exact accessible name
  std::string name_substr;          // substring of the accessible name
  std::string app;                  // accessible application name; empty = any application
  std::string app_substr;           // or: applications whose name contains this (any case)
  std::optional<int> index;         // n-th match (0-based) when several match
  std::vector<std::string> states;  // required states, e.g. "checked", "focused"
  friend bool operator==(const AtspiQuery&, const AtspiQuery&) = default;
};

// Known AT-SPI state names (lowercase, '_' separated), for validation and help text.
const std::vector<std::string>& KnownAtspiStates();

// How an `atspi` step performs its action: move the real pointer and click at the
// object's centre (what a user does), call the accessible action, or both (the action
// when the pointer cannot reach the object). `hint` moves the pointer over the object
// without clicking, then calls the action — the original mOSdat's `via: hint`, for
// widgets whose visible part is not the accessible object (a 1x1 hidden checkbox).
enum class AtspiVia { kPointer, kAction, kBoth, kHint };

// ---- Steps -----------------------------------------------------------------------

// Run a command on the VM over SSH; fails when the exit code is not `expect_exit`.
struct ShellStep {
  std::string command;
  std::optional<double> timeout_seconds;
  int expect_exit = 0;
  std::optional<bool> x11;  // inject DISPLAY/XAUTHORITY; unset = the VM's x11 setting
};

// Start the application (detached) and wait until it is up: its accessible app name
// and/or a window whose title contains `window`.
struct LaunchStep {
  std::string command;
  std::string app;
  std::string window;
  std::optional<double> timeout_seconds;
};

// Find an accessible object and act on it.
struct AtspiStep {
  AtspiQuery query;
  std::string action = "click";
  AtspiVia via = AtspiVia::kPointer;
};

// An accessible object exists (or, with exists = false, does not); with `text` or
// `text_substr`, its text (Text interface, else its name) equals / contains that.
struct AtspiCondition {
  AtspiQuery query;
  bool exists = true;
  std::optional<std::string> text;
  std::optional<std::string> text_substr;
};

// Assert an AtspiCondition now (no polling; wait_for polls).
struct VerifyAtspiStep : AtspiCondition {};

// A yes/no question to the VLM; true when the answer equals `expect`. YAML `verify`
// (expect yes) and `verify_not` (expect no).
struct VlmCondition {
  std::string question;
  bool expect = true;
};

// How a localized point is confirmed by a second signal, since a model always answers
// with some point. By default, text the prompt quotes ("the \"Save\" button") is looked
// for by OCR: read elsewhere, the point is refused; read nowhere, it stands unconfirmed.
struct LocalizeCrossCheck {
  bool enabled = true;              // false: take the model's point as it is
  std::optional<std::string> text;  // OCR must read this at the point
  std::optional<AtspiQuery> atspi;  // this accessible object must be under the point
};

// Ask the VLM where `prompt` is, click it (unless click = false), then optionally type
// and press keys, then ask the `verify` questions about the result. `accept_any` lists
// alternative prompts tried in order when the model does not find the first.
struct LocalizeStep {
  std::string prompt;
  std::optional<std::string> then_type;
  std::optional<KeyCombo> then_key;
  bool click = true;
  MouseButton button = MouseButton::kLeft;
  std::vector<std::string> accept_any;
  LocalizeCrossCheck cross_check;
  std::vector<VlmCondition> verify;  // asked after the action, on a newer screen
  // How long `verify` is asked for; unset: until the step's deadline.
  std::optional<double> verify_timeout_seconds;
  // Look once; when nothing is found (or confirmed), pass without acting — for
  // optional pop-ups such as "Accept cookies".
  bool if_visible = false;
};

// Find `text` on screen by OCR; optionally click it. YAML keys `ocr` and `text`.
struct OcrStep {
  std::string text;
  std::optional<Region> region;
  bool click = false;
};

// Compare the screen (or a region) with a reference image.
struct VisualStep {
  std::string reference;  // resolved against the directory of the file declaring it
  std::optional<Region> region;
  std::optional<double> threshold;  // similarity in (0, 1]; unset: the reference's, else 0.95
  std::optional<double> timeout_seconds;
};

// Click at a point or on OCR-found text. YAML keys `click`, `double_click` (count 2)
// and `right_click` (button right).
struct ClickStep {
  std::variant<Point, TextTarget> target;
  MouseButton button = MouseButton::kLeft;
  int count = 1;
};

struct HoverStep {
  std::variant<Point, TextTarget> target;
};

struct DragStep {
  Point from;
  Point to;
  MouseButton button = MouseButton::kLeft;
};

// Scroll wheel at (at.x, at.y): positive dy scrolls down, positive dx right.
struct ScrollStep {
  Point at;
  int dx = 0;
  int dy = 0;
};

// Type text (any Unicode) through the keyboard.
struct TypeStep {
  std::string text;
};

struct KeyStep {
  KeyCombo combo;
};

// An explicit pause the user asked for. Prefer wait_for: it polls a condition.
struct WaitStep {
  double seconds = 0;
};

// ---- Conditions (wait_for, if_visible) --------------------------------------------

struct TextCondition {
  std::string text;
  std::optional<Region> region;
};

struct VisualCondition {
  std::string reference;
  std::optional<Region> region;
  std::optional<double> threshold;  // unset: the reference's sidecar, else 0.95
};

// True once the screen (or region) differs from how it looked just before the latest
// input step (click, type, key...), or from the wait's first frame when there was none.
struct ScreenChangesCondition {
  std::optional<Region> region;
};

// True once the screen (or region) has not changed for `for_seconds`.
struct ScreenStableCondition {
  std::optional<Region> region;
  double for_seconds = 1.0;
};

// True when a command run in the guest exits with `expect_exit`: a crash in the
// journal (`journalctl -b | grep -q segfault`), a core dump, a process gone, exit 139.
struct ShellCondition {
  std::string command;
  int expect_exit = 0;
  std::optional<double> timeout_seconds;  // of one run of the command; unset: 30 s
  std::optional<bool> x11;                // as for ShellStep
};

using Condition =
    std::variant<AtspiCondition, TextCondition, VisualCondition, ScreenChangesCondition,
                 ScreenStableCondition, VlmCondition, ShellCondition>;

// The YAML key of a condition: "atspi", "text", "visual", "screen_changes",
// "screen_stable", "verify", "verify_not" or "shell".
std::string_view ConditionKindName(const Condition& condition);

// A condition in a few words: `atspi push button "OK"`, `shell "test -e /tmp/core"`.
std::string DescribeCondition(const Condition& condition);

// Poll conditions every `interval_seconds` until any/all hold or `timeout_seconds`.
struct WaitForStep {
  enum class Mode { kAny, kAll };
  Mode mode = Mode::kAny;
  std::vector<Condition> conditions;
  double timeout_seconds = 10;
  double interval_seconds = 0.25;
};

// Ask the VLM a yes/no question about the screen. YAML `verify` (expect yes) and
// `verify_not` (expect no).
struct VerifyStep {
  std::string question;
  bool expect = true;
};

// A named point in the run: reports group evidence by checkpoint.
struct CheckpointStep {
  std::string name;
};

struct Step;

// Run `then_steps` when `target` holds (polled up to timeout_seconds; 0 = look once),
// otherwise `else_steps`.
struct IfVisibleStep {
  Condition target;
  double timeout_seconds = 0;
  std::vector<Step> then_steps;
  std::vector<Step> else_steps;
};

using StepKind =
    std::variant<ShellStep, LaunchStep, AtspiStep, VerifyAtspiStep, LocalizeStep, OcrStep,
                 VisualStep, ClickStep, HoverStep, DragStep, ScrollStep, TypeStep, KeyStep,
                 WaitStep, WaitForStep, VerifyStep, IfVisibleStep, CheckpointStep>;

// Keys every step accepts besides its kind key.
struct StepCommon {
  std::string label;                      // shown in reports instead of the generated description
  int retries = 0;                        // extra attempts after a failure
  std::optional<double> timeout_seconds;  // whole-step deadline
  bool must_pass = true;                  // false: a failure is reported but the scenario continues
};

struct Step {
  StepCommon common;
  StepKind kind;
  SourceLocation location;  // where the step is written (a fragment's own file)
};

// The canonical YAML key of a step kind ("shell", "click", "verify_not", ...). Aliases
// map to their canonical key: `text` → "ocr", `double_click` → "click".
std::string_view StepKindName(const StepKind& kind);

// A short description of what a step does, for progress lines and reports when it has
// no label: `"ctrl+b"`, `(100,40)`, `"the Save button"`, `push button "OK"`. At most
// ~60 characters; longer text is cut with "…".
std::string DescribeStep(const StepKind& kind);

// Every YAML key that selects a step kind, including aliases, sorted: the keys of
// core/step_kinds.h's table, which also says what each kind needs.
const std::vector<std::string>& StepKindKeys();

struct Scenario;

// The steps (cleanup and if_visible branches included) that ask a vision-language
// model, as their rows in core/step_kinds.h say: localize, verify, verify_not, and
// wait_for / if_visible on verify.
std::vector<const Step*> StepsNeedingVlm(const Scenario& scenario);

// Whether typing `text` needs characters that not every keyboard map has (anything but
// printable ASCII, newline and tab): the agent then places them through the guest
// (vnc-agent/text_typing.h).
bool TypesOffEveryKeymap(std::string_view text);

// The steps that reach into the guest over SSH (core/step_kinds.h): shell, launch,
// atspi, verify_atspi, wait_for / if_visible on atspi, localize cross-checked by atspi,
// and type (or localize's then_type) with characters off the keyboard map.
std::vector<const Step*> StepsNeedingSsh(const Scenario& scenario);

// Every reference image a step compares against (visual steps and conditions), with
// the step, in scenario order; a path may appear more than once.
std::vector<std::pair<const Step*, std::string>> ReferenceImages(const Scenario& scenario);

// Calls `visit` for every step: a bug scenario's setup and precondition, the steps,
// its bug signal, then cleanup, with if_visible branches after their step.
void ForEachStep(const Scenario& scenario, const std::function<void(const Step&)>& visit);

// What a bug scenario (`kind: bug-confirmation`, or any scenario with a `bug_signal`)
// says about its bug. An attempt runs `setup`, checks `precondition`, runs the
// scenario's steps (what triggers the bug), then looks for `bug_signal`; without
// `setup`, the precondition is checked after the steps (the original mOSdat's order).
// precondition and bug_signal are wait_for steps: conditions polled until a timeout.
struct BugConfirmation {
  std::map<std::string, std::string> issue;         // id, url, title, ...
  std::map<std::string, std::string> expected_env;  // ozone, display_server, install, ...
  std::vector<Step> setup;                          // brings the app to the state the bug needs
  std::optional<Step> precondition;                 // must hold for the attempt to count
  std::optional<Step> bug_signal;                   // holds when the bug showed

  // Whether an attempt reports the bug (a bug_signal is there to look for).
  bool Checks() const { return bug_signal.has_value(); }
};

struct Scenario {
  std::string name;
  std::string description;
  std::string app;                  // the application under test, as the file names it
  std::vector<std::string> tags;    // free-form labels
  std::string kind = "functional";  // or "bug-confirmation"
  std::optional<BugConfirmation> bug;
  std::vector<Step> steps;
  std::vector<Step> cleanup;          // run after steps, even when a step failed
  std::map<std::string, Value> vars;  // resolved: imports < scenario < overrides
  std::string source_path;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_SCENARIO_H_

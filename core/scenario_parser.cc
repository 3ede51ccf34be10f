// Implements the YAML scenario parser: syntax → typed Steps, with variables, imports
// and fragments, collecting every problem as a Diagnostic.
//
// Robustness: the input may be hostile (the fuzzer, a pasted file). yaml-cpp throws, so
// every entry point catches YAML::Exception; YAML aliases can make cycles (`&a [*a]`)
// and share subtrees exponentially, so recursion depth and the number of nodes visited
// are capped.
#include "core/scenario_parser.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/original_dialect.h"
#include "core/step_kinds.h"
#include "core/suggest.h"
#include "core/utf8.h"

namespace mosdat {
namespace {

constexpr int kMaxNesting = 16;        // if_visible / use / import / list-in-var depth
constexpr size_t kMaxNodes = 200'000;  // YAML nodes visited, aliases counted each time
constexpr size_t kMaxSteps = 10'000;   // steps produced, fragments expanded
constexpr size_t kMaxVars = 1'000;
constexpr size_t kMaxFileBytes = 4 << 20;
// Text the steps hold once variables and fragments are expanded (every use of a
// fragment counts again): bounds memory however values and fragments repeat each other.
constexpr size_t kMaxExpandedBytes = 16 << 20;
constexpr int kMaxCoordinate = 65535;
constexpr double kMaxWaitSeconds = 3600;
constexpr double kMaxStepTimeoutSeconds = 86400;

constexpr std::string_view kSharedKeys[] = {"label", "retries", "timeout", "must_pass"};
constexpr std::pair<std::string_view, MouseButton> kButtons[] = {
    {"left", MouseButton::kLeft}, {"middle", MouseButton::kMiddle}, {"right", MouseButton::kRight}};
constexpr std::pair<std::string_view, AtspiVia> kVias[] = {{"pointer", AtspiVia::kPointer},
                                                           {"action", AtspiVia::kAction},
                                                           {"both", AtspiVia::kBoth},
                                                           {"hint", AtspiVia::kHint}};

std::string Join(const std::vector<std::string_view>& items) {
  std::vector<std::string> strings(items.begin(), items.end());
  return absl::StrJoin(strings, ", ");
}

// A file taking part in the parse: the scenario or an imported fragment file.
struct FileCtx {
  std::string path;  // as shown in diagnostics and compared for import cycles
  std::string dir;   // base for relative imports and visual references
};

// A YAML node being read, with where it came from.
struct Field {
  YAML::Node node;
  YAML::Node key;    // the mapping key naming this node; null for list elements
  std::string path;  // "steps[2].atspi.role"
  const FileCtx* file = nullptr;
  // The nearest place in the file at or above this node: nodes the original dialect's
  // rewrite (core/original_dialect.h) made have no place of their own.
  YAML::Mark origin = YAML::Mark::null_mark();
  // Steps under it are written in the original mOSdat's dialect (rewritten when read).
  bool original = false;
};

YAML::Mark OriginOf(const YAML::Node& node, const YAML::Node& key, const YAML::Mark& inherited) {
  if (node.IsDefined() && node.Mark().line >= 0) return node.Mark();
  if (key.IsDefined() && key.Mark().line >= 0) return key.Mark();
  return inherited;
}

Field Child(const Field& parent, const YAML::Node& key, const YAML::Node& value,
            std::string_view name) {
  return {value,
          key,
          parent.path.empty() ? std::string(name) : absl::StrCat(parent.path, ".", Absl(name)),
          parent.file,
          OriginOf(value, key, parent.origin),
          parent.original};
}

Field Element(const Field& parent, const YAML::Node& value, size_t index) {
  return {value,
          YAML::Node(),
          absl::StrCat(parent.path, "[", index, "]"),
          parent.file,
          OriginOf(value, YAML::Node(), parent.origin),
          parent.original};
}

std::string NormalizePath(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  return out.empty() ? path : out;
}

std::string JoinPath(const std::string& dir, const std::string& relative) {
  std::filesystem::path p(relative);
  if (p.is_absolute() || dir.empty()) return NormalizePath(relative);
  return NormalizePath((std::filesystem::path(dir) / p).string());
}

std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 40;
  if (s.size() > kMaxShown) return absl::StrCat("\"", Absl(s.substr(0, kMaxShown)), "...\"");
  return absl::StrCat("\"", Absl(s), "\"");
}

// `unknown <what> "<name>"`, then ` (did you mean "<close>"?)` when a candidate was
// close (core/suggest.h), else `otherwise`: what is valid, or nothing.
std::string UnknownName(std::string_view what, std::string_view name, std::string_view close,
                        std::string_view otherwise) {
  return absl::StrCat("unknown ", Absl(what), " ", Quote(name),
                      close.empty() ? std::string(otherwise)
                                    : absl::StrCat(" (did you mean \"", Absl(close), "\"?)"));
}

std::string Describe(const YAML::Node& n) {
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  if (n.IsNull()) return "nothing";
  return Quote(n.Scalar());
}

std::string DescribeValue(const Value& v) {
  if (v.is_null()) return "nothing";
  if (v.is_list()) return "a list";
  if (v.is_map()) return "a map";
  if (v.is_string()) return Quote(v.as_string());
  return v.ToString();
}

std::string QuotedList(const std::vector<std::string_view>& items) {
  std::vector<std::string> quoted;
  for (std::string_view s : items) quoted.push_back(absl::StrCat("\"", Absl(s), "\""));
  return absl::StrJoin(quoted, ", ");
}

template <class Range>
bool Contains(const Range& r, std::string_view s) {
  return std::find(std::begin(r), std::end(r), s) != std::end(r);
}

// yaml-cpp 0.7 never returns on some inputs (e.g. a document that starts with ","):
// it emits null events forever while its node tree eats all memory. A first pass that
// only counts events stops it: a real document has a few events per byte at most.
class EventBudget : public YAML::EventHandler {
 public:
  struct Exceeded {
    YAML::Mark mark;
  };

  explicit EventBudget(size_t limit) : limit_(limit) {}

  void OnDocumentStart(const YAML::Mark& mark) override { Count(mark); }
  void OnDocumentEnd() override { Count(last_); }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnSequenceEnd() override { Count(last_); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnMapEnd() override { Count(last_); }

 private:
  void Count(const YAML::Mark& mark) {
    last_ = mark;
    if (++events_ > limit_) throw Exceeded{mark};
  }

  size_t limit_;
  size_t events_ = 0;
  YAML::Mark last_ = YAML::Mark::null_mark();
};

// Where yaml-cpp starts looping on `text`, if it does. Syntax errors are left for the
// real parse to report.
std::optional<YAML::Mark> FindParserLoop(std::string_view text) {
  std::istringstream in{std::string(text)};
  EventBudget budget(8 * text.size() + 1024);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(budget)) {
    }
  } catch (const EventBudget::Exceeded& e) {
    return e.mark;
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

class Parser;
class MapReader;

// The value under a step or condition key, as the alternative's reader sees it.
struct KindValue {
  const Field& field;
  std::string_view scalar_key;  // non-empty: a scalar standing for this key of the map
  int depth;                    // of the step list holding the step
};

// An imported `fragments:` entry, parsed into steps on first use.
struct Fragment {
  enum class State { kUnparsed, kParsing, kDone };
  Field field;
  State state = State::kUnparsed;
  std::vector<Step> steps;
  size_t total_steps = 0;     // including steps nested in if_visible
  size_t expanded_bytes = 0;  // what one copy of its steps costs (see kMaxExpandedBytes)
};

// True when `path` is `root` or lies below it, comparing normalised absolute paths.
bool IsWithin(const std::filesystem::path& path, const std::filesystem::path& root) {
  std::filesystem::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

std::filesystem::path AbsoluteNormal(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path.empty() ? "." : path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal();
}

// Where a variable was defined, for errors found while resolving it.
struct VarSource {
  SourceLocation location;
  std::string key_path;
};

size_t CountSteps(const std::vector<Step>& steps) {
  size_t n = 0;
  for (const Step& s : steps) {
    ++n;
    if (const auto* iv = std::get_if<IfVisibleStep>(&s.kind)) {
      n += CountSteps(iv->then_steps) + CountSteps(iv->else_steps);
    }
  }
  return n;
}

class Parser {
 public:
  Parser(const ScenarioOptions& options, Diagnostics* diagnostics)
      : options_(options), diags_(diagnostics) {}

  Scenario Run(std::string_view text, std::string_view file_name);

  // Reports the original dialect's rewrite at a node's place, or at `base` for nodes
  // the rewrite made.
  class Reporter : public DialectReporter {
   public:
    Reporter(Parser& parser, const Field& base) : parser_(parser), base_(base) {}
    void Error(const YAML::Node& at, std::string message) override {
      parser_.diags_->Add(Place(at), base_.path, std::move(message));
    }
    void Warn(const YAML::Node& at, std::string message) override {
      parser_.diags_->Warn(Place(at), base_.path, std::move(message));
    }

   private:
    SourceLocation Place(const YAML::Node& at) const {
      YAML::Mark m = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
      if (m.line < 0) m = OriginOf(base_.node, base_.key, base_.origin);
      return At(base_.file, m);
    }
    Parser& parser_;
    const Field& base_;
  };

  // ---- Reporting ----

  SourceLocation Where(const Field& f) const {
    YAML::Mark m = f.node.Mark();
    // A null value (`key:` and nothing) carries the mark of the next token: use the key.
    if (f.node.IsNull() || m.line < 0) {
      YAML::Mark k = f.key.IsDefined() ? f.key.Mark() : YAML::Mark::null_mark();
      if (k.line >= 0) m = k;
    }
    if (m.line < 0) m = f.origin;
    return At(f.file, m);
  }

  static SourceLocation At(const FileCtx* file, const YAML::Mark& m) {
    std::string path = file ? file->path : "";
    if (m.line < 0) return {path, 0, 0};
    return {path, m.line + 1, m.column + 1};
  }

  void Error(const Field& f, std::string message) {
    diags_->Add(Where(f), f.path, std::move(message));
  }

  // For problems with the key itself (unknown, duplicate).
  void ErrorAtKey(const Field& f, std::string message) {
    YAML::Mark m = f.key.IsDefined() ? f.key.Mark() : YAML::Mark::null_mark();
    diags_->Add(m.line >= 0 ? At(f.file, m) : Where(f), f.path, std::move(message));
  }

  // Charges `bytes` of expanded step content; false (after one report, at `f`) once
  // kMaxExpandedBytes is spent.
  bool Charge(const Field& f, size_t bytes) {
    expanded_bytes_ += bytes;
    if (expanded_bytes_ <= kMaxExpandedBytes) return true;
    if (!too_large_reported_) {
      too_large_reported_ = true;
      std::string names;
      if (f.node.IsScalar()) {
        if (absl::StatusOr<std::vector<std::string>> refs = TemplateNames(f.node.Scalar());
            refs.ok() && !refs->empty()) {
          names = absl::StrCat(" (here through variable \"", absl::StrJoin(*refs, "\", \""), "\")");
        }
      }
      Error(f, absl::StrCat("the scenario expands to more than ", kMaxExpandedBytes,
                            " bytes of step content", names,
                            "; variables or fragments repeat each other too often"));
    }
    return false;
  }

  // Counts one visited node; false (after one report) once the budget is spent.
  bool Spend() {
    if (++nodes_ <= kMaxNodes) return true;
    if (!too_large_reported_) {
      too_large_reported_ = true;
      diags_->Add({main_file_ ? main_file_->path : "", 0, 0}, "",
                  absl::StrCat("scenario is too large (more than ", kMaxNodes,
                               " YAML nodes after expanding aliases)"));
    }
    return false;
  }

  // ---- Typed values ----

  // The substituted value of a scalar field; nullopt (reported) for lists, maps and
  // template errors. Null nodes give a null Value.
  std::optional<Value> ScalarValue(const Field& f, std::string_view expected) {
    if (!Spend()) return std::nullopt;
    const YAML::Node& n = f.node;
    if (n.IsNull()) return Value();
    if (!n.IsScalar()) {
      Error(f, absl::StrCat("expected ", Absl(expected), ", got ", Describe(n)));
      return std::nullopt;
    }
    const std::string& text = n.Scalar();
    if (HasTemplate(text)) {
      absl::StatusOr<Value> v = Substitute(text, vars_);
      if (!v.ok()) {
        Error(f, std::string(v.status().message()));
        return std::nullopt;
      }
      if (!Charge(f, ExpandedSize(*v, kMaxExpandedBytes + 1))) return std::nullopt;
      return *std::move(v);
    }
    if (!Charge(f, 8 + text.size())) return std::nullopt;
    if (n.Tag() == "?") return ValueFromPlainScalar(text);
    return Value(text);
  }

  std::optional<std::string> String(const Field& f) {
    // Untemplated scalars keep their exact text ("007" stays "007").
    if (f.node.IsScalar() && !HasTemplate(f.node.Scalar())) {
      if (!Spend() || !Charge(f, 8 + f.node.Scalar().size())) return std::nullopt;
      return f.node.Scalar();
    }
    std::optional<Value> v = ScalarValue(f, "a string");
    if (!v) return std::nullopt;
    if (v->is_null() || v->is_list() || v->is_map()) {
      Error(f, absl::StrCat("expected a string, got ", DescribeValue(*v)));
      return std::nullopt;
    }
    return v->ToString();
  }

  std::optional<std::string> NonEmptyString(const Field& f) {
    std::optional<std::string> s = String(f);
    if (s && s->empty()) {
      Error(f, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<int> Int(const Field& f, int64_t lo, int64_t hi) {
    std::optional<Value> v = ScalarValue(f, "an integer");
    if (!v) return std::nullopt;
    int64_t i = 0;
    if (v->is_int()) {
      i = v->as_int();
    } else if (!(v->is_string() && absl::SimpleAtoi(v->as_string(), &i))) {
      Error(f, absl::StrCat("expected an integer, got ", DescribeValue(*v)));
      return std::nullopt;
    }
    if (i < lo || i > hi) {
      Error(f, absl::StrCat("must be between ", lo, " and ", hi));
      return std::nullopt;
    }
    return static_cast<int>(i);
  }

  std::optional<double> Number(const Field& f) {
    std::optional<Value> v = ScalarValue(f, "a number");
    if (!v) return std::nullopt;
    double d = 0;
    if (v->is_int()) {
      d = static_cast<double>(v->as_int());
    } else if (v->is_double()) {
      d = v->as_double();
    } else if (!(v->is_string() && absl::SimpleAtod(v->as_string(), &d) && std::isfinite(d))) {
      Error(f, absl::StrCat("expected a number, got ", DescribeValue(*v)));
      return std::nullopt;
    }
    return d;
  }

  // A duration in (0, max], or [0, max] with allow_zero.
  std::optional<double> Seconds(const Field& f, double max, bool allow_zero = false) {
    std::optional<double> d = Number(f);
    if (!d) return std::nullopt;
    if (allow_zero ? *d < 0 || *d > max : *d <= 0 || *d > max) {
      Error(f, absl::StrCat(
                   allow_zero ? "must be between 0 and " : "must be greater than 0 and at most ",
                   max, " seconds"));
      return std::nullopt;
    }
    return d;
  }

  std::optional<bool> Bool(const Field& f) {
    std::optional<Value> v = ScalarValue(f, "true or false");
    if (!v) return std::nullopt;
    if (v->is_bool()) return v->as_bool();
    if (v->is_string()) {
      std::string lower = absl::AsciiStrToLower(v->as_string());
      if (lower == "true") return true;
      if (lower == "false") return false;
    }
    Error(f, absl::StrCat("expected true or false, got ", DescribeValue(*v)));
    return std::nullopt;
  }

  // A number in (0, max].
  std::optional<double> Positive(const Field& f, double max) {
    std::optional<double> d = Number(f);
    if (d && (*d <= 0 || *d > max)) {
      Error(f, absl::StrCat("must be greater than 0 and at most ", max));
      return std::nullopt;
    }
    return d;
  }

  // One of `choices`' names, as its value.
  template <class E, size_t N>
  std::optional<E> EnumField(const Field& f, const std::pair<std::string_view, E> (&choices)[N]) {
    std::optional<std::string> s = String(f);
    if (!s) return std::nullopt;
    std::vector<std::string_view> names;
    for (const auto& [name, value] : choices) {
      if (name == *s) return value;
      names.push_back(name);
    }
    Error(f, absl::StrCat("must be one of ", QuotedList(names)));
    return std::nullopt;
  }

  std::optional<KeyCombo> KeyComboField(const Field& f) {
    std::optional<std::string> text = String(f);
    if (!text) return std::nullopt;
    absl::StatusOr<KeyCombo> combo = ParseKeyCombo(*text);
    if (combo.ok()) return *std::move(combo);
    Error(f, std::string(combo.status().message()));
    return std::nullopt;
  }

  // A list of non-empty strings, each with the field it came from. A scalar is a
  // one-element list unless it is a template naming a list variable.
  std::optional<std::vector<std::pair<std::string, Field>>> StringList(const Field& f) {
    std::vector<std::pair<std::string, Field>> out;
    if (f.node.IsSequence()) {
      bool ok = true;
      size_t i = 0;
      for (const YAML::Node& el : f.node) {
        Field ef = Element(f, el, i++);
        std::optional<std::string> s = NonEmptyString(ef);
        if (s) {
          out.emplace_back(*s, ef);
        } else {
          ok = false;
        }
      }
      if (!ok) return std::nullopt;
      return out;
    }
    std::optional<Value> v = ScalarValue(f, "a list of strings");
    if (!v) return std::nullopt;
    if (v->is_null()) return out;
    if (v->is_map()) {
      Error(f, "expected a list of strings, got a map");
      return std::nullopt;
    }
    if (!v->is_list()) {
      out.emplace_back(v->ToString(), f);
      return out;
    }
    for (size_t i = 0; i < v->as_list().size(); ++i) {
      const Value& e = v->as_list()[i];
      Field ef = f;
      ef.path = absl::StrCat(f.path, "[", i, "]");
      if (e.is_null() || e.is_list() || e.is_map() || (e.is_string() && e.as_string().empty())) {
        Error(ef, absl::StrCat("expected a non-empty string, got ", DescribeValue(e)));
        return std::nullopt;
      }
      out.emplace_back(e.ToString(), ef);
    }
    return out;
  }

  bool ExpectMap(const Field& f, std::string_view what) {
    if (f.node.IsMap()) return true;
    Error(f, absl::StrCat("expected ", Absl(what), ", got ", Describe(f.node)));
    return false;
  }

  std::optional<Region> RegionField(const Field& f);

  // ---- Steps ----

  void ReadAbout(MapReader& top, Scenario* sc);
  std::optional<Step> BugCheck(const Field& f, std::string_view label, double default_timeout);
  // A step of a list: an import or routine step (either dialect), a step of the
  // original dialect (core/original_dialect.h) rewritten into canonical ones, or a
  // canonical step. ExpandInclude splices in the file an import or routine names.
  void ParseListedStep(const Field& f, std::vector<Step>* out, int depth);
  void ExpandInclude(const OriginalInclude& include, const Field& f, std::vector<Step>* out,
                     int depth);
  std::optional<std::pair<std::string, std::string>> FindIncludeFile(
      const OriginalInclude& include);
  std::map<std::string, std::string> StringMap(const Field& f);
  void ParseStepList(const Field& f, std::vector<Step>* out, int depth, bool require_steps);
  void ParseStep(const Field& f, std::vector<Step>* out, int depth);
  void ExpandUse(const Field& f, std::vector<Step>* out, int depth);
  std::optional<Condition> ParseCondition(const Field& f);

  // ---- Step and condition kinds ----

  // Reads the value under a step or condition key as its row allows it to be written,
  // through the reader of the row's alternative; nullopt when anything was reported.
  template <class Kind>
  std::optional<Kind> ParseKind(const KindRow<Kind>& row, const Field& f, int depth);
  MapReader Keys(const KindValue& value, std::vector<std::string_view> allowed);

  // One reader per StepKind and Condition alternative: ParseKind's std::visit does not
  // compile without each of them. A VerifyAtspiStep reads as its AtspiCondition base.
  void Read(const KindValue& v, ShellStep* s);
  void Read(const KindValue& v, LaunchStep* s);
  void Read(const KindValue& v, AtspiStep* s);
  void Read(const KindValue& v, AtspiCondition* c);
  void Read(const KindValue& v, LocalizeStep* s);
  void Read(const KindValue& v, OcrStep* s);
  void Read(const KindValue& v, VisualStep* s);
  void Read(const KindValue& v, ClickStep* s);
  void Read(const KindValue& v, HoverStep* s);
  void Read(const KindValue& v, DragStep* s);
  void Read(const KindValue& v, ScrollStep* s);
  void Read(const KindValue& v, TypeStep* s);
  void Read(const KindValue& v, KeyStep* s);
  void Read(const KindValue& v, WaitStep* s);
  void Read(const KindValue& v, WaitForStep* s);
  void Read(const KindValue& v, VerifyStep* s);
  void Read(const KindValue& v, IfVisibleStep* s);
  void Read(const KindValue& v, CheckpointStep* s);
  void Read(const KindValue& v, TextCondition* c);
  void Read(const KindValue& v, VisualCondition* c);
  void Read(const KindValue& v, ScreenChangesCondition* c);
  void Read(const KindValue& v, ScreenStableCondition* c);
  void Read(const KindValue& v, VlmCondition* c);
  void Read(const KindValue& v, ShellCondition* c);

  bool ReadAtspiQuery(MapReader& m, AtspiQuery* q);
  void ReadCrossCheck(const Field& f, LocalizeCrossCheck* check);
  template <class Visual>
  void ReadVisualMatch(MapReader& m, Visual* visual);
  void ReadTarget(MapReader& m, std::variant<Point, TextTarget>* target);

  // ---- Files, imports, vars ----

  const FileCtx* AddFile(const std::string& path) {
    files_.push_back({NormalizePath(path), std::filesystem::path(path).parent_path().string()});
    return &files_.back();
  }
  bool LoadYaml(std::string_view text, const FileCtx* file, YAML::Node* root);
  // False (reported at `f`) when `path` lies outside every directory the scenario may
  // read (ScenarioOptions::file_roots). Checked before the file is opened, so nothing
  // of a file outside them reaches a diagnostic or a job.
  bool MayRead(const Field& f, const std::string& path, std::string_view what);
  // False (reported) for "~/..." or "~user/...": no shell expands it here, and a
  // scenario's files travel to other machines with it.
  bool NotHomeRelative(const Field& f, const std::string& path) {
    if (path.empty() || path[0] != '~') return true;
    Error(f, absl::StrCat(Quote(path),
                          ": \"~\" is not expanded in a scenario (its files "
                          "travel with it to other machines); write the path relative to this "
                          "file"));
    return false;
  }
  void LoadImports(const Field& list, int depth);
  void RegisterFragments(const Field& f);
  void CollectVars(const Field& f);
  void FlattenVars(const Field& f, const std::string& prefix, int depth,
                   std::map<std::string, Value>* out, std::map<std::string, VarSource>* where);
  std::optional<Value> VarValue(const Field& f, int depth);

  const ScenarioOptions& options_;
  Diagnostics* diags_;
  std::deque<FileCtx> files_;  // deque: Fields keep pointers into it
  const FileCtx* main_file_ = nullptr;
  std::vector<std::string> import_stack_;
  std::set<std::string> loaded_files_;
  std::map<std::string, Fragment> fragments_;
  std::vector<std::string> use_stack_;
  std::vector<std::string> include_stack_;  // import/routine names being expanded
  VarMap vars_;
  std::map<std::string, VarSource> var_sources_;
  size_t nodes_ = 0;
  size_t steps_ = 0;
  size_t expanded_bytes_ = 0;
  bool too_large_reported_ = false;
  bool too_many_steps_reported_ = false;
};

// The keys of one YAML map, checked against the allowed ones: unknown keys (with a
// typo suggestion) and duplicates are reported on construction. The typed getters
// store a valid value and return its field; otherwise they report why (a missing
// required key at the map) and return nullptr, leaving *out as it was. `Dest` is the
// value's type or a std::optional of it.
class MapReader {
 public:
  MapReader(Parser& parser, const Field& map, std::vector<std::string_view> allowed);

  // A scalar written where a map may be (`shell: ls`): it reads as the map
  // {scalar_key: value}, the value keeping its own place and key path.
  static MapReader ForScalar(Parser& parser, const Field& value, std::string_view scalar_key);

  const Field* Get(std::string_view key) const {
    for (const auto& [name, field] : entries_) {
      if (name == key) return &field;
    }
    return nullptr;
  }

  // Reports `missing required key "key"` on the map when absent.
  const Field* Required(std::string_view key);

  template <class Dest>
  const Field* String(std::string_view key, Dest* out, Presence presence = Presence::kOptional) {
    return Store(presence == Presence::kRequired ? Required(key) : Get(key), out,
                 presence == Presence::kOptional ? &Parser::String : &Parser::NonEmptyString);
  }
  template <class Dest>
  const Field* Bool(std::string_view key, Dest* out) {
    return Store(Get(key), out, &Parser::Bool);
  }
  template <class Dest>
  const Field* Int(std::string_view key, Dest* out, int64_t lo, int64_t hi) {
    return Store(Get(key), out, &Parser::Int, lo, hi);
  }
  // A number in (0, max].
  template <class Dest>
  const Field* Number(std::string_view key, Dest* out, double max) {
    return Store(Get(key), out, &Parser::Positive, max);
  }
  // A duration in (0, max], or [0, max] with allow_zero.
  template <class Dest>
  const Field* Seconds(std::string_view key, Dest* out, double max, bool allow_zero = false) {
    return Store(Get(key), out, &Parser::Seconds, max, allow_zero);
  }
  const Field* Region(std::string_view key, std::optional<mosdat::Region>* out) {
    return Store(Get(key), out, &Parser::RegionField);
  }
  template <class Dest>
  const Field* KeyCombo(std::string_view key, Dest* out) {
    return Store(Get(key), out, &Parser::KeyComboField);
  }
  // One of `choices`' names, stored as its value.
  template <class E, size_t N>
  const Field* Enum(std::string_view key, const std::pair<std::string_view, E> (&choices)[N],
                    E* out) {
    return Store(Get(key), out, &Parser::EnumField<E, N>, choices);
  }
  // This map's "x" and "y", both required.
  bool Point(mosdat::Point* out);

  const Field& field() const { return map_; }

 private:
  MapReader(Parser& parser, const Field& map) : parser_(parser), map_(map) {}

  // Stores what the Parser reader `read` makes of `field`, when present and valid.
  template <class Dest, class Read, class... Args>
  const Field* Store(const Field* field, Dest* out, Read read, const Args&... args) {
    if (field == nullptr) return nullptr;
    auto value = (parser_.*read)(*field, args...);
    if (!value) return nullptr;
    *out = *std::move(value);
    return field;
  }

  Parser& parser_;
  Field map_;
  std::vector<std::pair<std::string, Field>> entries_;
};

MapReader::MapReader(Parser& parser, const Field& map, std::vector<std::string_view> allowed)
    : parser_(parser), map_(map) {
  if (!map.node.IsMap()) return;  // `screen_changes:` and nothing: all defaults
  std::set<std::string> seen;
  for (const auto& kv : map.node) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!parser_.Spend()) return;
    if (!key.IsScalar()) {
      Field kf{key, key, map.path, map.file};
      parser_.Error(kf, "keys must be plain names, not lists or maps");
      continue;
    }
    const std::string& name = key.Scalar();
    Field child = Child(map, key, value, name);
    if (!seen.insert(name).second) {
      parser_.ErrorAtKey(child, absl::StrCat("duplicate key ", Quote(name)));
      continue;
    }
    if (!Contains(allowed, name)) {
      parser_.ErrorAtKey(child, UnknownName("key", name, ClosestName(name, allowed),
                                            absl::StrCat("; valid keys: ", Join(allowed))));
      continue;
    }
    entries_.emplace_back(name, std::move(child));
  }
}

const Field* MapReader::Required(std::string_view key) {
  const Field* f = Get(key);
  if (!f) parser_.Error(map_, absl::StrCat("missing required key \"", Absl(key), "\""));
  return f;
}

MapReader MapReader::ForScalar(Parser& parser, const Field& value, std::string_view scalar_key) {
  MapReader m(parser, value);
  m.entries_.emplace_back(std::string(scalar_key), value);
  return m;
}

bool MapReader::Point(mosdat::Point* out) {
  const Field* x = Required("x");
  const Field* y = Required("y");
  std::optional<int> xv = x ? parser_.Int(*x, 0, kMaxCoordinate) : std::nullopt;
  std::optional<int> yv = y ? parser_.Int(*y, 0, kMaxCoordinate) : std::nullopt;
  if (!xv || !yv) return false;
  *out = {*xv, *yv};
  return true;
}

std::optional<Region> Parser::RegionField(const Field& f) {
  if (!ExpectMap(f, "a region {x, y, width, height}")) return std::nullopt;
  MapReader m(*this, f, {"x", "y", "width", "height"});
  const Field* x = m.Required("x");
  const Field* y = m.Required("y");
  const Field* w = m.Required("width");
  const Field* h = m.Required("height");
  std::optional<int> xv = x ? Int(*x, 0, kMaxCoordinate) : std::nullopt;
  std::optional<int> yv = y ? Int(*y, 0, kMaxCoordinate) : std::nullopt;
  std::optional<int> wv = w ? Int(*w, 1, kMaxCoordinate) : std::nullopt;
  std::optional<int> hv = h ? Int(*h, 1, kMaxCoordinate) : std::nullopt;
  if (!xv || !yv || !wv || !hv) return std::nullopt;
  return Region{*xv, *yv, *wv, *hv};
}

// ---- Files ----

bool Parser::LoadYaml(std::string_view text, const FileCtx* file, YAML::Node* root) {
  if (text.size() > kMaxFileBytes) {
    diags_->Add(
        {file->path, 0, 0}, "",
        absl::StrCat("file is too large (", text.size(), " bytes; limit ", kMaxFileBytes, ")"));
    return false;
  }
  if (std::optional<InvalidUtf8> bad = FindInvalidUtf8(text)) {
    // A config error, never a failing step: the text would reach the app mangled.
    diags_->Add({file->path, bad->line, bad->column}, "",
                absl::StrFormat("the file is not valid UTF-8 (byte 0x%02X here); save it as UTF-8",
                                bad->byte));
    return false;
  }
  if (std::optional<YAML::Mark> loop = FindParserLoop(text)) {
    diags_->Add(At(file, *loop), "",
                "the YAML parser cannot get past this point (a line starting with \",\" is a "
                "common cause)");
    return false;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    diags_->Add(At(file, e.mark), "", e.msg);
    return false;
  }
  if (docs.size() > 1) {
    diags_->Add(At(file, docs[1].Mark()), "",
                "a file holds one YAML document; remove the second \"---\"");
    return false;
  }
  *root = docs.empty() ? YAML::Node() : docs[0];
  return true;
}

bool Parser::MayRead(const Field& f, const std::string& path, std::string_view what) {
  if (options_.any_file) return true;
  namespace fs = std::filesystem;
  std::vector<std::string> roots = {main_file_->dir};
  roots.insert(roots.end(), options_.file_roots.begin(), options_.file_roots.end());
  const fs::path target = AbsoluteNormal(path);
  // A file that exists here is judged by where it really is: a symlink inside the
  // tree must not lead out of it. One whose real place cannot be told is refused.
  std::error_code exists_error, real_error;
  const bool exists = fs::exists(path, exists_error);
  const fs::path real = exists ? fs::canonical(path, real_error) : fs::path();
  for (const std::string& root : roots) {
    if (!IsWithin(target, AbsoluteNormal(root))) continue;
    if (!exists) return true;
    if (real_error) break;
    std::error_code root_error;
    const fs::path real_root = fs::weakly_canonical(AbsoluteNormal(root), root_error);
    if (!root_error && IsWithin(real, real_root)) return true;
  }
  std::vector<std::string> shown;
  for (const std::string& root : roots) {
    std::string name = root.empty() ? "." : root;
    if (std::find(shown.begin(), shown.end(), name) == shown.end()) shown.push_back(name);
  }
  Error(f, absl::StrCat(Absl(what), " ", Quote(path),
                        exists && IsWithin(target, AbsoluteNormal(roots[0]))
                            ? " leads (through a symlink) outside"
                            : " is outside",
                        " the directories this scenario may read (", absl::StrJoin(shown, ", "),
                        "); list its directory in the test's allow_files_from in the config "
                        "to allow it"));
  return false;
}

void Parser::LoadImports(const Field& list, int depth) {
  if (list.node.IsNull()) return;
  if (!list.node.IsSequence()) {
    Error(list, absl::StrCat("expected a list of file paths, got ", Describe(list.node)));
    return;
  }
  size_t i = 0;
  for (const YAML::Node& el : list.node) {
    Field ef = Element(list, el, i++);
    if (!Spend()) return;
    if (!el.IsScalar() || el.Scalar().empty()) {
      Error(ef, absl::StrCat("expected a file path, got ", Describe(el)));
      continue;
    }
    if (HasTemplate(el.Scalar())) {
      // Imports are read before variables exist (they define some).
      Error(ef, "import paths cannot use variables");
      continue;
    }
    if (!NotHomeRelative(ef, el.Scalar())) continue;
    std::string path = JoinPath(ef.file->dir, el.Scalar());
    if (auto cycle = std::find(import_stack_.begin(), import_stack_.end(), path);
        cycle != import_stack_.end()) {
      std::vector<std::string> chain(cycle, import_stack_.end());
      chain.push_back(path);
      Error(ef, absl::StrCat("import cycle: ", absl::StrJoin(chain, " -> ")));
      continue;
    }
    if (!MayRead(ef, path, "import")) continue;
    if (!loaded_files_.insert(path).second) continue;  // diamond imports load once
    if (depth >= kMaxNesting) {
      Error(ef, absl::StrCat("imports are nested too deeply (limit ", kMaxNesting, ")"));
      continue;
    }
    absl::StatusOr<std::string> content =
        options_.read_file ? options_.read_file(path) : ReadFile(path);
    if (!content.ok()) {
      Error(ef, absl::StrCat("cannot read ", Quote(path), ": ", content.status().message()));
      continue;
    }
    const FileCtx* file = AddFile(path);
    YAML::Node root;
    if (!LoadYaml(*content, file, &root)) continue;
    Field rf{root, YAML::Node(), "", file};
    if (root.IsNull()) continue;
    if (!root.IsMap()) {
      Error(rf, absl::StrCat("expected a fragment file (a map with vars, fragments, imports), got ",
                             Describe(root)));
      continue;
    }
    MapReader m(*this, rf, {"vars", "fragments", "imports"});
    if (const Field* imports = m.Get("imports")) {
      import_stack_.push_back(path);
      LoadImports(*imports, depth + 1);
      import_stack_.pop_back();
    }
    // After its own imports: a file's vars override those of the files it imports.
    if (const Field* vars = m.Get("vars")) CollectVars(*vars);
    if (const Field* fragments = m.Get("fragments")) RegisterFragments(*fragments);
  }
}

void Parser::RegisterFragments(const Field& f) {
  if (f.node.IsNull()) return;
  if (!ExpectMap(f, "a map of fragment names to lists of steps")) return;
  for (const auto& kv : f.node) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!Spend()) return;
    if (!key.IsScalar() || key.Scalar().empty()) {
      Error({key, key, f.path, f.file}, "fragment names must be plain names");
      continue;
    }
    const std::string& name = key.Scalar();
    Field ff = Child(f, key, value, name);
    if (auto prev = fragments_.find(name); prev != fragments_.end()) {
      ErrorAtKey(ff, absl::StrCat("fragment ", Quote(name), " is already defined at ",
                                  Where(prev->second.field).ToString()));
      continue;
    }
    if (!value.IsSequence() || value.size() == 0) {
      Error(ff, absl::StrCat("expected a non-empty list of steps, got ", Describe(value)));
      continue;
    }
    fragments_[name].field = ff;
  }
}

void Parser::CollectVars(const Field& f) {
  if (f.node.IsNull()) return;
  if (!ExpectMap(f, "a map of variable names to values")) return;
  std::map<std::string, Value> local;
  std::map<std::string, VarSource> where;
  FlattenVars(f, "", 0, &local, &where);
  for (auto& [name, value] : local) {
    vars_[name] = std::move(value);
    var_sources_[name] = std::move(where[name]);
  }
}

// Nested maps become dotted names: `app: {binary: x}` defines "app.binary".
void Parser::FlattenVars(const Field& f, const std::string& prefix, int depth,
                         std::map<std::string, Value>* out,
                         std::map<std::string, VarSource>* where) {
  if (depth >= kMaxNesting) {
    Error(f, absl::StrCat("variables are nested too deeply (limit ", kMaxNesting, ")"));
    return;
  }
  for (const auto& kv : f.node) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!Spend()) return;
    if (!key.IsScalar() || !IsValidVarName(key.Scalar())) {
      Field kf{key, key, f.path, f.file};
      Error(kf, absl::StrCat("invalid variable name ", Describe(key),
                             " (use letters, digits, \"_\" and \"-\", with \".\" between parts)"));
      continue;
    }
    std::string name = prefix.empty() ? key.Scalar() : absl::StrCat(prefix, ".", key.Scalar());
    Field child = Child(f, key, value, key.Scalar());
    if (value.IsMap()) {
      FlattenVars(child, name, depth + 1, out, where);
      continue;
    }
    std::optional<Value> v = VarValue(child, 0);
    if (!v) continue;
    if (out->contains(name)) {
      ErrorAtKey(child, absl::StrCat("variable ", Quote(name), " is defined twice"));
      continue;
    }
    if (vars_.size() + out->size() >= kMaxVars) {
      ErrorAtKey(child, absl::StrCat("too many variables (limit ", kMaxVars, ")"));
      return;
    }
    (*out)[name] = *std::move(v);
    (*where)[name] = {Where(child), child.path};
  }
}

// A variable's value as written (templates are resolved later, all vars at once).
std::optional<Value> Parser::VarValue(const Field& f, int depth) {
  if (!Spend()) return std::nullopt;
  const YAML::Node& n = f.node;
  if (n.IsNull()) return Value();
  if (n.IsScalar()) return n.Tag() == "?" ? ValueFromPlainScalar(n.Scalar()) : Value(n.Scalar());
  if (depth >= kMaxNesting) {
    Error(f, absl::StrCat("lists are nested too deeply (limit ", kMaxNesting, ")"));
    return std::nullopt;
  }
  if (n.IsMap()) {  // inside a list, or a routine input: [{title: A, url: ...}]
    Value::Map map;
    std::set<std::string> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        Error(f, "keys must be plain names, not lists or maps");
        return std::nullopt;
      }
      Field child = Child(f, kv.first, kv.second, kv.first.Scalar());
      if (!seen.insert(kv.first.Scalar()).second) {
        ErrorAtKey(child, absl::StrCat("duplicate key ", Quote(kv.first.Scalar())));
        return std::nullopt;
      }
      std::optional<Value> v = VarValue(child, depth + 1);
      if (!v) return std::nullopt;
      map.emplace_back(kv.first.Scalar(), *std::move(v));
    }
    return Value(std::move(map));
  }
  Value::List list;
  size_t i = 0;
  for (const YAML::Node& el : n) {
    std::optional<Value> v = VarValue(Element(f, el, i++), depth + 1);
    if (!v) return std::nullopt;
    list.push_back(*std::move(v));
  }
  return Value(std::move(list));
}

// ---- Scenario ----

Scenario Parser::Run(std::string_view text, std::string_view file_name) {
  Scenario sc;
  sc.source_path = std::string(file_name);
  main_file_ = AddFile(std::string(file_name));
  YAML::Node root;
  if (!LoadYaml(text, main_file_, &root)) return sc;
  Field rf{root, YAML::Node(), "", main_file_};
  if (root.IsNull()) {
    diags_->Add({main_file_->path, 0, 0}, "", "empty scenario: it needs \"steps\"");
    return sc;
  }
  if (!root.IsMap()) {
    Error(rf,
          absl::StrCat("expected a scenario (a map with name, steps, ...), got ", Describe(root)));
    return sc;
  }
  // `dialect: mosdat` / `dialect: original` says it; otherwise the content tells.
  absl::StatusOr<std::optional<DialectSign>> dialect = ScenarioDialect(root);
  if (!dialect.ok()) {
    Error(Child(rf, YAML::Node("dialect"), Lookup(root, "dialect"), "dialect"),
          std::string(dialect.status().message()));
    return sc;
  }
  const std::optional<DialectSign>& sign = *dialect;
  if (sign) {
    rf.original = true;
    diags_->Warn(At(main_file_, sign->mark), "",
                 absl::StrCat("read in the original mOSdat's dialect (because of ", sign->what,
                              "): there, retries counts attempts and verify is asked until it "
                              "holds (see README, \"Bringing the original's files\")"));
    Reporter report(*this, rf);
    root = RewriteOriginalTopLevel(root, report);
    rf.node = root;
  }
  MapReader top(
      *this, rf,
      {"name", "description", "vars", "imports", "steps", "cleanup", "app", "tags", "kind", "issue",
       "expected_env", "setup", "precondition", "bug_signal", "precondition_check", "dialect"});

  import_stack_.push_back(main_file_->path);
  loaded_files_.insert(main_file_->path);
  for (const auto& [name, value] : options_.defaults) vars_[name] = value;
  if (const Field* imports = top.Get("imports")) LoadImports(*imports, 0);
  if (const Field* vars = top.Get("vars")) CollectVars(*vars);
  std::set<std::string> literal;
  for (const auto& [name, value] : options_.defaults) {
    if (!var_sources_.contains(name)) literal.insert(name);  // not redefined by the file
  }
  for (const auto& [name, value] : options_.overrides) {
    vars_[name] = value;
    literal.insert(name);
  }
  ResolveVars(vars_, literal, [&](const std::string& name, const absl::Status& error) {
    const VarSource& src = var_sources_[name];
    diags_->Add(src.location, src.key_path, std::string(error.message()));
  });

  // As in the original mOSdat, a scenario without a name is named after its file.
  if (const Field* name = top.Get("name")) {
    if (auto s = NonEmptyString(*name)) sc.name = *s;
  } else {
    sc.name = std::filesystem::path(main_file_->path).stem().string();
    if (sc.name.empty()) sc.name = "scenario";
  }
  if (const Field* description = top.Get("description");
      description && !description->node.IsNull()) {
    // Documentation, taken as written in both dialects (the original never expanded
    // it, and its files show `{{ var }}` there as an example).
    if (description->node.IsScalar()) {
      sc.description = description->node.Scalar();
    } else {
      Error(*description, absl::StrCat("expected a text, got ", Describe(description->node)));
    }
  }
  ReadAbout(top, &sc);
  if (const Field* steps = top.Required("steps")) ParseStepList(*steps, &sc.steps, 0, true);
  if (const Field* cleanup = top.Get("cleanup")) {
    if (!cleanup->node.IsNull()) ParseStepList(*cleanup, &sc.cleanup, 0, false);
  }
  sc.vars = vars_;
  return sc;
}

// What the scenario is about: the app, tags, and a bug confirmation's description.
void Parser::ReadAbout(MapReader& top, Scenario* sc) {
  top.String("app", &sc->app, Presence::kNonEmpty);
  if (const Field* tags = top.Get("tags")) {
    if (auto list = StringList(*tags)) {
      for (auto& [tag, field] : *list) sc->tags.push_back(std::move(tag));
    }
  }
  constexpr std::pair<std::string_view, std::string_view> kKinds[] = {
      {"functional", "functional"}, {"bug-confirmation", "bug-confirmation"}};
  std::string_view kind = "functional";
  const Field* kind_field = top.Enum("kind", kKinds, &kind);
  BugConfirmation bug;
  bool any = false;
  for (std::string_view key :
       {"issue", "expected_env", "setup", "precondition", "precondition_check", "bug_signal"}) {
    any = any || top.Get(key) != nullptr;
  }
  if (const Field* f = top.Get("issue")) bug.issue = StringMap(*f);
  if (const Field* f = top.Get("expected_env")) bug.expected_env = StringMap(*f);
  if (const Field* f = top.Get("setup")) ParseStepList(*f, &bug.setup, 0, true);
  const Field* precondition = top.Get("precondition");
  if (const Field* check = top.Get("precondition_check")) {
    if (precondition) {
      ErrorAtKey(*check,
                 "use either \"precondition\" or \"precondition_check\" (the original's "
                 "name for a precondition that is a question), not both");
    } else {
      precondition = check;
    }
  }
  if (precondition) bug.precondition = BugCheck(*precondition, "precondition", 30);
  if (const Field* signal = top.Get("bug_signal")) {
    bug.bug_signal = BugCheck(*signal, "bug signal", 10);
  } else if (kind == "bug-confirmation") {
    Error(*kind_field,
          "a bug-confirmation scenario needs \"bug_signal\": the conditions that "
          "mean the bug showed");
  } else if (any) {
    for (std::string_view key : {"setup", "precondition", "precondition_check"}) {
      if (const Field* f = top.Get(key)) {
        ErrorAtKey(*f, absl::StrCat("\"", Absl(key),
                                    "\" belongs to a bug scenario: add "
                                    "\"bug_signal\" (the conditions that mean the bug showed)"));
      }
    }
  }
  if (bug.bug_signal) kind = "bug-confirmation";
  sc->kind = std::string(kind);
  if (any || kind == "bug-confirmation") sc->bug = std::move(bug);
}

// A precondition or bug signal: a question for the VLM (`bug_signal: "the window is
// blank"`), one condition (`{shell: "..."}`), or a group as wait_for writes it
// (`{any: [...], timeout: 20}`). Becomes a wait_for step labelled `label`.
std::optional<Step> Parser::BugCheck(const Field& f, std::string_view label,
                                     double default_timeout) {
  Step step;
  step.common.label = std::string(label);
  step.location = Where(f);
  WaitForStep wait;
  wait.timeout_seconds = default_timeout;
  const size_t before = diags_->size();
  if (f.node.IsScalar()) {
    if (auto question = NonEmptyString(f)) wait.conditions.push_back(VlmCondition{*question});
  } else if (f.node.IsMap() && (f.node["any"] || f.node["all"])) {
    Read(KindValue{f, {}, 0}, &wait);
  } else if (f.node.IsMap()) {
    if (auto c = ParseCondition(f)) wait.conditions.push_back(*std::move(c));
  } else {
    Error(f, absl::StrCat("expected a yes/no question, a condition such as {shell: ...} or a "
                          "group {any: [...], timeout: N}, got ",
                          Describe(f.node)));
  }
  if (diags_->size() != before || wait.conditions.empty()) return std::nullopt;
  step.kind = std::move(wait);
  return step;
}

// A map of names to scalars (issue: {id: 3308, url: ...}), each kept as written.
std::map<std::string, std::string> Parser::StringMap(const Field& f) {
  std::map<std::string, std::string> out;
  if (!ExpectMap(f, "a map of names to values")) return out;
  for (const auto& kv : f.node) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!Spend()) return out;
    if (!key.IsScalar()) {
      Error({key, key, f.path, f.file, f.origin}, "keys must be plain names, not lists or maps");
      continue;
    }
    Field child = Child(f, key, value, key.Scalar());
    if (value.IsNull()) {
      out[key.Scalar()] = "";
    } else if (auto s = String(child)) {
      out[key.Scalar()] = *s;
    }
  }
  return out;
}

void Parser::ParseStepList(const Field& f, std::vector<Step>* out, int depth, bool require_steps) {
  if (depth > kMaxNesting) {
    Error(f, absl::StrCat("steps are nested too deeply (limit ", kMaxNesting,
                          " levels of if_visible and use)"));
    return;
  }
  if (!f.node.IsSequence()) {
    Error(f, absl::StrCat("expected a list of steps, got ", Describe(f.node)));
    return;
  }
  if (require_steps && f.node.size() == 0) {
    Error(f, "must list at least one step");
    return;
  }
  size_t i = 0;
  for (const YAML::Node& el : f.node) {
    if (too_large_reported_ || too_many_steps_reported_) return;
    ParseListedStep(Element(f, el, i++), out, depth);
  }
}

void Parser::ParseStep(const Field& f, std::vector<Step>* out, int depth) {
  if (!Spend()) return;
  if (!f.node.IsMap()) {
    Error(f, absl::StrCat("expected a step (a map such as {key: enter}), got ", Describe(f.node)));
    return;
  }
  const size_t errors_before = diags_->size();
  const std::vector<std::string>& kind_keys = StepKindKeys();
  std::vector<std::pair<std::string, Field>> kinds, shared, unknown;
  std::optional<Field> use;
  std::set<std::string> seen;
  for (const auto& kv : f.node) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!Spend()) return;
    if (!key.IsScalar()) {
      Error({key, key, f.path, f.file}, "keys must be plain names, not lists or maps");
      continue;
    }
    const std::string& name = key.Scalar();
    Field child = Child(f, key, value, name);
    if (!seen.insert(name).second) {
      ErrorAtKey(child, absl::StrCat("duplicate key ", Quote(name)));
    } else if (Contains(kSharedKeys, name)) {
      shared.emplace_back(name, std::move(child));
    } else if (name == "use") {
      use = std::move(child);
    } else if (Contains(kind_keys, name)) {
      kinds.emplace_back(name, std::move(child));
    } else {
      unknown.emplace_back(name, std::move(child));
    }
  }

  if (use) {
    for (const auto* group : {&kinds, &shared, &unknown}) {
      for (const auto& [name, field] : *group) {
        ErrorAtKey(field, absl::StrCat(Quote(name),
                                       " cannot be combined with \"use\", which expands into the "
                                       "fragment's steps"));
      }
    }
    if (diags_->size() == errors_before) ExpandUse(*use, out, depth);
    return;
  }

  std::vector<std::string> candidates = kind_keys;
  candidates.push_back("use");
  candidates.insert(candidates.end(), std::begin(kSharedKeys), std::end(kSharedKeys));
  for (const auto& [name, field] : unknown) {
    std::string close = ClosestName(name, candidates);
    bool shared_typo = Contains(kSharedKeys, close);
    if (kinds.empty() && !shared_typo) {
      ErrorAtKey(field, UnknownName("step type", name, close,
                                    absl::StrCat("; step types: ", absl::StrJoin(kind_keys, ", "),
                                                 ", use")));
    } else {
      ErrorAtKey(field, UnknownName("key", name, close,
                                    "; besides its type a step takes only label, retries, "
                                    "timeout, must_pass"));
    }
  }
  if (kinds.empty()) {
    if (unknown.empty()) {
      Error(f, absl::StrCat("step has no type; add one of: ", absl::StrJoin(kind_keys, ", "),
                            ", use"));
    }
    return;
  }
  if (kinds.size() > 1) {
    ErrorAtKey(kinds[1].second,
               absl::StrCat("a step has exactly one type, found ", Quote(kinds[0].first), " and ",
                            Quote(kinds[1].first), ": split it into two steps"));
    return;
  }

  StepCommon common;
  for (const auto& [name, field] : shared) {
    if (name == "label") {
      if (auto s = String(field)) common.label = *s;
    } else if (name == "retries") {
      if (auto n = Int(field, 0, 100)) common.retries = *n;
    } else if (name == "timeout") {
      common.timeout_seconds = Seconds(field, kMaxStepTimeoutSeconds);
    } else if (name == "must_pass") {
      if (auto b = Bool(field)) common.must_pass = *b;
    }
  }
  std::optional<StepKind> kind =
      ParseKind(*FindStepKindRow(kinds[0].first), kinds[0].second, depth);
  if (!kind || diags_->size() != errors_before) return;
  if (++steps_ > kMaxSteps) {
    if (!too_many_steps_reported_) {
      too_many_steps_reported_ = true;
      Error(f, absl::StrCat("too many steps (limit ", kMaxSteps, ")"));
    }
    return;
  }
  out->push_back(Step{std::move(common), *std::move(kind), Where(f)});
}

void Parser::ExpandUse(const Field& f, std::vector<Step>* out, int depth) {
  std::optional<std::string> name = NonEmptyString(f);
  if (!name) return;
  auto it = fragments_.find(*name);
  if (it == fragments_.end()) {
    std::vector<std::string> names;
    for (const auto& [n, frag] : fragments_) names.push_back(n);
    Error(f, UnknownName("fragment", *name, ClosestName(*name, names),
                         names.empty()
                             ? "; no fragments are imported (add the file under \"imports\")"
                             : absl::StrCat("; imported fragments: ", absl::StrJoin(names, ", "))));
    return;
  }
  Fragment& frag = it->second;
  if (frag.state == Fragment::State::kParsing) {
    std::vector<std::string> chain(std::find(use_stack_.begin(), use_stack_.end(), *name),
                                   use_stack_.end());
    chain.push_back(*name);
    Error(f,
          absl::StrCat("fragment ", Quote(*name), " uses itself: ", absl::StrJoin(chain, " -> ")));
    return;
  }
  if (frag.state == Fragment::State::kUnparsed) {
    // Parsed once, on first use; errors inside point into the fragment's own file.
    frag.state = Fragment::State::kParsing;
    use_stack_.push_back(*name);
    std::vector<Step> steps;
    const size_t bytes_before = expanded_bytes_;
    ParseStepList(frag.field, &steps, depth + 1, true);
    frag.expanded_bytes = expanded_bytes_ - bytes_before;
    use_stack_.pop_back();
    frag.total_steps = CountSteps(steps);
    frag.steps = std::move(steps);
    frag.state = Fragment::State::kDone;
  } else if (!Charge(f, frag.expanded_bytes)) {
    return;  // each further use copies the fragment's steps again
  }
  steps_ += frag.total_steps;
  if (steps_ > kMaxSteps) {
    if (!too_many_steps_reported_) {
      too_many_steps_reported_ = true;
      Error(f, absl::StrCat("too many steps (limit ", kMaxSteps, ")"));
    }
    return;
  }
  out->insert(out->end(), frag.steps.begin(), frag.steps.end());
}

// ---- The original dialect ----

void Parser::ParseListedStep(const Field& f, std::vector<Step>* out, int depth) {
  if (!IsInclude(f.node) && !f.original) {
    ParseStep(f, out, depth);
    return;
  }
  if (!Spend()) return;
  Reporter report(*this, f);
  if (std::optional<OriginalInclude> include = AsOriginalInclude(f.node, report)) {
    if (!include->name.empty()) ExpandInclude(*include, f, out, depth);
    return;
  }
  OriginalRewriteOptions options;
  options.placeholders = OriginalRunValueNames();
  for (const auto& [name, value] : vars_) options.placeholders.insert(name);
  const size_t errors_before = diags_->size();
  std::vector<YAML::Node> steps = RewriteOriginalStep(f.node, options, report);
  if (diags_->size() != errors_before) return;
  for (const YAML::Node& step : steps) {
    Field canonical = f;
    canonical.node = step;
    canonical.key = YAML::Node();
    canonical.origin = OriginOf(f.node, f.key, f.origin);
    canonical.original = false;  // rewritten: its nested steps are canonical
    ParseStep(canonical, out, depth);
  }
}

// The original looked for shared/scenarios/imports (and shared/routines) in the
// scenario's folder and up to 8 folders above it. The name is a plain file name, so
// nothing but files of those folders can be read this way; they may be read from
// wherever the scenario may. Files are tried through read_file, so the coordinator and
// agent find the same files among those the CLI sent.
std::optional<std::pair<std::string, std::string>> Parser::FindIncludeFile(
    const OriginalInclude& include) {
  const bool routine = include.kind == OriginalInclude::Kind::kRoutine;
  std::vector<std::string> subdirs;
  if (routine) {
    auto platform = vars_.find("vm.os_type");
    if (platform != vars_.end() && platform->second.is_string()) {
      subdirs.push_back(absl::StrCat("shared/routines/", platform->second.as_string()));
    }
    subdirs.push_back("shared/routines");
  } else {
    subdirs.push_back("shared/scenarios/imports");
  }
  // Up the path as written (relative paths stop at the working directory).
  std::filesystem::path dir = std::filesystem::path(main_file_->dir).lexically_normal();
  if (!dir.empty() && !dir.has_filename()) dir = dir.parent_path();  // "a/b/" → "a/b"
  for (int up = 0; up <= 8; ++up) {
    for (const std::string& sub : subdirs) {
      std::string path = NormalizePath((dir / sub / (include.name + ".yaml")).string());
      absl::StatusOr<std::string> text =
          options_.read_file ? options_.read_file(path) : ReadFile(path);
      if (text.ok()) return std::pair{path, *std::move(text)};
    }
    if (dir.empty() || dir == dir.root_path()) break;
    dir = dir.parent_path();
  }
  return std::nullopt;
}

void Parser::ExpandInclude(const OriginalInclude& include, const Field& f, std::vector<Step>* out,
                           int depth) {
  const bool routine = include.kind == OriginalInclude::Kind::kRoutine;
  const std::string what = routine ? "routine" : "import";
  Field at = f;
  at.node = include.at;
  if (!IsPlainFileName(include.name)) {
    Error(at, absl::StrCat("an ", what,
                           " is named by a plain file name (letters, digits, "
                           "\"-\", \"_\"), not a path"));
    return;
  }
  if (std::find(include_stack_.begin(), include_stack_.end(), include.name) !=
      include_stack_.end()) {
    std::vector<std::string> chain = include_stack_;
    chain.push_back(include.name);
    Error(at, absl::StrCat(what, " cycle: ", absl::StrJoin(chain, " -> ")));
    return;
  }
  if (depth >= kMaxNesting) {
    Error(at, absl::StrCat(what, "s are nested too deeply (limit ", kMaxNesting, ")"));
    return;
  }
  std::optional<std::pair<std::string, std::string>> file = FindIncludeFile(include);
  if (!file) {
    Error(at, absl::StrCat(what, " \"", include.name, "\" not found: looked for ",
                           routine ? "shared/routines/" : "shared/scenarios/imports/", include.name,
                           ".yaml in the scenario's folder and the 8 above it"));
    return;
  }
  const FileCtx* ctx = AddFile(file->first);
  YAML::Node root;
  if (!LoadYaml(file->second, ctx, &root)) return;
  Field rf{root, YAML::Node(), "", ctx, YAML::Mark::null_mark(), true};
  YAML::Node steps = root.IsMap() ? Lookup(root, "steps") : root;
  if (!steps.IsSequence()) {
    Error(rf, absl::StrCat("expected ", routine ? "a routine" : "an imported file",
                           " with a list of \"steps\""));
    return;
  }
  // Routine inputs are variables of its steps: call arguments, else the scenario's
  // variables, else the input's default.
  VarMap saved = vars_;
  const size_t errors_before = diags_->size();
  if (routine) {
    Reporter report(*this, at);
    if (include.with.IsDefined() && !include.with.IsNull() && !include.with.IsMap()) {
      Error(at, "\"with\" takes a map of input names to values");
      return;
    }
    const YAML::Node inputs = Lookup(root, "inputs");
    if (inputs.IsMap()) {
      for (const auto& kv : inputs) {
        if (!kv.first.IsScalar()) continue;
        const std::string name = kv.first.Scalar();
        const YAML::Node given = Lookup(include.with, name);
        const YAML::Node spec = kv.second;
        Field value_field = Child(at, kv.first, given, name);
        if (given.IsDefined()) {
          if (std::optional<Value> v = VarValue(value_field, 0)) vars_[name] = *v;
        } else if (saved.contains(name)) {
          continue;
        } else if (Lookup(spec, "required").IsScalar() &&
                   Lookup(spec, "required").Scalar() == "false") {
          Field default_field = Child(rf, kv.first, Lookup(spec, "default"), name);
          if (std::optional<Value> v = VarValue(default_field, 0)) vars_[name] = *v;
        } else {
          Error(at, absl::StrCat("routine \"", include.name, "\" needs the input \"", name,
                                 "\" (give it under \"with\", or define the variable)"));
        }
      }
    }
    if (include.with.IsMap()) {
      for (const auto& kv : include.with) {
        if (!kv.first.IsScalar() || Lookup(inputs, kv.first.Scalar()).IsDefined()) {
          continue;
        }
        Field value_field = Child(at, kv.first, kv.second, kv.first.Scalar());
        if (std::optional<Value> v = VarValue(value_field, 0)) vars_[kv.first.Scalar()] = *v;
      }
    }
    if (Lookup(root, "fallbacks").IsDefined()) {
      report.Warn(include.at, absl::StrCat("routine \"", include.name,
                                           "\": its fallbacks are not chosen here; its "
                                           "steps run"));
    }
  } else {
    // Imported steps are labelled "[import:name] ..." as in the original.
    for (YAML::Node step : steps) {
      if (Lookup(step, "label").IsScalar()) {
        step["label"] = absl::StrCat("[import:", include.name, "] ", step["label"].Scalar());
      }
    }
  }
  if (diags_->size() != errors_before) {  // its steps would only echo a missing input
    vars_ = std::move(saved);
    return;
  }
  // Each file is read in its own dialect: a routine `mosdat migrate` rewrote is ours.
  const bool original = IncludedFileIsOriginal(root);
  include_stack_.push_back(include.name);
  for (const char* part : {"preconditions", "steps", "postconditions"}) {
    const YAML::Node list =
        root.IsMap() ? Lookup(root, part) : (std::string(part) == "steps" ? root : YAML::Node());
    if (!list.IsDefined() || list.IsNull()) continue;
    Field lf = root.IsMap() ? Child(rf, YAML::Node(part), list, part) : rf;
    lf.original = original;
    if (!list.IsSequence()) {
      Error(lf, "expected a list of steps");
      continue;
    }
    size_t i = 0;
    for (const YAML::Node& el : list) {
      if (too_large_reported_ || too_many_steps_reported_) break;
      ParseListedStep(Element(lf, el, i++), out, depth + 1);
    }
  }
  include_stack_.pop_back();
  vars_ = std::move(saved);
}

// ---- Step and condition kinds ----

template <class Kind>
std::optional<Kind> Parser::ParseKind(const KindRow<Kind>& row, const Field& f, int depth) {
  const bool is_map = f.node.IsMap() || (row.form == KindForm::kOptionalMap && f.node.IsNull());
  const bool takes_scalar = row.form == KindForm::kScalar || row.form == KindForm::kScalarOrMap;
  if (!is_map && !takes_scalar) {
    ExpectMap(f, row.map_expected);
    return std::nullopt;
  }
  if (is_map && !row.map_refused.empty()) {
    Error(f, std::string(row.map_refused));
    return std::nullopt;
  }
  // A kind that takes no map reads a map as its scalar, whose reader reports the type.
  const bool as_scalar = !is_map || row.form == KindForm::kScalar;
  const KindValue value{f, as_scalar ? row.scalar_key : std::string_view(), depth};
  Kind kind = row.preset;
  const size_t before = diags_->size();
  std::visit([&](auto& alternative) { Read(value, &alternative); }, kind);
  if (diags_->size() != before) return std::nullopt;
  return kind;
}

MapReader Parser::Keys(const KindValue& value, std::vector<std::string_view> allowed) {
  if (value.scalar_key.empty()) return MapReader(*this, value.field, std::move(allowed));
  return MapReader::ForScalar(*this, value.field, value.scalar_key);
}

void Parser::Read(const KindValue& v, ShellStep* s) {
  MapReader m = Keys(v, {"command", "timeout", "expect_exit", "x11"});
  m.String("command", &s->command, Presence::kRequired);
  m.Seconds("timeout", &s->timeout_seconds, kMaxStepTimeoutSeconds);
  m.Int("expect_exit", &s->expect_exit, 0, 255);
  m.Bool("x11", &s->x11);
}

void Parser::Read(const KindValue& v, LaunchStep* s) {
  MapReader m = Keys(v, {"command", "app", "window", "timeout"});
  m.String("command", &s->command, Presence::kRequired);
  m.String("app", &s->app, Presence::kNonEmpty);
  m.String("window", &s->window, Presence::kNonEmpty);
  m.Seconds("timeout", &s->timeout_seconds, kMaxWaitSeconds);
}

bool Parser::ReadAtspiQuery(MapReader& m, AtspiQuery* q) {
  const size_t before = diags_->size();
  for (auto [key, dest] : {std::pair{"role", &q->role}, std::pair{"name", &q->name},
                           std::pair{"name_substr", &q->name_substr}, std::pair{"app", &q->app},
                           std::pair{"app_substr", &q->app_substr}}) {
    m.String(key, dest, Presence::kNonEmpty);
  }
  m.Int("index", &q->index, 0, 10000);
  if (const Field* states = m.Get("states")) {
    if (auto list = StringList(*states)) {
      for (const auto& [state, field] : *list) {
        std::string norm = absl::AsciiStrToLower(state);
        std::replace(norm.begin(), norm.end(), '-', '_');
        if (!Contains(KnownAtspiStates(), norm)) {
          Error(field,
                UnknownName("AT-SPI state", state, ClosestName(norm, KnownAtspiStates()), ""));
          continue;
        }
        q->states.push_back(std::move(norm));
      }
    }
  }
  if (!m.Get("role") && !m.Get("name") && !m.Get("name_substr")) {
    Error(m.field(), "needs at least one of \"role\", \"name\", \"name_substr\"");
  } else if (m.Get("name") && m.Get("name_substr")) {
    ErrorAtKey(*m.Get("name_substr"), "use either \"name\" or \"name_substr\", not both");
  }
  if (m.Get("app") && m.Get("app_substr")) {
    ErrorAtKey(*m.Get("app_substr"), "use either \"app\" or \"app_substr\", not both");
  }
  return diags_->size() == before;
}

void Parser::Read(const KindValue& v, AtspiStep* s) {
  MapReader m = Keys(
      v, {"role", "name", "name_substr", "app", "app_substr", "index", "states", "action", "via"});
  ReadAtspiQuery(m, &s->query);
  m.String("action", &s->action, Presence::kNonEmpty);
  m.Enum("via", kVias, &s->via);
}

// verify_atspi (a VerifyAtspiStep is an AtspiCondition) and the `atspi` condition.
void Parser::Read(const KindValue& v, AtspiCondition* c) {
  MapReader m = Keys(v, {"role", "name", "name_substr", "app", "app_substr", "index", "states",
                         "exists", "text", "text_substr"});
  ReadAtspiQuery(m, &c->query);
  m.Bool("exists", &c->exists);
  m.String("text", &c->text);
  m.String("text_substr", &c->text_substr, Presence::kNonEmpty);
  if (m.Get("text") && m.Get("text_substr")) {
    ErrorAtKey(*m.Get("text_substr"), "use either \"text\" or \"text_substr\", not both");
  } else if ((m.Get("text") || m.Get("text_substr")) && !c->exists) {
    ErrorAtKey(*m.Get(m.Get("text") ? "text" : "text_substr"),
               "a text check needs the object to exist (drop \"exists: false\")");
  }
}

void Parser::Read(const KindValue& v, LocalizeStep* s) {
  MapReader m = Keys(v, {"prompt", "then_type", "then_key", "click", "button", "accept_any",
                         "cross_check", "verify", "verify_not", "verify_timeout", "if_visible"});
  m.String("prompt", &s->prompt, Presence::kRequired);
  m.String("then_type", &s->then_type, Presence::kNonEmpty);
  m.KeyCombo("then_key", &s->then_key);
  m.Bool("click", &s->click);
  if (const Field* b = m.Enum("button", kButtons, &s->button); b && !s->click) {
    ErrorAtKey(*b, "\"button\" needs a click (drop \"click: false\")");
  }
  if (const Field* a = m.Get("accept_any")) {
    if (auto list = StringList(*a)) {
      for (auto& [prompt, field] : *list) s->accept_any.push_back(std::move(prompt));
    }
  }
  if (const Field* c = m.Get("cross_check")) ReadCrossCheck(*c, &s->cross_check);
  m.Bool("if_visible", &s->if_visible);
  for (std::string_view key : {"verify", "verify_not"}) {
    VlmCondition question{.expect = key == "verify"};
    if (m.String(key, &question.question, Presence::kNonEmpty)) s->verify.push_back(question);
  }
  if (const Field* t = m.Seconds("verify_timeout", &s->verify_timeout_seconds, kMaxWaitSeconds);
      t && s->verify.empty()) {
    ErrorAtKey(*t, "\"verify_timeout\" needs \"verify\" or \"verify_not\"");
  }
}

// cross_check: true | false | {text: "Save"} | {atspi: {role: push button, name: Save}}
void Parser::ReadCrossCheck(const Field& f, LocalizeCrossCheck* check) {
  if (!f.node.IsMap()) {
    if (auto b = Bool(f)) check->enabled = *b;
    return;
  }
  MapReader m(*this, f, {"text", "atspi"});
  m.String("text", &check->text, Presence::kNonEmpty);
  if (const Field* a = m.Get("atspi")) {
    if (ExpectMap(*a, "a map such as {role: push button, name: Save}")) {
      MapReader q(*this, *a,
                  {"role", "name", "name_substr", "app", "app_substr", "index", "states"});
      AtspiQuery query;
      if (ReadAtspiQuery(q, &query)) check->atspi = std::move(query);
    }
  }
  if (!m.Get("text") && !m.Get("atspi")) {
    Error(f, "needs \"text\" or \"atspi\" (or write true/false)");
  } else if (m.Get("text") && m.Get("atspi")) {
    ErrorAtKey(*m.Get("atspi"), "use either \"text\" or \"atspi\", not both");
  }
}

void Parser::Read(const KindValue& v, OcrStep* s) {
  MapReader m = Keys(v, {"text", "region", "click"});
  m.String("text", &s->text, Presence::kRequired);
  m.Region("region", &s->region);
  m.Bool("click", &s->click);
}

// A visual step or condition: `Visual` has reference, region and threshold.
template <class Visual>
void Parser::ReadVisualMatch(MapReader& m, Visual* visual) {
  std::string reference;
  if (const Field* r = m.String("reference", &reference, Presence::kRequired)) {
    // Relative to the file that names it, so fragments can ship their own images.
    if (NotHomeRelative(*r, reference)) {
      visual->reference = JoinPath(r->file->dir, reference);
      MayRead(*r, visual->reference, "reference image");
    }
  }
  m.Region("region", &visual->region);
  m.Number("threshold", &visual->threshold, 1);
}

void Parser::Read(const KindValue& v, VisualStep* s) {
  MapReader m = Keys(v, {"reference", "region", "threshold", "timeout"});
  ReadVisualMatch(m, s);
  m.Seconds("timeout", &s->timeout_seconds, kMaxWaitSeconds);
}

// A point {x, y} or an OCR target {text, region}; a scalar is the text.
void Parser::ReadTarget(MapReader& m, std::variant<Point, TextTarget>* target) {
  const Field* text = m.Get("text");
  const Field* region = m.Get("region");
  bool has_point = m.Get("x") || m.Get("y");
  if (text && has_point) {
    ErrorAtKey(*text, "use either \"x\"/\"y\" or \"text\", not both");
  } else if (text) {
    TextTarget t;
    m.String("text", &t.text, Presence::kNonEmpty);
    m.Region("region", &t.region);
    *target = std::move(t);
  } else if (!has_point) {
    Error(m.field(), "needs \"x\" and \"y\", or \"text\"");
  } else if (region) {
    ErrorAtKey(*region, "\"region\" only applies to a \"text\" target");
  } else {
    Point p;
    if (m.Point(&p)) *target = p;
  }
}

void Parser::Read(const KindValue& v, ClickStep* s) {
  // An alias that fixes the button or the count (right_click, double_click) refuses the key.
  std::vector<std::string_view> keys = {"x", "y", "text", "region"};
  if (s->button == MouseButton::kLeft) keys.push_back("button");
  if (s->count == 1) keys.push_back("count");
  MapReader m = Keys(v, std::move(keys));
  ReadTarget(m, &s->target);
  m.Enum("button", kButtons, &s->button);
  m.Int("count", &s->count, 1, 2);
}

void Parser::Read(const KindValue& v, HoverStep* s) {
  MapReader m = Keys(v, {"x", "y", "text", "region"});
  ReadTarget(m, &s->target);
}

void Parser::Read(const KindValue& v, DragStep* s) {
  MapReader m = Keys(v, {"from", "to", "button"});
  for (auto [key, dest] : {std::pair{"from", &s->from}, std::pair{"to", &s->to}}) {
    const Field* p = m.Required(key);
    if (!p || !ExpectMap(*p, "a point {x, y}")) continue;
    MapReader(*this, *p, {"x", "y"}).Point(dest);
  }
  m.Enum("button", kButtons, &s->button);
}

void Parser::Read(const KindValue& v, ScrollStep* s) {
  const size_t before = diags_->size();
  MapReader m = Keys(v, {"x", "y", "dx", "dy"});
  m.Point(&s->at);
  m.Int("dx", &s->dx, -100, 100);
  m.Int("dy", &s->dy, -100, 100);
  if (diags_->size() == before && s->dx == 0 && s->dy == 0) {
    Error(v.field, "needs a non-zero \"dx\" or \"dy\"");
  }
}

void Parser::Read(const KindValue& v, TypeStep* s) {
  Keys(v, {}).String("text", &s->text, Presence::kRequired);
}

void Parser::Read(const KindValue& v, KeyStep* s) { Keys(v, {}).KeyCombo("combo", &s->combo); }

void Parser::Read(const KindValue& v, WaitStep* s) {
  Keys(v, {}).Seconds("seconds", &s->seconds, kMaxWaitSeconds);
}

void Parser::Read(const KindValue& v, WaitForStep* s) {
  MapReader m = Keys(v, {"any", "all", "timeout", "interval"});
  const Field* any = m.Get("any");
  const Field* all = m.Get("all");
  const Field* list = any ? any : all;
  if (any && all) {
    ErrorAtKey(*all, "use either \"any\" or \"all\", not both");
  } else if (!list) {
    Error(v.field, "needs \"any\" or \"all\" (a list of conditions)");
  } else if (!list->node.IsSequence() || list->node.size() == 0) {
    Error(*list,
          absl::StrCat("expected a non-empty list of conditions, got ", Describe(list->node)));
  } else {
    s->mode = any ? WaitForStep::Mode::kAny : WaitForStep::Mode::kAll;
    size_t i = 0;
    for (const YAML::Node& el : list->node) {
      if (auto c = ParseCondition(Element(*list, el, i++))) s->conditions.push_back(*std::move(c));
    }
  }
  m.Seconds("timeout", &s->timeout_seconds, kMaxWaitSeconds);
  double interval = 0;
  if (const Field* iv = m.Seconds("interval", &interval, 60)) {
    if (interval > s->timeout_seconds) {
      Error(*iv, "must not be longer than the timeout");
    } else {
      s->interval_seconds = interval;
    }
  }
}

void Parser::Read(const KindValue& v, VerifyStep* s) {
  Keys(v, {}).String("question", &s->question, Presence::kRequired);
}

void Parser::Read(const KindValue& v, IfVisibleStep* s) {
  MapReader m = Keys(v, {"target", "then", "else", "timeout"});
  if (const Field* t = m.Required("target")) {
    if (auto c = ParseCondition(*t)) s->target = *std::move(c);
  }
  m.Seconds("timeout", &s->timeout_seconds, kMaxWaitSeconds, /*allow_zero=*/true);
  const Field* then_steps = m.Get("then");
  const Field* else_steps = m.Get("else");
  if (!then_steps && !else_steps) Error(v.field, "needs \"then\" or \"else\" (a list of steps)");
  if (then_steps) ParseStepList(*then_steps, &s->then_steps, v.depth + 1, true);
  if (else_steps) ParseStepList(*else_steps, &s->else_steps, v.depth + 1, true);
}

void Parser::Read(const KindValue& v, CheckpointStep* s) {
  Keys(v, {}).String("name", &s->name, Presence::kRequired);
}

void Parser::Read(const KindValue& v, TextCondition* c) {
  MapReader m = Keys(v, {"text", "region"});
  m.String("text", &c->text, Presence::kRequired);
  m.Region("region", &c->region);
}

void Parser::Read(const KindValue& v, VisualCondition* c) {
  MapReader m = Keys(v, {"reference", "region", "threshold"});
  ReadVisualMatch(m, c);
}

void Parser::Read(const KindValue& v, ScreenChangesCondition* c) {
  Keys(v, {"region"}).Region("region", &c->region);
}

void Parser::Read(const KindValue& v, ScreenStableCondition* c) {
  MapReader m = Keys(v, {"region", "for"});
  m.Region("region", &c->region);
  m.Seconds("for", &c->for_seconds, kMaxWaitSeconds);
}

void Parser::Read(const KindValue& v, VlmCondition* c) {
  Keys(v, {}).String("question", &c->question, Presence::kRequired);
}

void Parser::Read(const KindValue& v, ShellCondition* c) {
  MapReader m = Keys(v, {"command", "expect_exit", "timeout", "x11"});
  m.String("command", &c->command, Presence::kRequired);
  m.Int("expect_exit", &c->expect_exit, 0, 255);
  m.Seconds("timeout", &c->timeout_seconds, kMaxStepTimeoutSeconds);
  m.Bool("x11", &c->x11);
}

std::optional<Condition> Parser::ParseCondition(const Field& f) {
  if (!Spend()) return std::nullopt;
  const std::vector<std::string>& keys = ConditionKeys();
  if (!f.node.IsMap() || f.node.size() == 0) {
    Error(f, absl::StrCat("expected a condition such as {text: Saved}, got ", Describe(f.node),
                          "; conditions: ", absl::StrJoin(keys, ", ")));
    return std::nullopt;
  }
  std::string first;
  for (const auto& kv : f.node) {
    const YAML::Node key = kv.first, value = kv.second;
    if (!Spend()) return std::nullopt;
    std::string name = key.IsScalar() ? key.Scalar() : "";
    Field child = Child(f, key, value, name);
    if (!Contains(keys, name)) {
      ErrorAtKey(child, UnknownName("condition", name, ClosestName(name, keys),
                                    absl::StrCat("; conditions: ", absl::StrJoin(keys, ", "))));
      return std::nullopt;
    }
    if (!first.empty()) {
      ErrorAtKey(child, absl::StrCat("a condition has exactly one type, found ", Quote(first),
                                     " and ", Quote(name), ": list them separately"));
      return std::nullopt;
    }
    first = name;
  }
  const auto& kv = *f.node.begin();
  return ParseKind(*FindConditionRow(first), Child(f, kv.first, kv.second, first), 0);
}

}  // namespace

Scenario ParseScenario(std::string_view text, std::string_view file_name,
                       const ScenarioOptions& options, Diagnostics* diagnostics) {
  Diagnostics local;
  if (diagnostics == nullptr) diagnostics = &local;
  Parser parser(options, diagnostics);
  try {
    return parser.Run(text, file_name);
  } catch (const YAML::Exception& e) {
    // Every node access above is type-checked first; this is a last line of defence.
    diagnostics->Add({std::string(file_name), e.mark.line >= 0 ? e.mark.line + 1 : 0,
                      e.mark.line >= 0 ? e.mark.column + 1 : 0},
                     "", absl::StrCat("internal error reading YAML: ", e.msg));
  }
  Scenario sc;
  sc.source_path = std::string(file_name);
  return sc;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path, const ScenarioOptions& options) {
  absl::StatusOr<std::string> text = options.read_file ? options.read_file(path) : ReadFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diags;
  Scenario sc = ParseScenario(*text, path, options, &diags);
  if (!diags.empty()) return diags.ToStatus();
  return sc;
}

}  // namespace mosdat

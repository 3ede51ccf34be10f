// Template variables for scenarios: a typed Value and strict `{{ name }}` substitution.
//
// A YAML scalar that is exactly one reference (`"{{ count }}"`) takes the variable's
// value with its type, so `retries: "{{ n }}"` stays an int and `states: "{{ s }}"` a
// list. References inside longer text produce a string. Undefined names are errors
// that list the defined ones: a typo must never silently type an empty string.
#ifndef MOSDAT_CORE_TEMPLATE_VARS_H_
#define MOSDAT_CORE_TEMPLATE_VARS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mosdat {

// A variable's value: null, bool, int64, double, string, list of values, or a map of
// names to values (kept in the order written; the original mOSdat's routine inputs
// such as `servers: [{title: A, url: ...}]`).
class Value {
 public:
  using List = std::vector<Value>;
  using Map = std::vector<std::pair<std::string, Value>>;
  using Data = std::variant<std::monostate, bool, int64_t, double, std::string, List, Map>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(int64_t{i}) {}
  Value(int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(List l) : data_(std::move(l)) {}
  Value(Map m) : data_(std::move(m)) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_int() const { return std::holds_alternative<int64_t>(data_); }
  bool is_double() const { return std::holds_alternative<double>(data_); }
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_list() const { return std::holds_alternative<List>(data_); }
  bool is_map() const { return std::holds_alternative<Map>(data_); }

  // Accessors; calling the wrong one is a programming error (std::get throws).
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return std::get<int64_t>(data_); }
  double as_double() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const List& as_list() const { return std::get<List>(data_); }
  const Map& as_map() const { return std::get<Map>(data_); }
  const Data& data() const { return data_; }

  // "null", "bool", "int", "float", "string", "list" or "map", for messages.
  std::string_view type_name() const;

  // Text used when the value is part of a longer string: "" for null, "true"/"false",
  // shortest round-trip numbers, "[a, b]" for lists (only for display).
  std::string ToString() const;

  friend bool operator==(const Value& a, const Value& b) { return a.data_ == b.data_; }

 private:
  Data data_;
};

// Dotted variable name ("app.binary") → value.
using VarMap = std::map<std::string, Value>;

// Types a plain (unquoted) YAML scalar like YAML 1.2's core schema: "", "~", "null" →
// null; "true"/"false" → bool; decimal integers → int; decimal floats → double;
// anything else → string.
Value ValueFromPlainScalar(std::string_view text);

// Letters, digits, '_' and '-', in segments separated by '.'; each segment starts with
// a letter or '_'.
bool IsValidVarName(std::string_view name);

// True when `text` contains "{{", i.e. needs Substitute.
bool HasTemplate(std::string_view text);

// Names referenced in `text`, in order of appearance (duplicates kept). Errors for
// malformed references, like Substitute.
absl::StatusOr<std::vector<std::string>> TemplateNames(std::string_view text);

// Longest text Substitute produces; guards against vars that double each other.
inline constexpr size_t kMaxSubstitutedLength = 64 * 1024;

// Limits on what one variable may expand to. A list that repeats another list a few
// times per level ("billion laughs") grows exponentially; it is refused as soon as it
// would pass either limit, before the copy is made.
inline constexpr size_t kMaxValueBytes = 1 << 20;  // ExpandedSize of one variable
inline constexpr int kMaxValueDepth = 16;          // lists inside lists
// All variables of one scenario together (after expansion).
inline constexpr size_t kMaxTotalVarBytes = 8 << 20;

// What a value costs once expanded: its string bytes plus 8 per scalar and list
// (never less than the memory it needs, so budgets bound memory). Stops counting
// past `stop_after`, so measuring a huge value costs at most that much work.
size_t ExpandedSize(const Value& v, size_t stop_after = SIZE_MAX);

// Lists nested inside each other: 0 for a scalar, 1 for a flat list.
int ValueDepth(const Value& v);

// Replaces every `{{ name }}` in `text` (whitespace inside the braces optional). If the
// whole text is one reference, returns that variable's value with its type; otherwise
// a string. `{{ name | tojson }}` inserts the value as JSON, the way Jinja's tojson
// writes it (keys sorted, ", " and ": ", non-ASCII and <>&' as \uXXXX), which keeps it
// safe inside single quotes in a shell command; no other filter exists. Errors: lone
// "{{", empty or invalid name, another filter, undefined name (listing the defined
// ones), a list or map inside longer text without tojson, result longer than
// kMaxSubstitutedLength.
absl::StatusOr<Value> Substitute(std::string_view text, const VarMap& vars);

// `value` as Jinja's tojson writes it (see Substitute).
std::string ToJinjaJson(const Value& value);

// Resolves references between variables (`bin: "{{ prefix }}/bin"`) in any order.
// Strings and list elements of names not in `literal` are substituted; `literal`
// values (e.g. command-line overrides) are taken as written. Each variable that cannot
// be resolved (undefined reference, cycle, an expansion past kMaxValueBytes,
// kMaxValueDepth or, for all of them together, kMaxTotalVarBytes) is reported once
// through `on_error` and set to null, so later uses do not repeat the error. Work and
// memory are bounded by those limits, whatever the input.
void ResolveVars(
    VarMap& vars, const std::set<std::string>& literal,
    const std::function<void(const std::string& name, const absl::Status& error)>& on_error);

}  // namespace mosdat

#endif  // MOSDAT_CORE_TEMPLATE_VARS_H_

// Implements template variables: scalar typing, `{{ name }}` substitution, resolution
// of variables that refer to each other, and typo suggestions.
#include "core/template_vars.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/suggest.h"

namespace mosdat {
namespace {

// Lists at most this many defined names in an "undefined variable" message.
constexpr size_t kMaxListedNames = 20;

std::string FormatDouble(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) return absl::StrCat(d);
  std::string out(buf, end);
  // Keep a float looking like a float when it is interpolated ("2.0", not "2").
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

bool IsNameStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool IsNameChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; }

// One `{{ ... }}` found in a text.
struct Reference {
  size_t begin = 0;  // offset of "{{"
  size_t end = 0;    // offset just past "}}"
  std::string name;
  bool tojson = false;  // `{{ name | tojson }}`
};

absl::StatusOr<std::vector<Reference>> FindReferences(std::string_view text) {
  std::vector<Reference> refs;
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    size_t close = text.find("}}", pos + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unterminated \"{{\" at offset ", pos, " (missing \"}}\")"));
    }
    std::string_view inner =
        Std(absl::StripAsciiWhitespace(Absl(text.substr(pos + 2, close - pos - 2))));
    if (inner.empty()) {
      return absl::InvalidArgumentError("empty \"{{ }}\": write a variable name inside the braces");
    }
    bool tojson = false;
    if (size_t bar = inner.find('|'); bar != std::string_view::npos) {
      std::string_view filter = Std(absl::StripAsciiWhitespace(Absl(inner.substr(bar + 1))));
      if (filter != "tojson") {
        return absl::InvalidArgumentError(
            absl::StrCat("\"{{ ", Absl(inner), " }}\": the filter \"", Absl(filter),
                         "\" is not supported (only \"tojson\"); a variable is inserted as it is"));
      }
      tojson = true;
      inner = Std(absl::StripAsciiWhitespace(Absl(inner.substr(0, bar))));
    }
    if (!IsValidVarName(inner)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid variable name \"", Absl(inner),
          "\" (names are letters, digits, \"_\" and \"-\", with \".\" between parts)"));
    }
    refs.push_back({pos, close + 2, std::string(inner), tojson});
    pos = close + 2;
  }
  return refs;
}

absl::Status UndefinedError(const std::string& name, const VarMap& vars) {
  std::vector<std::string> names;
  for (const auto& [n, v] : vars) names.push_back(n);
  std::string msg = absl::StrCat("undefined variable \"", name, "\"");
  std::string close = ClosestName(name, names);
  if (!close.empty()) absl::StrAppend(&msg, " (did you mean \"", close, "\"?)");
  if (names.empty()) {
    absl::StrAppend(&msg, "; no variables are defined");
  } else {
    bool truncated = names.size() > kMaxListedNames;
    if (truncated) names.resize(kMaxListedNames);
    absl::StrAppend(&msg, "; defined: ", absl::StrJoin(names, ", "), truncated ? ", ..." : "");
  }
  return absl::InvalidArgumentError(msg);
}

// Names referenced anywhere in a value (strings and nested list elements).
absl::Status CollectNames(const Value& v, std::vector<std::string>* out) {
  if (v.is_string()) {
    absl::StatusOr<std::vector<std::string>> names = TemplateNames(v.as_string());
    if (!names.ok()) return names.status();
    out->insert(out->end(), names->begin(), names->end());
  } else if (v.is_list()) {
    for (const Value& e : v.as_list()) {
      if (absl::Status s = CollectNames(e, out); !s.ok()) return s;
    }
  } else if (v.is_map()) {
    for (const auto& [key, e] : v.as_map()) {
      if (absl::Status s = CollectNames(e, out); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// Substitutes every string in `v`, refusing results past `*budget` bytes
// (ResourceExhausted) or kMaxValueDepth before they are built: each element's
// expansion is measured (at most the remaining budget) before the next one is made.
absl::StatusOr<Value> SubstituteValue(const Value& v, const VarMap& vars, size_t* budget,
                                      int depth) {
  if (depth > kMaxValueDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("lists are nested more than ", kMaxValueDepth, " deep after expansion"));
  }
  if (v.is_map()) {
    if (*budget < 8) return absl::ResourceExhaustedError("too large");
    *budget -= 8;
    Value::Map out;
    for (const auto& [key, e] : v.as_map()) {
      if (*budget < key.size()) return absl::ResourceExhaustedError("too large");
      *budget -= key.size();
      absl::StatusOr<Value> r = SubstituteValue(e, vars, budget, depth + 1);
      if (!r.ok()) return r.status();
      out.emplace_back(key, *std::move(r));
    }
    return Value(std::move(out));
  }
  if (!v.is_list()) {
    absl::StatusOr<Value> out = v.is_string() ? Substitute(v.as_string(), vars) : v;
    if (!out.ok()) return out;
    size_t size = ExpandedSize(*out, *budget + 1);
    if (size > *budget) return absl::ResourceExhaustedError("too large");
    if (depth + ValueDepth(*out) > kMaxValueDepth) {
      return absl::InvalidArgumentError(
          absl::StrCat("lists are nested more than ", kMaxValueDepth, " deep after expansion"));
    }
    *budget -= size;
    return out;
  }
  if (*budget < 8) return absl::ResourceExhaustedError("too large");
  *budget -= 8;
  Value::List out;
  out.reserve(std::min<size_t>(v.as_list().size(), *budget / 8 + 1));
  for (const Value& e : v.as_list()) {
    absl::StatusOr<Value> r = SubstituteValue(e, vars, budget, depth + 1);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
  }
  return Value(std::move(out));
}

}  // namespace

std::string_view Value::type_name() const {
  switch (data_.index()) {
    case 0:
      return "null";
    case 1:
      return "bool";
    case 2:
      return "int";
    case 3:
      return "float";
    case 4:
      return "string";
    case 5:
      return "list";
    default:
      return "map";
  }
}

size_t ExpandedSize(const Value& v, size_t stop_after) {
  // Iterative: values nest at most kMaxValueDepth deep when built here, but a caller's
  // value may not have been.
  size_t total = 0;
  std::vector<const Value*> todo = {&v};
  while (!todo.empty() && total <= stop_after) {
    const Value* cur = todo.back();
    todo.pop_back();
    total += 8;
    if (cur->is_string()) total += cur->as_string().size();
    if (cur->is_list()) {
      for (const Value& e : cur->as_list()) todo.push_back(&e);
    }
    if (cur->is_map()) {
      for (const auto& [key, e] : cur->as_map()) {
        total += key.size();
        todo.push_back(&e);
      }
    }
  }
  return total;
}

int ValueDepth(const Value& v) {
  int deepest = 0;
  if (v.is_list()) {
    for (const Value& e : v.as_list()) deepest = std::max(deepest, ValueDepth(e));
  } else if (v.is_map()) {
    for (const auto& [key, e] : v.as_map()) deepest = std::max(deepest, ValueDepth(e));
  } else {
    return 0;
  }
  return deepest + 1;
}

std::string Value::ToString() const {
  if (is_null()) return "";
  if (is_bool()) return as_bool() ? "true" : "false";
  if (is_int()) return absl::StrCat(as_int());
  if (is_double()) return FormatDouble(as_double());
  if (is_string()) return as_string();
  std::vector<std::string> parts;
  if (is_map()) {
    for (const auto& [key, e] : as_map()) parts.push_back(absl::StrCat(key, ": ", e.ToString()));
    return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
  }
  for (const Value& e : as_list()) parts.push_back(e.ToString());
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  *out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t code = c;
    size_t len = 1;
    if (c >= 0x80) {  // UTF-8 (the parser refuses anything else)
      len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      code = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
      for (size_t k = 1; k < len && i + k < s.size(); ++k) {
        code = (code << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
    }
    i += len;
    switch (code) {
      case '"':
        *out += "\\\"";
        continue;
      case '\\':
        *out += "\\\\";
        continue;
      case '\n':
        *out += "\\n";
        continue;
      case '\r':
        *out += "\\r";
        continue;
      case '\t':
        *out += "\\t";
        continue;
      case '\b':
        *out += "\\b";
        continue;
      case '\f':
        *out += "\\f";
        continue;
      default:
        break;
    }
    // Jinja escapes these too, so the JSON is safe inside HTML and shell single quotes.
    if (code < 0x20 || code > 0x7F || code == '<' || code == '>' || code == '&' || code == '\'') {
      if (code >= 0x10000) {
        code -= 0x10000;
        absl::StrAppend(out, "\\u", absl::Hex(0xD800 + (code >> 10), absl::kZeroPad4));
        absl::StrAppend(out, "\\u", absl::Hex(0xDC00 + (code & 0x3FF), absl::kZeroPad4));
        continue;
      }
      absl::StrAppend(out, "\\u", absl::Hex(code, absl::kZeroPad4));
      continue;
    }
    *out += static_cast<char>(code);
  }
  *out += '"';
}

void AppendJson(const Value& v, std::string* out) {
  if (v.is_null()) {
    *out += "null";
  } else if (v.is_bool()) {
    *out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    absl::StrAppend(out, v.as_int());
  } else if (v.is_double()) {
    *out += FormatDouble(v.as_double());
  } else if (v.is_string()) {
    AppendJsonString(v.as_string(), out);
  } else if (v.is_list()) {
    *out += '[';
    for (size_t i = 0; i < v.as_list().size(); ++i) {
      if (i > 0) *out += ", ";
      AppendJson(v.as_list()[i], out);
    }
    *out += ']';
  } else {
    std::vector<const std::pair<std::string, Value>*> sorted;
    for (const auto& entry : v.as_map()) sorted.push_back(&entry);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto* a, const auto* b) { return a->first < b->first; });
    *out += '{';
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i > 0) *out += ", ";
      AppendJsonString(sorted[i]->first, out);
      *out += ": ";
      AppendJson(sorted[i]->second, out);
    }
    *out += '}';
  }
}

}  // namespace

std::string ToJinjaJson(const Value& value) {
  std::string out;
  AppendJson(value, &out);
  return out;
}

Value ValueFromPlainScalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Value();
  }
  if (text == "true" || text == "True" || text == "TRUE") return Value(true);
  if (text == "false" || text == "False" || text == "FALSE") return Value(false);
  // Numbers must look like decimal numbers: "inf", "nan" or "0x1" stay strings.
  std::string_view digits = text;
  if (digits[0] == '-' || digits[0] == '+') digits.remove_prefix(1);
  if (digits.empty() || !(absl::ascii_isdigit(digits[0]) || digits[0] == '.')) return Value(text);
  bool all_digits = std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit);
  int64_t i = 0;
  if (all_digits && absl::SimpleAtoi(Absl(text), &i)) return Value(i);
  bool numeric = std::all_of(digits.begin(), digits.end(), [](char c) {
    return absl::ascii_isdigit(c) || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+';
  });
  double d = 0;
  if (numeric && absl::SimpleAtod(Absl(text), &d)) return Value(d);
  return Value(text);
}

bool IsValidVarName(std::string_view name) {
  bool segment_start = true;
  for (char c : name) {
    if (segment_start) {
      if (!IsNameStart(c)) return false;
      segment_start = false;
    } else if (c == '.') {
      segment_start = true;
    } else if (!IsNameChar(c)) {
      return false;
    }
  }
  return !segment_start;
}

bool HasTemplate(std::string_view text) { return text.find("{{") != std::string_view::npos; }

absl::StatusOr<std::vector<std::string>> TemplateNames(std::string_view text) {
  absl::StatusOr<std::vector<Reference>> refs = FindReferences(text);
  if (!refs.ok()) return refs.status();
  std::vector<std::string> names;
  for (Reference& r : *refs) names.push_back(std::move(r.name));
  return names;
}

absl::StatusOr<Value> Substitute(std::string_view text, const VarMap& vars) {
  absl::StatusOr<std::vector<Reference>> refs = FindReferences(text);
  if (!refs.ok()) return refs.status();
  if (refs->empty()) return Value(text);
  for (const Reference& r : *refs) {
    if (!vars.contains(r.name)) return UndefinedError(r.name, vars);
  }
  // Exactly one reference and nothing else: keep the variable's type.
  if (refs->size() == 1 && (*refs)[0].begin == 0 && (*refs)[0].end == text.size() &&
      !(*refs)[0].tojson) {
    return vars.at((*refs)[0].name);
  }
  std::string out;
  size_t pos = 0;
  for (const Reference& r : *refs) {
    const Value& v = vars.at(r.name);
    if ((v.is_list() || v.is_map()) && !r.tojson) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable \"", r.name, "\" is a ", Absl(v.type_name()),
                       " and cannot be part of a longer string (write {{ ", r.name,
                       " | tojson }} for its JSON)"));
    }
    out.append(text.substr(pos, r.begin - pos));
    out.append(r.tojson ? ToJinjaJson(v) : v.ToString());
    pos = r.end;
    if (out.size() > kMaxSubstitutedLength) break;
  }
  out.append(text.substr(pos));
  if (out.size() > kMaxSubstitutedLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("substituted text is longer than ", kMaxSubstitutedLength, " bytes"));
  }
  return Value(std::move(out));
}

void ResolveVars(
    VarMap& vars, const std::set<std::string>& literal,
    const std::function<void(const std::string& name, const absl::Status& error)>& on_error) {
  // name → names it references, for every variable that still needs substitution.
  std::map<std::string, std::vector<std::string>> pending;
  for (const auto& [name, value] : vars) {
    if (literal.contains(name)) continue;
    std::vector<std::string> refs;
    if (absl::Status s = CollectNames(value, &refs); !s.ok()) {
      on_error(name, s);
      vars[name] = Value();
      continue;
    }
    if (!refs.empty()) pending[name] = std::move(refs);
  }
  std::set<std::string> failed;
  size_t total_left = kMaxTotalVarBytes;
  // Substitute every variable whose references are all resolved, until no progress.
  // Iterative rather than recursive so a long chain cannot exhaust the stack.
  bool progress = true;
  while (progress && !pending.empty()) {
    progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      const std::string& name = it->first;
      bool ready = true;
      bool depends_on_failed = false;
      for (const std::string& ref : it->second) {
        if (ref != name && pending.contains(ref)) ready = false;
        if (failed.contains(ref)) depends_on_failed = true;
      }
      if (!ready) {
        ++it;
        continue;
      }
      progress = true;
      if (depends_on_failed) {
        // The referenced variable's error is already reported; stay quiet.
        vars[name] = Value();
        failed.insert(name);
      } else if (std::find(it->second.begin(), it->second.end(), name) != it->second.end()) {
        on_error(name, absl::InvalidArgumentError(
                           absl::StrCat("variable \"", name, "\" refers to itself")));
        vars[name] = Value();
        failed.insert(name);
      } else {
        size_t budget = std::min(kMaxValueBytes, total_left);
        absl::StatusOr<Value> v = SubstituteValue(vars[name], vars, &budget, 0);
        if (!v.ok() && v.status().code() == absl::StatusCode::kResourceExhausted) {
          v = absl::InvalidArgumentError(
              total_left < kMaxValueBytes
                  ? absl::StrCat("variable \"", name, "\" takes the variables past ",
                                 kMaxTotalVarBytes, " bytes in total once expanded")
                  : absl::StrCat("variable \"", name, "\" expands to more than ", kMaxValueBytes,
                                 " bytes (a list that repeats other lists grows "
                                 "exponentially; reference it where it is used instead)"));
        } else if (!v.ok() && absl::StartsWith(v.status().message(), "lists are nested")) {
          v = absl::InvalidArgumentError(
              absl::StrCat("variable \"", name, "\": ", v.status().message()));
        }
        if (v.ok()) {
          total_left -= std::min(kMaxValueBytes, total_left) - budget;
          vars[name] = *std::move(v);
        } else {
          on_error(name, v.status());
          vars[name] = Value();
          failed.insert(name);
        }
      }
      it = pending.erase(it);
    }
  }
  // Whatever is left is on a cycle or depends on one. Report each variable that is on a
  // cycle, with the path, so the user sees which references to break.
  for (const auto& [name, refs] : pending) {
    std::vector<std::string> path = {name};
    std::set<std::string> seen = {name};
    std::string cur = name;
    bool on_cycle = false;
    while (true) {
      const std::vector<std::string>& next_refs = pending.at(cur);
      auto next = std::find_if(next_refs.begin(), next_refs.end(),
                               [&](const std::string& r) { return pending.contains(r); });
      if (next == next_refs.end()) break;  // unreachable: pending vars reference pending vars
      path.push_back(*next);
      if (*next == name) {
        on_cycle = true;
        break;
      }
      if (!seen.insert(*next).second) break;  // a cycle that does not include `name`
      cur = *next;
    }
    if (on_cycle) {
      on_error(name,
               absl::InvalidArgumentError(absl::StrCat("variables refer to each other in a cycle: ",
                                                       absl::StrJoin(path, " -> "))));
    }
  }
  for (const auto& [name, refs] : pending) vars[name] = Value();
}

}  // namespace mosdat

// Writes the original dialect's rewrite (core/original_dialect.h) back out as YAML.
// yaml-cpp drops comments, so the comment lines standing just above each step and each
// top-level key are taken from the source text and put back above what they preceded.
#include "core/scenario_migrate.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/original_dialect.h"
#include "core/utf8.h"

namespace mosdat {
namespace {

// A multi-line text that a literal block (`|`) gives back exactly.
bool FitsLiteralBlock(const std::string& s) {
  if (s.find('\n') == std::string::npos || !s.ends_with("\n") || s.ends_with("\n\n")) {
    return false;
  }
  if (s.front() == ' ' || s.front() == '\t' || s.find('\t') != std::string::npos) return false;
  for (absl::string_view line : absl::StrSplit(Absl(s), '\n')) {
    if (!line.empty() && (line.back() == ' ')) return false;  // kept, but easy to lose
  }
  return s.find('\r') == std::string::npos;
}

void Emit(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        Emit(out, kv.first);
        out << YAML::Value;
        Emit(out, kv.second);
      }
      out << YAML::EndMap;
      return;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const YAML::Node& el : node) Emit(out, el);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (FitsLiteralBlock(s)) {
        out << YAML::Literal << s;
      } else if (node.Tag() == "!" || s.find('\n') != std::string::npos) {
        out << YAML::DoubleQuoted << s;  // was quoted: stays a string ("10" is not 10)
      } else {
        out << s;
      }
      return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out << YAML::Null;
      return;
  }
}

std::string EmitText(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetIndent(2);
  Emit(out, node);
  return std::string(out.c_str());
}

std::string Indented(const std::string& text, int by) {
  std::string pad(by, ' ');
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (std::string& line : lines) {
    if (!line.empty()) line = pad + line;
  }
  return absl::StrJoin(lines, "\n");
}

// The comment lines right above source line `line` (0-based), at most as indented as
// `column`: deeper ones belong to the block scalar of the step above.
std::vector<std::string> CommentsAbove(const std::vector<std::string>& source, int line, int column,
                                       std::set<int>* taken) {
  std::vector<std::string> out;
  for (int i = line - 1; i >= 0; --i) {
    std::string_view s = source[i];
    size_t indent = s.find_first_not_of(' ');
    if (indent == std::string_view::npos) continue;  // blank
    if (s[indent] != '#' || static_cast<int>(indent) > column || taken->contains(i)) break;
    taken->insert(i);
    out.insert(out.begin(), std::string(s.substr(indent)));
  }
  return out;
}

std::string CommentBlock(const std::vector<std::string>& comments, int indent) {
  std::string out;
  for (const std::string& c : comments) absl::StrAppend(&out, std::string(indent, ' '), c, "\n");
  return out;
}

class Reporter : public DialectReporter {
 public:
  Reporter(std::string path, Diagnostics* diagnostics)
      : path_(std::move(path)), diagnostics_(diagnostics) {}
  void Error(const YAML::Node& at, std::string message) override {
    diagnostics_->Add(Where(at), "", std::move(message));
  }
  void Warn(const YAML::Node& at, std::string message) override {
    diagnostics_->Warn(Where(at), "", std::move(message));
  }

 private:
  SourceLocation Where(const YAML::Node& at) const {
    YAML::Mark m = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
    if (m.line < 0) return {path_, 0, 0};
    return {path_, m.line + 1, m.column + 1};
  }
  std::string path_;
  Diagnostics* diagnostics_;
};

}  // namespace

absl::StatusOr<Migration> MigrateScenario(std::string_view text, std::string_view path,
                                          Diagnostics* diagnostics) {
  Migration result;
  result.text = std::string(text);
  if (std::optional<InvalidUtf8> bad = FindInvalidUtf8(text)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(path), ":", bad->line, ":", bad->column, ": not valid UTF-8"));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(path), ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  const bool routine_like = root.IsMap() && (Lookup(root, "inputs").IsDefined() ||
                                             Lookup(root, "preconditions").IsDefined() ||
                                             Lookup(root, "postconditions").IsDefined());
  std::optional<DialectSign> sign;
  if (root.IsSequence() || routine_like) {
    if (IncludedFileIsOriginal(root)) sign = DialectSign{"its steps", YAML::Mark::null_mark()};
  } else {
    absl::StatusOr<std::optional<DialectSign>> dialect = ScenarioDialect(root);
    if (!dialect.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Absl(path), ": dialect: ", dialect.status().message()));
    }
    sign = *dialect;
  }
  if (!sign) return result;
  result.reason = sign->what;

  const size_t errors_before = diagnostics->size();
  Reporter report(std::string(path), diagnostics);
  const std::vector<std::string> source = absl::StrSplit(Absl(text), '\n');
  std::set<int> taken;
  OriginalRewriteOptions options;
  options.placeholders = OriginalRunValueNames();
  if (root.IsMap()) {
    for (const auto& kv : Lookup(root, "vars")) {
      if (kv.first.IsScalar()) options.placeholders.insert(kv.first.Scalar());
    }
  }

  // A list of steps, each preceded by the comments above it in the source.
  auto steps_text = [&](const YAML::Node& steps, int indent) {
    std::string out;
    for (const YAML::Node& step : steps) {
      const YAML::Mark m = step.Mark();
      if (m.line >= 0) {
        out += CommentBlock(CommentsAbove(source, m.line, m.column, &taken), indent);
      }
      std::vector<YAML::Node> made;
      if (step.Tag() == "!import" && step.IsScalar()) {
        YAML::Node include(YAML::NodeType::Map);
        include["import"] = step.Scalar();
        made.push_back(include);
      } else if (IsInclude(step)) {
        AsOriginalInclude(step, report);  // reports a malformed one
        made.push_back(step);
      } else {
        made = RewriteOriginalStep(step, options, report);
      }
      for (const YAML::Node& node : made) {
        YAML::Node one(YAML::NodeType::Sequence);
        one.push_back(node);
        std::string emitted = EmitText(one);
        while (emitted.ends_with("\n")) emitted.pop_back();
        out += Indented(emitted, indent) + "\n";
      }
    }
    return out;
  };

  std::string out;
  bool declared = false;
  // Said outright: kind, issue and the like would otherwise still read as the original's.
  auto declare = [&] {
    if (!declared) out += "dialect: mosdat\n";
    declared = true;
  };
  if (root.IsSequence()) {
    out = steps_text(root, 0);
  } else {
    // A routine keeps its own keys (inputs, fallbacks, ...); only its steps change.
    YAML::Node top = routine_like ? root : RewriteOriginalTopLevel(root, report);
    for (const auto& kv : root) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (!Lookup(top, key).IsDefined()) continue;
      if (key == "dialect") continue;
      const YAML::Mark m = kv.first.Mark();
      if (m.line >= 0) out += CommentBlock(CommentsAbove(source, m.line, 0, &taken), 0);
      if (!routine_like) declare();
      const YAML::Node value = Lookup(top, key);
      const bool step_list = key == "steps" || key == "cleanup" || key == "preconditions" ||
                             key == "postconditions" || key == "on_failure";
      if (step_list && value.IsSequence()) {
        absl::StrAppend(&out, key, ":\n", steps_text(value, 2));
      } else {
        YAML::Node one(YAML::NodeType::Map);
        one[kv.first] = value;
        absl::StrAppend(&out, EmitText(one), "\n");
      }
    }
  }
  if (diagnostics->size() != errors_before) {
    return absl::InvalidArgumentError(absl::StrCat(Absl(path), " was not migrated"));
  }
  result.changed = true;
  result.text = std::move(out);
  return result;
}

}  // namespace mosdat

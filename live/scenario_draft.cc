#include "live/scenario_draft.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/diagnostics.h"

namespace mosdat {
namespace {

using nlohmann::json;

absl::Status CheckStep(const json& step) {
  if (!step.is_object() || step.empty()) {
    return absl::InvalidArgumentError(
        "a step is an object keyed by its kind, as in a scenario: {\"click\": {\"x\": 5, "
        "\"y\": 6}, \"label\": \"...\"}");
  }
  if (step.dump().size() > ScenarioDraft::kMaxStepBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a step may hold at most ", ScenarioDraft::kMaxStepBytes, " bytes of JSON"));
  }
  return absl::OkStatus();
}

void Emit(const json& value, YAML::Emitter& out) {
  switch (value.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(item, out);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const json& item : value) Emit(item, out);
      out << YAML::EndSeq;
      break;
    case json::value_t::string:
      // Quoted: "yes", "1.0" or "null" stay the strings they were.
      out << YAML::DoubleQuoted << value.get<std::string>();
      break;
    case json::value_t::boolean:
      out << value.get<bool>();
      break;
    case json::value_t::number_integer:
      out << value.get<int64_t>();
      break;
    case json::value_t::number_unsigned:
      out << value.get<uint64_t>();
      break;
    case json::value_t::number_float:
      out << value.get<double>();
      break;
    default:
      out << YAML::Null;
  }
}

// A YAML node as JSON, its plain scalars typed as YAML 1.2's core schema would (true,
// 12, 1.5, null); aliases count each time they are used, against `*budget`.
absl::StatusOr<json> ToJson(const YAML::Node& node, size_t* budget) {
  if (*budget == 0) return absl::InvalidArgumentError("the scenario has too many YAML nodes");
  --*budget;
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) {
        absl::StatusOr<json> value = ToJson(item.second, budget);
        if (!value.ok()) return value.status();
        out[item.first.Scalar()] = std::move(*value);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        absl::StatusOr<json> value = ToJson(item, budget);
        if (!value.ok()) return value.status();
        out.push_back(std::move(*value));
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return json(text);  // quoted: a string whatever it says
      if (text == "true" || text == "false") return json(text == "true");
      if (text == "null" || text == "~") return json(nullptr);
      json number = json::parse(text, nullptr, false);
      if (!number.is_discarded() && number.is_number()) return number;
      return json(text);
    }
    default:
      return json(nullptr);
  }
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ScenarioDraft::Append(const json& step) {
  if (absl::Status status = CheckStep(step); !status.ok()) return status;
  if (steps_.size() >= kMaxSteps) {
    return absl::InvalidArgumentError(absl::StrCat("a draft holds at most ", kMaxSteps, " steps"));
  }
  steps_.push_back(step);
  return absl::OkStatus();
}

absl::Status ScenarioDraft::Replace(const json& steps) {
  if (!steps.is_array()) return absl::InvalidArgumentError("steps must be an array");
  if (steps.size() > kMaxSteps) {
    return absl::InvalidArgumentError(absl::StrCat("a draft holds at most ", kMaxSteps, " steps"));
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    if (absl::Status status = CheckStep(steps[i]); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("steps[", i, "]: ", status.message()));
    }
  }
  steps_ = steps;
  return absl::OkStatus();
}

absl::Status ScenarioDraft::StartFrom(const std::string& scenario_yaml) {
  constexpr size_t kMaxScenarioBytes = 4 << 20;
  if (scenario_yaml.size() > kMaxScenarioBytes) {
    return absl::InvalidArgumentError("the scenario is bigger than 4 MiB");
  }
  YAML::Node root;
  try {
    root = YAML::Load(scenario_yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the scenario is not YAML: ", e.what()));
  }
  size_t budget = 200000;
  absl::StatusOr<json> document = root.IsMap() ? ToJson(root, &budget) : json();
  if (!document.ok()) return document.status();
  if (!document->is_object() || !document->contains("steps")) {
    return absl::InvalidArgumentError("the scenario is not a mapping with steps");
  }
  ScenarioDraft started;
  if (absl::Status s = started.Replace((*document)["steps"]); !s.ok()) return s;
  document->erase("steps");
  document->erase("name");  // the export names it
  started.rest_ = std::move(*document);
  *this = std::move(started);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ScenarioDraft::ExportYaml(const std::string& name,
                                                      const std::string& description) const {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError(
        "name: use 1 to 100 letters, digits, '.', '_' or '-' (it becomes a file name)");
  }
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
  if (!description.empty()) {
    out << YAML::Key << "description" << YAML::Value << YAML::DoubleQuoted << description;
  } else if (auto it = rest_.find("description"); it != rest_.end()) {
    out << YAML::Key << "description" << YAML::Value;
    Emit(*it, out);
  }
  out << YAML::Key << "steps" << YAML::Value;
  if (steps_.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  } else {
    Emit(steps_, out);
  }
  for (const auto& [key, value] : rest_.items()) {
    if (key == "description") continue;
    out << YAML::Key << key << YAML::Value;
    Emit(value, out);
  }
  out << YAML::EndMap;
  if (!out.good()) return absl::InternalError(absl::StrCat("YAML: ", out.GetLastError()));
  return absl::StrCat("# Written in the mOSdat Author Workbench.\n", out.c_str(), "\n");
}

std::vector<std::string> ScenarioDraft::Validate(const std::string& name,
                                                 const ScenarioOptions& options) const {
  absl::StatusOr<std::string> yaml = ExportYaml(name);
  if (!yaml.ok()) return {std::string(yaml.status().message())};
  Diagnostics diagnostics;
  ParseScenario(*yaml, name + ".yaml", options, &diagnostics);
  std::vector<std::string> problems;
  for (const Diagnostic& d : diagnostics.items()) problems.push_back(d.ToString());
  return problems;
}

}  // namespace mosdat

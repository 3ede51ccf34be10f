// A scenario being written in the Author Workbench: its steps, kept as the JSON the API
// takes (each step an object in the scenario's own syntax, e.g. {"click": {"x": 5,
// "y": 6}} or {"key": "enter"}), exported as YAML the runner accepts unchanged, and
// validated with the runner's own parser.
#ifndef MOSDAT_LIVE_SCENARIO_DRAFT_H_
#define MOSDAT_LIVE_SCENARIO_DRAFT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/scenario_parser.h"

namespace mosdat {

class ScenarioDraft {
 public:
  // Bounds on what a client may store: steps, and the JSON text of one step.
  static constexpr size_t kMaxSteps = 1000;
  static constexpr size_t kMaxStepBytes = 64 * 1024;

  // Appends one step: an object keyed by its kind (plus the step's own keys, such as
  // "label"); the parser judges the rest (Validate). InvalidArgument says what is
  // wrong; the draft is unchanged then.
  absl::Status Append(const nlohmann::json& step);
  // Replaces every step (each checked as Append checks it).
  absl::Status Replace(const nlohmann::json& steps);
  const nlohmann::json& steps() const { return steps_; }

  // Starts the draft from a whole scenario (a held job's, so the person's fix to it
  // exports as that scenario with its steps edited): its steps become the draft's, and
  // its other parts (description, vars, imports, cleanup, ...) are exported unchanged.
  // InvalidArgument when the text is not a scenario document or is too big; the draft
  // is unchanged then.
  absl::Status StartFrom(const std::string& scenario_yaml);

  // The scenario as YAML: `name`, `description` (when given; else the started-from
  // scenario's), `steps`, and the rest of the started-from scenario.
  // InvalidArgument for a name outside [A-Za-z0-9._-]{1,100}.
  absl::StatusOr<std::string> ExportYaml(const std::string& name,
                                         const std::string& description = "") const;

  // Parses the export with the runner's parser; the problems (file:line:column and
  // message), none when the draft is runnable as far as the parser can tell.
  std::vector<std::string> Validate(const std::string& name, const ScenarioOptions& options) const;

 private:
  nlohmann::json steps_ = nlohmann::json::array();
  nlohmann::json rest_ = nlohmann::json::object();  // a started-from scenario's other parts
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_SCENARIO_DRAFT_H_

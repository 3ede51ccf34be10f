// Parses YAML scenarios into the typed model of core/scenario.h.
//
// One pass turns the YAML text into Steps: variables are substituted, `use:` steps
// expand the imported fragments inline, and every problem (syntax, unknown keys, bad
// values, undefined variables, import cycles) is collected as a Diagnostic with
// file:line:column and a key path such as `steps[2].atspi.role`. The YAML format:
//
//   name: calculator-basic              # required
//   description: Adds two numbers
//   imports: [fragments/common.yaml]    # fragment files, relative to this file
//   vars: {greeting: hello}             # `{{ greeting }}` anywhere in steps
//   steps:                              # required, non-empty
//     - launch: {command: gnome-calculator, app: gnome-calculator}
//     - atspi: {role: push button, name_substr: "2"}
//       label: press 2                  # shared keys: label, retries, timeout, must_pass
//     - use: close_app                  # a fragment from an imported file
//   cleanup:
//     - shell: pkill -x gnome-calculator
//
// An imported file has top-level `vars`, `fragments` (name → list of steps) and its
// own `imports`. Variable precedence: overrides > scenario vars > imported vars.
#ifndef MOSDAT_CORE_SCENARIO_PARSER_H_
#define MOSDAT_CORE_SCENARIO_PARSER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/diagnostics.h"
#include "core/scenario.h"
#include "core/template_vars.h"

namespace mosdat {

struct ScenarioOptions {
  // Variables set from outside (CLI --var, config: app.name, app.binary). They win
  // over the scenario's and imports' vars and are taken literally (no substitution).
  std::map<std::string, Value> overrides = {};
  // Variables the scenario's own (and its imports') vars override: run values the
  // original mOSdat gave scenarios from its config, such as workspace_url. Literal.
  std::map<std::string, Value> defaults = {};
  // Reads an imported file by path (already joined with the importing file's
  // directory). Unset = read from disk.
  std::function<absl::StatusOr<std::string>(const std::string& path)> read_file = nullptr;
  // Imports and visual references must lie inside the scenario's own directory tree or
  // one of these (the config's directory and a test's allow_files_from; see
  // ScenarioOptionsFor). Paths are compared after normalisation and, for files that
  // exist on this machine, after resolving symlinks. A file outside is refused before
  // it is opened, so its content never reaches a diagnostic or a job.
  std::vector<std::string> file_roots = {};
  // Set where read_file serves only files that were already vetted (the coordinator
  // and agent read what the CLI sent): no confinement.
  bool any_file = false;
};

// Parses `text`, naming it `file_name` in diagnostics and resolving relative imports
// and visual references against its directory. Appends every problem to
// `diagnostics`; the returned Scenario is complete only when none were added.
Scenario ParseScenario(std::string_view text, std::string_view file_name,
                       const ScenarioOptions& options, Diagnostics* diagnostics);

// Reads and parses the scenario at `path`. InvalidArgument lists every diagnostic,
// one per line; NotFound and other read errors pass through.
absl::StatusOr<Scenario> LoadScenario(const std::string& path, const ScenarioOptions& options = {});

}  // namespace mosdat

#endif  // MOSDAT_CORE_SCENARIO_PARSER_H_

#include "core/preflight.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/config_parser.h"
#include "core/process.h"
#include "core/scenario_parser.h"

namespace mosdat {
namespace {

// Programs the local provider starts (see DESIGN.md, "The local target").
constexpr const char* kLocalDesktopPrograms[] = {"Xvnc", "dbus-daemon", "openbox"};

void CheckLocalVm(const Config& config, const VmConfig& vm, size_t index, Diagnostics* problems) {
  SourceLocation where{config.source_path};
  std::string key = absl::StrCat("vm[", index, "]");
  for (const char* program : kLocalDesktopPrograms) {
    if (FindExecutable(program).empty()) {
      problems->Add(where, key,
                    absl::StrCat("local VM \"", vm.name, "\" needs ", program,
                                 ", which is not installed (run deploy/install-deps.sh)"));
    }
  }
  const std::string& binary = vm.app_path.empty() ? config.app.binary : vm.app_path;
  if (binary.empty()) {
    problems->Add(where, key,
                  absl::StrCat("local VM \"", vm.name,
                               "\" has no app to start: set [app].binary or app_path"));
  } else if (FindExecutable(binary).empty()) {
    problems->Add(where, vm.app_path.empty() ? "app.binary" : key + ".app_path",
                  absl::StrCat("\"", binary, "\" is not an executable on this machine"));
  }
}

}  // namespace

VarMap ConfigVars(const Config& config, const VarMap& overrides) {
  VarMap vars = {{"app.name", config.app.name},
                 {"app.version", config.app.version},
                 {"app.binary", config.app.binary},
                 {"app.process_name", config.app.process_name}};
  for (const auto& [name, value] : overrides) vars[name] = value;
  return vars;
}

absl::StatusOr<std::pair<std::string, Value>> ParseVarAssignment(const std::string& text) {
  size_t eq = text.find('=');
  std::string name = text.substr(0, eq);
  if (eq == std::string::npos || !IsValidVarName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--var \"", text, "\": expected NAME=VALUE with NAME like app.binary"));
  }
  return std::make_pair(name, ValueFromPlainScalar(text.substr(eq + 1)));
}

PreflightReport RunPreflight(const PreflightOptions& options) {
  PreflightReport report;
  absl::StatusOr<std::string> read = ReadScenarioFile(options.config_path);
  if (!read.ok()) {
    report.problems.Add({options.config_path}, "", std::string(read.status().message()));
    return report;
  }
  Config config = ParseConfig(*read, options.config_path, &report.problems);
  if (!report.problems.empty()) return report;  // later checks would only echo these

  for (const std::string& name : options.tests) {
    if (config.FindTest(name) == nullptr) {
      std::vector<std::string> known;
      for (const TestConfig& test : config.tests) known.push_back(test.name);
      report.problems.Add({options.config_path}, "",
                          absl::StrCat("--test \"", name, "\": no such [[test]] (known: ",
                                       absl::StrJoin(known, ", "), ")"));
    }
  }

  std::vector<bool> local_vm_used(config.vms.size(), false);
  for (const TestConfig& test : config.tests) {
    if (!options.tests.empty() &&
        std::find(options.tests.begin(), options.tests.end(), test.name) == options.tests.end()) {
      continue;
    }
    PreflightTestReport entry{.name = test.name};
    for (const VmConfig* vm : config.VmsFor(test)) {
      entry.vms.push_back(vm->name);
      local_vm_used[vm - config.vms.data()] = vm->provider == VmProvider::kLocal;
    }
    size_t before = report.problems.size();
    if (!test.scenario.empty()) {
      entry.scenario_path = test.scenario;  // already relative to the config's directory
      ScenarioOptions scenario_options{.overrides = ConfigVars(config, options.vars)};
      absl::StatusOr<std::string> scenario_text = ReadScenarioFile(entry.scenario_path);
      if (!scenario_text.ok()) {
        report.problems.Add({entry.scenario_path}, "",
                            absl::StrCat("scenario of test \"", test.name,
                                         "\": ", scenario_text.status().message()));
      } else {
        Scenario scenario =
            ParseScenario(*scenario_text, entry.scenario_path, scenario_options, &report.problems);
        entry.steps = static_cast<int>(scenario.steps.size());
        // Local VMs run in the embedded default, whose gateway only [vlm] configures.
        const std::vector<const VmConfig*> vms = config.VmsFor(test);
        const bool on_local_vm = std::any_of(vms.begin(), vms.end(), [](const VmConfig* vm) {
          return vm->provider == VmProvider::kLocal;
        });
        if (!config.vlm && on_local_vm) {
          for (const Step* step : StepsNeedingVlm(scenario)) {
            report.problems.Add(step->location, "",
                                absl::StrCat(std::string(StepKindName(step->kind)),
                                             " needs a vision-language model: add a [vlm] table "
                                             "(base_url, model) to ",
                                             options.config_path));
          }
        }
        entry.cleanup_steps = static_cast<int>(scenario.cleanup.size());
      }
    }
    entry.ok = report.problems.size() == before;
    report.tests.push_back(std::move(entry));
  }

  for (size_t i = 0; i < config.vms.size(); ++i) {
    if (local_vm_used[i]) CheckLocalVm(config, config.vms[i], i, &report.problems);
  }
  return report;
}

}  // namespace mosdat

// Preflight: validate a config and every scenario it will run, and check the local
// machine has what local VMs need — all before any VM is touched. Every problem is
// collected, so one run tells the user everything to fix.
#ifndef MOSDAT_CORE_PREFLIGHT_H_
#define MOSDAT_CORE_PREFLIGHT_H_

#include <string>
#include <vector>

#include "core/config.h"
#include "core/diagnostics.h"
#include "core/template_vars.h"

namespace mosdat {

struct PreflightOptions {
  std::string config_path;
  std::vector<std::string> tests;  // [[test]] names to check; empty = all
  VarMap vars;                     // --var overrides
};

struct PreflightTestReport {
  std::string name;
  std::string scenario_path;  // resolved; empty for smoke tests
  std::vector<std::string> vms;
  int steps = 0;
  int cleanup_steps = 0;
  bool ok = false;
};

struct PreflightReport {
  std::vector<PreflightTestReport> tests;
  Diagnostics problems;
  bool ok() const { return problems.empty(); }
};

PreflightReport RunPreflight(const PreflightOptions& options);

// The variables a scenario sees from the config (`app.name`, `app.binary`, ...),
// with `overrides` applied on top.
VarMap ConfigVars(const Config& config, const VarMap& overrides);

// "NAME=VALUE" → (NAME, typed VALUE); errors name the malformed argument.
absl::StatusOr<std::pair<std::string, Value>> ParseVarAssignment(const std::string& text);

}  // namespace mosdat

#endif  // MOSDAT_CORE_PREFLIGHT_H_

// `mosdat preflight --config X.toml [--test S]... [--var K=V]... [--json]`: validates
// the config and every scenario it would run, prints every problem at once.
// Exit 0 when clean, 3 when problems were found (config errors), 2 on bad arguments
// (including a --test that is neither a [[test]] nor a scenario file).
//
// `--package PATH` instead runs the config's [verify] checks on a built artifact (see
// cli/package_checks.h): 0 all passed, 1 a check failed, 3 the config or the artifact
// cannot be read.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/package_checks.h"
#include "cli/run_selection.h"
#include "core/preflight.h"

namespace mosdat {
namespace {

struct PreflightArgs : RunSelection {
  bool json = false;
  std::string package;                        // --package: check this artifact instead
  std::vector<std::string> expected_symbols;  // --expect-symbol / --verify-symbol
};

nlohmann::json ToJson(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json out = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    out.push_back({{"file", d.location.file},
                   {"line", d.location.line},
                   {"column", d.location.column},
                   {"key", d.key_path},
                   {"message", d.message},
                   {"text", d.ToString()}});
  }
  return out;
}

nlohmann::json ToJson(const PreflightReport& report) {
  nlohmann::json tests = nlohmann::json::array();
  for (const PreflightTestReport& t : report.tests) {
    tests.push_back({{"name", t.name},
                     {"scenario", t.scenario_path},
                     {"vms", t.vms},
                     {"steps", t.steps},
                     {"cleanup_steps", t.cleanup_steps},
                     {"ok", t.ok},
                     {"skipped", t.skipped},
                     {"note", t.note}});
  }
  return {{"ok", report.ok()},
          {"tests", tests},
          {"job_files_bytes", report.job_files_bytes},
          {"usage_errors", report.usage_errors},
          {"problems", ToJson(report.problems.items())},
          {"warnings", ToJson(report.problems.warnings())}};
}

void PrintHuman(const PreflightReport& report, const std::string& config) {
  for (const PreflightTestReport& t : report.tests) {
    std::cout << (t.skipped ? "skip  " : t.ok ? "ok    " : "FAIL  ") << t.name;
    if (t.skipped) std::cout << "  " << t.note;
    if (!t.scenario_path.empty()) {
      std::cout << "  " << t.scenario_path << " (" << t.steps << " steps, " << t.cleanup_steps
                << " cleanup)";
    }
    std::cout << "\n";
  }
  for (const Diagnostic& d : report.problems.warnings()) {
    std::cerr << "warning: " << d.ToString() << "\n";
  }
  for (const Diagnostic& d : report.problems.items()) std::cerr << d.ToString() << "\n";
  for (const std::string& error : report.usage_errors) {
    std::cerr << "mosdat preflight: " << error << "\n";
  }
  if (report.ok()) {
    std::cout << "preflight passed: " << config << "\n";
  } else if (!report.problems.empty()) {
    std::cerr << report.problems.size() << (report.problems.size() == 1 ? " problem" : " problems")
              << " found\n";
  }
}

int RunPreflightCommand(const PreflightArgs& args) {
  if (!args.package.empty() || !args.expected_symbols.empty()) {
    return RunPackageChecks({.config = args.config,
                             .package = args.package,
                             .expected_symbols = args.expected_symbols,
                             .json = args.json});
  }
  PreflightOptions options{.config_path = args.config, .tests = args.tests, .vms = args.vms};
  for (const std::string& assignment : args.vars) {
    absl::StatusOr<std::pair<std::string, Value>> var = ParseVarAssignment(assignment);
    if (!var.ok()) {
      std::cerr << "mosdat preflight: " << var.status().message() << "\n";
      return kExitUsage;
    }
    options.vars[var->first] = var->second;
  }
  PreflightReport report = RunPreflight(options);
  if (args.json) {
    std::cout << ToJson(report).dump(2) << "\n";
  } else {
    PrintHuman(report, args.config);
  }
  if (!report.usage_errors.empty()) return kExitUsage;
  return ExitCodeFor(report.ok() ? Outcome::kPassed : Outcome::kConfigError);
}

}  // namespace

void AddPreflightCommand(CLI::App& root, const GlobalOptions&, int* exit_code) {
  auto args = std::make_shared<PreflightArgs>();
  CLI::App* cmd = root.add_subcommand(
      "preflight", "Validate the config and its scenarios, and check local prerequisites");
  AddRunSelection(cmd, args.get());
  cmd->add_flag("--json", args->json, "print a JSON report on stdout");
  cmd->add_option("--package", args->package,
                  "run the config's [verify] checks on this built artifact (.deb, tarball, "
                  "directory, app.asar or ELF file) instead");
  cmd->add_option("--expect-symbol,--verify-symbol", args->expected_symbols,
                  "with --package: a string the app.asar must contain (repeatable, or "
                  "comma-separated), added to [verify] symbols, as in the original mOSdat");
  cmd->callback([args, exit_code] { *exit_code = RunPreflightCommand(*args); });
}

}  // namespace mosdat

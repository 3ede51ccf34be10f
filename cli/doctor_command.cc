// `mosdat doctor --config X.toml [--vm NAME]... [--json]`: a per-VM checklist of what a
// run needs (see cli/doctor_proxmox.h and cli/doctor_local.h), each line ✓, ✗ with a
// fix, or skipped with the reason. Exit 0 when no check failed, 4 (infrastructure)
// when one did, 3 when the config does not parse (its file:line:column errors) or has
// no [[vm]] named by a --vm.
#include <iostream>

#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/doctor_local.h"
#include "cli/doctor_proxmox.h"
#include "cli/doctor_report.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"

namespace mosdat {
namespace {

struct DoctorArgs {
  std::string config;
  std::vector<std::string> vms;
  bool json = false;
};

int RunDoctorCommand(const DoctorArgs& args) {
  Diagnostics warnings;
  absl::StatusOr<Config> config = LoadConfig(args.config, &warnings);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return ExitCodeFor(Outcome::kConfigError);
  }
  if (!args.json) {
    for (const Diagnostic& d : warnings.warnings())
      std::cerr << "warning: " << d.ToString() << "\n";
  }
  std::vector<const VmConfig*> selected;
  for (const std::string& name : args.vms) {
    const VmConfig* vm = config->FindVm(name);
    if (vm == nullptr) {
      std::vector<std::string> names;
      for (const VmConfig& v : config->vms) names.push_back(v.name);
      std::cerr << "mosdat doctor: " << args.config << " has no [[vm]] named \"" << name
                << "\" (it has: " << (names.empty() ? "none" : absl::StrJoin(names, ", ")) << ")\n";
      return ExitCodeFor(Outcome::kConfigError);
    }
    selected.push_back(vm);
  }
  if (args.vms.empty()) {
    for (const VmConfig& vm : config->vms) selected.push_back(&vm);
  }
  std::vector<DoctorChecklist> reports;
  for (const VmConfig* vm : selected) {
    reports.push_back(vm->provider == VmProvider::kLocal ? DoctorLocalVm(*config, *vm)
                                                         : DoctorProxmoxVm(*config, *vm));
  }
  if (args.json) {
    std::cout << DoctorJson(reports).dump(2) << "\n";
  } else {
    PrintDoctorReport(reports, std::cout);
  }
  bool ok = true;
  for (const DoctorChecklist& r : reports) ok = ok && r.ok();
  return ExitCodeFor(ok ? Outcome::kPassed : Outcome::kInfrastructureError);
}

}  // namespace

void AddDoctorCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<DoctorArgs>();
  CLI::App* cmd = root.add_subcommand(
      "doctor", "Per-VM checklist: API, TLS, login, privileges, VM, SSH, guest Python, console");
  cmd->add_option("--config", args->config, "mOSdat TOML config")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--vm", args->vms, "only these [[vm]] names (repeatable)");
  cmd->add_flag("--json", args->json, "print a JSON report on stdout");
  cmd->callback([args, &global, exit_code] {
    RunWithLogging(global, exit_code, [args] { return RunDoctorCommand(*args); });
  });
}

}  // namespace mosdat

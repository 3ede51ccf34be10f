// Preflight: validate a config and every scenario it will run, and check the local
// machine has what local VMs need — all before any VM is touched. Every problem is
// collected, so one run tells the user everything to fix.
#ifndef MOSDAT_CORE_PREFLIGHT_H_
#define MOSDAT_CORE_PREFLIGHT_H_

#include <map>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/diagnostics.h"
#include "core/job_files.h"
#include "core/scenario_parser.h"
#include "core/template_vars.h"

namespace mosdat {

struct PreflightOptions {
  std::string config_path;
  std::vector<std::string> tests;  // [[test]] names to check; empty = all
  std::vector<std::string> vms;    // [[vm]] names to check; empty = each test's own
  VarMap vars;                     // --var overrides
  size_t max_job_files_bytes = kMaxJobFilesBytes;
  // The run happens on this machine (the embedded default): local VMs need this
  // machine's programs, and VLM steps the config's [vlm] and its API key. False when
  // a remote coordinator's agents run the VMs and bring their own gateway.
  bool embedded = true;
  // Smoke tests ([[test]] variant or script) are checked and run. False for `mosdat
  // functional`, which runs scenarios only: smoke tests are then skipped with a note,
  // or refused when named with --test.
  bool smoke_tests = true;
  // Packages are installed before the jobs (`test --package`): a local VM's app may
  // come with them, so it need not be on this machine yet.
  bool installs_packages = false;
  // Only install jobs run (`mosdat build`): no test is checked, and the VMs checked are
  // the selected ones with [[vm.package]].
  bool install_only = false;
  // Tests the command line defines: name → scenario file (core/test_resolution.h
  // AddScenarioTest), as `mosdat confirm` runs an issue's scenario.
  std::map<std::string, std::string> scenario_tests;
};

struct PreflightTestReport {
  std::string name;
  std::string scenario_path;  // resolved; empty for smoke tests
  std::vector<std::string> vms;
  int steps = 0;
  int cleanup_steps = 0;
  bool ok = false;
  // Not run (and not a problem) because it was not asked for by name and this command
  // does not run it (smoke tests under `mosdat functional`); `note` says why. Asked for
  // with --test, it is a problem.
  bool skipped = false;
  std::string note;
};

struct PreflightReport {
  std::vector<PreflightTestReport> tests;
  // Errors make the run fail (exit 3); problems.warnings() are things accepted that have
  // no effect, printed without failing.
  Diagnostics problems;
  // The command line asks for what the config does not have: a --test that is neither a
  // [[test]] nor a scenario file in the tests folder (see core/test_resolution.h). Exit 2.
  std::vector<std::string> usage_errors;
  // When ok(): the parsed config and every file the run sends (as the checks read them), so a
  // run that preflighted does not read its files twice.
  Config config;
  std::map<std::string, std::string> job_files;
  size_t job_files_bytes = 0;
  std::map<std::string, std::string> secrets;  // RunSecrets, sent with the run
  bool ok() const { return problems.empty() && usage_errors.empty(); }
};

// Everything a run would trip on, before anything starts: config and scenario errors
// (invalid UTF-8 included), missing or broken reference images (at the step that
// names them), unset secrets the run needs (named, never printed), steps that need SSH
// on VMs without SSH details or a VLM without [vlm], providers that cannot drive yet,
// missing local programs, and job files past kMaxJobFilesBytes.
PreflightReport RunPreflight(const PreflightOptions& options);

// The variables a scenario sees from the config (`app.name`, `app.binary`, ...) and
// the run (`timestamp`, YYYYMMDD_HHMMSS, as the original mOSdat's {timestamp}); with a
// VM, also `vm.name`, `vm.os_type` (which picks the original's platform routines) and
// `app_path` (the VM's app_path, else app.binary). `overrides` win.
VarMap ConfigVars(const Config& config, const VarMap& overrides, const VmConfig* vm = nullptr);

// How every caller parses a test's scenario: ConfigVars (for `vm` when given), and
// imports/reference images confined to the config's directory tree, the scenario's
// own and the test's allow_files_from.
ScenarioOptions ScenarioOptionsFor(const Config& config, const TestConfig& test,
                                   const VarMap& overrides, const VmConfig* vm = nullptr,
                                   const std::map<std::string, std::string>& secrets = {});

// The run credentials scenarios may use, as the original mOSdat gave them: test_user and
// test_password from [functional] (env:/file:), else from FUNCTIONAL_TEST_USER /
// FUNCTIONAL_TEST_PASSWORD when set, and vm_password from MOSDAT_VM_PASSWORD or
// DEFAULT_VM_PASSWORD. Read on the machine that starts the run; they
// reach scenarios as variables their own vars override, and agents hide their values
// in every event. A reference the config writes that cannot be read is an error.
absl::StatusOr<std::map<std::string, std::string>> RunSecrets(const Config& config);

// One VM of each operating system among `vms`, in order: a scenario is checked once
// per OS, since the original's routines may differ per platform.
std::vector<const VmConfig*> OneVmPerOs(const std::vector<const VmConfig*>& vms);

// "NAME=VALUE" → (NAME, typed VALUE); errors name the malformed argument.
absl::StatusOr<std::pair<std::string, Value>> ParseVarAssignment(const std::string& text);

}  // namespace mosdat

#endif  // MOSDAT_CORE_PREFLIGHT_H_

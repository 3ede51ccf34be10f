#include "coordinator/matrix.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config_parser.h"
#include "core/outcome.h"
#include "core/package_install.h"
#include "core/preflight.h"
#include "core/scenario_parser.h"
#include "core/smoke.h"
#include "core/test_resolution.h"

namespace mosdat {
namespace {

bool Selected(const std::vector<std::string>& filter, const std::string& name) {
  return filter.empty() || std::find(filter.begin(), filter.end(), name) != filter.end();
}

// How `vm` installs the uploaded packages, planned once per VM of the run.
class DeployPlans {
 public:
  // ConfigError for a package whose file name says no format.
  static absl::StatusOr<DeployPlans> Create(const Config& config,
                                            const std::vector<ArtifactRef>& packages) {
    DeployPlans plans(config);
    std::vector<std::string> unknown;
    for (const ArtifactRef& package : packages) {
      std::optional<PackageFormat> format = FormatOfFileName(package.name);
      if (!format) {
        unknown.push_back(package.name);
        continue;
      }
      plans.artifacts_.push_back(
          {.path = package.name, .format = *format, .sha256 = package.sha256});
    }
    if (!unknown.empty()) {
      return ConfigError(absl::StrCat(
          "cannot tell the package format of ", absl::StrJoin(unknown, ", "),
          " from its name (.deb, .rpm, .AppImage, .snap, .flatpak, .tar.gz, .msi, .exe)"));
    }
    return plans;
  }

  // nullopt when the run has no packages.
  absl::StatusOr<std::optional<DeployPlan>> For(const VmConfig& vm) {
    if (artifacts_.empty()) return std::nullopt;
    auto planned = plans_.find(vm.name);
    if (planned != plans_.end()) return planned->second;
    if (vm.packages.empty()) {
      return ConfigError(absl::StrCat(
          "VM \"", vm.name, "\" has no [[vm.package]] entry, so it cannot install the given ",
          "packages: add one (e.g. format = \"deb\") or leave the VM out with --vm"));
    }
    // Root needs no sudo; any other login user gets `sudo -n` (the local VM's user is
    // the agent's, which the deployer asks the VM: core/package_install.h AsRoot). The
    // parser already gave vm.user its [defaults] value.
    absl::StatusOr<DeployPlan> plan =
        PlanPackageInstall(vm, config_->app, artifacts_, {.sudo = vm.user != "root"});
    if (!plan.ok()) return plan.status();
    plans_.emplace(vm.name, *plan);
    return *std::move(plan);
  }

 private:
  explicit DeployPlans(const Config& config) : config_(&config) {}

  const Config* config_;
  std::vector<PackageArtifact> artifacts_;
  std::map<std::string, DeployPlan> plans_;
};

// One install job per VM: every selected VM with [[vm.package]] (kOnly), or each VM of
// `test_jobs` (kAlso). Their plans carry the [verify] checks of the installed copy.
absl::StatusOr<std::vector<JobSpec>> InstallJobsFor(const Config& config,
                                                    const MatrixRequest& request,
                                                    const std::vector<JobSpec>& test_jobs,
                                                    DeployPlans& plans) {
  std::vector<const VmConfig*> vms;
  if (request.install_jobs == InstallJobs::kOnly) {
    for (const VmConfig& vm : config.vms) {
      if (!vm.packages.empty() && Selected(request.vms, vm.name)) vms.push_back(&vm);
    }
    if (vms.empty()) {
      return ConfigError(
          request.vms.empty()
              ? "no [[vm]] has a [[vm.package]] entry: nothing would install the packages"
              : "none of the selected VMs has a [[vm.package]] entry");
    }
  } else {
    for (const JobSpec& job : test_jobs) {
      const VmConfig* vm = config.FindVm(job.vm.name);
      if (vm != nullptr && std::find(vms.begin(), vms.end(), vm) == vms.end()) vms.push_back(vm);
    }
  }
  std::vector<JobSpec> jobs;
  for (const VmConfig* vm : vms) {
    absl::StatusOr<std::optional<DeployPlan>> deploy = plans.For(*vm);
    if (!deploy.ok()) return deploy.status();
    JobSpec job;
    job.test = kInstallTest;
    job.vm = TargetFor(config, *vm);
    job.install_only = true;
    job.deploy = std::move(*deploy);
    job.deploy->contents = config.verify.value_or(VerifyConfig{});
    job.screenshots = config.report.screenshots;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

// Every scenario job `iterations` times, iteration-major: each VM's first run, then
// each VM's second, so VMs work in parallel. Smoke jobs run once.
std::vector<JobSpec> Repeat(std::vector<JobSpec> jobs, int iterations) {
  std::vector<JobSpec> out;
  for (const JobSpec& job : jobs) {
    if (job.smoke) out.push_back(job);
  }
  for (int i = 1; i <= iterations; ++i) {
    for (const JobSpec& job : jobs) {
      if (job.smoke) continue;
      JobSpec copy = job;
      copy.iteration = i;
      copy.variant = IterationName(i);
      out.push_back(std::move(copy));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Matrix> ExpandMatrix(const MatrixRequest& request) {
  auto config_text = request.files.find(request.config_path);
  if (config_text == request.files.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the config \"", request.config_path, "\" was not sent"));
  }
  Matrix matrix;
  Diagnostics diagnostics;
  matrix.config = ParseConfig(config_text->second, request.config_path, &diagnostics);
  if (!diagnostics.empty()) return diagnostics.ToStatus();
  for (const auto& [name, path] : request.scenario_tests) {
    if (absl::Status added = AddScenarioTest(&matrix.config, name, path); !added.ok()) {
      return added;
    }
  }
  // --test names without a [[test]]: the scenario files the submitter found and sent.
  if (absl::Status found = AddTestsFromScenarioFiles(
          &matrix.config, request.tests, request.vms,
          [&](const std::string& path) { return request.files.find(path) != request.files.end(); });
      !found.ok()) {
    return found;
  }
  const Config& config = matrix.config;

  for (const std::string& name : request.tests) {
    if (config.FindTest(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no [[test]] named \"", name, "\""));
    }
  }
  for (const std::string& name : request.vms) {
    if (config.FindVm(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no [[vm]] named \"", name, "\""));
    }
  }

  absl::StatusOr<DeployPlans> deploy_plans = DeployPlans::Create(config, request.packages);
  if (!deploy_plans.ok()) return deploy_plans.status();
  if (request.install_jobs != InstallJobs::kNone) {
    if (request.packages.empty()) {
      return absl::InvalidArgumentError("install jobs need packages to install");
    }
    if (config.FindTest(kInstallTest) != nullptr) {
      return ConfigError(
          absl::StrCat("a [[test]] is named \"", kInstallTest,
                       "\", which is what mOSdat calls its install jobs: rename it"));
    }
  }
  // One {timestamp} for the whole run, as the original's (taken when it started).
  VarMap run_vars = request.vars;
  run_vars.emplace("timestamp", ConfigVars(config, {}).at("timestamp"));
  for (const TestConfig& test : config.tests) {
    if (!Selected(request.tests, test.name)) continue;
    if (request.install_jobs == InstallJobs::kOnly) break;
    // The same confinement as on the submitting side; only sent files are read.
    ScenarioOptions options = ScenarioOptionsFor(config, test, run_vars, nullptr, request.secrets);
    options.read_file = [&](const std::string& path) -> absl::StatusOr<std::string> {
      auto it = request.files.find(path);
      if (it == request.files.end())
        return absl::InvalidArgumentError(absl::StrCat(path, " was not sent"));
      return it->second;
    };
    if (test.IsSmoke()) {
      // One job per VM; the app and its exit-code table travel with the job.
      for (const VmConfig* vm : config.VmsFor(test)) {
        if (!Selected(request.vms, vm->name)) continue;
        absl::StatusOr<SmokeSpec> smoke = SmokeSpecFor(config, test, *vm);
        if (!smoke.ok()) return smoke.status();
        JobSpec job;
        job.test = test.name;
        job.vm = TargetFor(config, *vm);
        job.variant = std::string(ToString(smoke->variant));
        job.smoke = std::move(*smoke);
        absl::StatusOr<std::optional<DeployPlan>> deploy = deploy_plans->For(*vm);
        if (!deploy.ok()) return deploy.status();
        job.deploy = std::move(*deploy);
        job.screenshots = config.report.screenshots;
        job.park = config.cursor.park;
        job.timeout_seconds = test.timeout.value_or(0);
        matrix.jobs.push_back(std::move(job));
      }
      continue;
    }
    absl::StatusOr<std::string> text = options.read_file(test.scenario);
    if (!text.ok()) return text.status();

    for (const VmConfig* vm : config.VmsFor(test)) {
      if (!Selected(request.vms, vm->name)) continue;
      // Parsed per VM: its variables (vm.os_type, app_path) may change the steps.
      options.overrides = ConfigVars(config, run_vars, vm);
      Scenario parsed = ParseScenario(*text, test.scenario, options, &diagnostics);
      if (!diagnostics.empty()) return diagnostics.ToStatus();
      // The agent gets overrides only: a default the scenario kept becomes one, which
      // reads the same (a default the scenario redefined is simply not sent).
      VarMap job_vars = options.overrides;
      std::map<std::string, std::string> job_secrets;
      for (const auto& [name, value] : options.defaults) {
        auto used = parsed.vars.find(name);
        if (used == parsed.vars.end() || !(used->second == value)) continue;
        if (request.secrets.contains(name)) {
          job_secrets[name] = value.ToString();
        } else {
          job_vars[name] = value;
        }
      }
      JobSpec job;
      job.test = test.name;
      job.vm = TargetFor(config, *vm);
      job.scenario_path = test.scenario;
      job.files = request.files;
      absl::StatusOr<std::optional<DeployPlan>> deploy = deploy_plans->For(*vm);
      if (!deploy.ok()) return deploy.status();
      job.deploy = std::move(*deploy);
      job.vars = std::move(job_vars);
      job.secrets = std::move(job_secrets);
      job.screenshots = config.report.screenshots;
      job.park = config.cursor.park;
      job.timeout_seconds = test.timeout.value_or(0);
      matrix.jobs.push_back(std::move(job));
    }
  }
  if (request.iterations > 1) matrix.jobs = Repeat(std::move(matrix.jobs), request.iterations);
  if (request.install_jobs != InstallJobs::kNone) {
    absl::StatusOr<std::vector<JobSpec>> installs =
        InstallJobsFor(config, request, matrix.jobs, *deploy_plans);
    if (!installs.ok()) return installs.status();
    // First: a VM that cannot install what it is given fails before its tests start.
    matrix.jobs.insert(matrix.jobs.begin(), std::make_move_iterator(installs->begin()),
                       std::make_move_iterator(installs->end()));
  }
  if (matrix.jobs.empty()) {
    return absl::InvalidArgumentError("the selection matches no (test, VM) pair");
  }
  return matrix;
}

}  // namespace mosdat

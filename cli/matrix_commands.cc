// `mosdat run` and `mosdat test`: the seed's matrix commands. Both run every selected
// test on every selected VM (tests × VMs; a smoke test once per variant); `run` first
// builds the packages when the config has [build] (cli/build_step.h). `--package
// FILE...` uploads the files to the coordinator by content, and every job's VM
// installs those its [[vm.package]] entries take before the job (the deploy phase).
// With [verify] checks, each VM also gets an install job that checks the installed copy.
#include <iostream>

#include "cli/build_step.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/run_client.h"
#include "core/config_parser.h"
#include "core/package_install.h"

namespace mosdat {
namespace {

// With packages to install and [verify] checks, each VM first has an install job that
// checks the installed copy (the tests' jobs install the packages too, unchecked).
int RunWithInstallChecks(MatrixArgs args, const std::string& command) {
  if (!args.packages.empty()) {
    Diagnostics warnings;
    absl::StatusOr<Config> config = LoadConfig(args.config, &warnings);
    if (config.ok() && config->verify.has_value() && !config->verify->empty()) {
      args.install_jobs = InstallJobs::kAlso;
    }
  }
  return RunMatrix(args, command);
}

// `mosdat run`: with [build] (and no --package), the build comes first, and its
// packages are what the VMs install.
int BuildThenRun(MatrixArgs args, const BuildOptions& build) {
  if (args.packages.empty()) {
    Diagnostics warnings;
    absl::StatusOr<Config> config = LoadConfig(args.config, &warnings);
    if (config.ok() && config->build.has_value()) {
      absl::StatusOr<BuiltPackages> built = BuildPackages(*config, build);
      if (!built.ok()) {
        std::cerr << "mosdat run: the build failed, so nothing was tested: "
                  << built.status().message() << "\n";
        return ExitCodeFor(built.status());
      }
      args.packages = PackagesTheVmsTake(*config, built->result, args.vms);
      std::cout << "build results: " << built->results_dir << "\n";
    }
    // A config that does not load is reported by the run's own preflight.
  } else if (build.pr != 0 || !build.ref.empty()) {
    std::cerr << "mosdat run: --package installs the given files; --pr and --ref choose what "
                 "to build: use one or the other\n";
    return kExitUsage;
  }
  return RunWithInstallChecks(std::move(args), "mosdat run");
}

}  // namespace

void AddMatrixCommands(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto run = std::make_shared<MatrixArgs>();
  auto build = std::make_shared<BuildOptions>();
  CLI::App* run_cmd = root.add_subcommand(
      "run",
      "Build the packages ([build]), install them in every VM and run the whole matrix: "
      "every test on every VM, smoke variants included, with progress and a summary table");
  AddMatrixFlags(run_cmd, run.get(), /*detach=*/true);
  AddPackageFlag(run_cmd, run.get());
  AddBuildFlags(run_cmd, build.get());
  run_cmd->callback([run, build, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return BuildThenRun(*run, *build); });
  });

  auto test = std::make_shared<MatrixArgs>();
  CLI::App* test_cmd = root.add_subcommand(
      "test",
      "Test on the configured VMs (tests × VMs, smoke variants included); with --package, "
      "each VM first installs the packages its [[vm.package]] entries take");
  AddMatrixFlags(test_cmd, test.get(), /*detach=*/true);
  AddPackageFlag(test_cmd, test.get());
  test_cmd->callback([test, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunWithInstallChecks(*test, "mosdat test"); });
  });
}

}  // namespace mosdat

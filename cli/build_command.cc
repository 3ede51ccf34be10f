// `mosdat build --config X [--pr N | --ref R] [--no-cache] [--build-dir DIR] [--vm V...]
// [--no-deploy]`: checks out the [build] source at a ref or pull request head, builds
// its packages (or takes them from the build cache), and writes a results folder under
// [report].output_dir with build.log and manifest.json. Then every VM whose
// [[vm.package]] takes a built file installs it, in an install job of its own (through
// the coordinator, embedded unless --coordinator), and the config's [verify] checks run
// on the installed copy; --no-deploy stops after the build.
//
// Exit 0 when built (and installed and checked), 1 when an installed copy fails a
// [verify] check, 3 for a config mistake (an unknown ref, a glob matching nothing, a
// package format no VM takes), 4 when the build, git or an install failed (with the
// log tail); a build or install problem is never reported as a test failure.
#include <iostream>

#include "cli/build_step.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/run_client.h"
#include "core/config_parser.h"

namespace mosdat {
namespace {

struct BuildArgs {
  MatrixArgs matrix;
  BuildOptions build;
  bool no_deploy = false;
};

int RunBuildCommand(BuildArgs args) {
  if (!args.matrix.tests.empty()) {
    std::cerr << "mosdat build: --test has no meaning here: build installs the packages and "
                 "checks them; `mosdat run` runs the tests\n";
    return kExitUsage;
  }
  absl::StatusOr<Config> config = LoadConfigPrintingWarnings(args.matrix.config);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitConfigError;  // unreadable or invalid: either way the files need fixing
  }
  absl::StatusOr<BuiltPackages> built = BuildPackages(*config, args.build);
  if (!built.ok()) {
    std::cerr << "mosdat build: " << built.status().message() << "\n";
    return ExitCodeFor(built.status());
  }
  std::cout << "results: " << built->results_dir << "\n";
  if (args.no_deploy) return kExitPass;

  args.matrix.packages = PackagesTheVmsTake(*config, built->result, args.matrix.vms);
  if (args.matrix.packages.empty()) {
    std::cout << "no [[vm.package]] of "
              << (args.matrix.vms.empty() ? "any VM" : "the selected VMs")
              << " takes a built file: built only, nothing installed\n";
    return kExitPass;
  }
  args.matrix.install_jobs = InstallJobs::kOnly;
  return RunMatrix(args.matrix, "mosdat build");
}

}  // namespace

void AddBuildCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<BuildArgs>();
  CLI::App* cmd = root.add_subcommand(
      "build",
      "Check out a ref or pull request head, build its packages (cached per commit), install "
      "them in every VM whose [[vm.package]] takes one, and run the [verify] checks on the "
      "installed copy");
  AddMatrixFlags(cmd, &args->matrix, /*detach=*/false);
  AddBuildFlags(cmd, &args->build);
  cmd->add_flag("--no-deploy", args->no_deploy, "build only: install nothing");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [args] { return RunBuildCommand(*args); });
  });
}

}  // namespace mosdat

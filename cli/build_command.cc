// `mosdat build --config X [--pr N | --ref R] [--no-cache] [--build-dir DIR]`: checks
// out the [build] source at a ref or pull request head, builds its packages (or takes
// them from the build cache), and writes a results folder under [report].output_dir
// with build.log and manifest.json. Exit 0 when built, 3 for a config mistake (an
// unknown ref, a glob matching nothing), 4 when the build or git failed (with the log
// tail); a build problem is never reported as a test failure.
#include <iostream>

#include "cli/build_step.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"

namespace mosdat {
namespace {

struct BuildArgs {
  std::string config;
  BuildOptions build;
};

int RunBuildCommand(const BuildArgs& args) {
  Diagnostics warnings;
  absl::StatusOr<Config> config = LoadConfig(args.config, &warnings);
  for (const Diagnostic& d : warnings.warnings()) std::cerr << "warning: " << d.ToString() << "\n";
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
  return kExitPass;
}

}  // namespace

void AddBuildCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<BuildArgs>();
  CLI::App* cmd = root.add_subcommand(
      "build", "Check out a ref or pull request head, build its packages (cached per commit)");
  cmd->add_option("--config", args->config, "mOSdat TOML config with a [build] table")
      ->required()
      ->check(CLI::ExistingFile);
  AddBuildFlags(cmd, &args->build);
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [args] { return RunBuildCommand(*args); });
  });
}

}  // namespace mosdat

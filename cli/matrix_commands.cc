// `mosdat run` and `mosdat test`: the seed's matrix commands. Today both run every
// selected test on every selected VM (tests × VMs), exactly as `mosdat functional`;
// the build (`run`) and install-and-smoke (`test --package`) phases that come before
// the tests arrive with their own version, as a variant dimension of the same matrix
// (Job.variant), so these command lines keep working.
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/run_client.h"

namespace mosdat {

void AddMatrixCommands(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto run = std::make_shared<MatrixArgs>();
  CLI::App* run_cmd =
      root.add_subcommand("run",
                          "Run the whole matrix: every test on every VM, with progress "
                          "and a summary table");
  AddMatrixFlags(run_cmd, run.get(), /*detach=*/true);
  run_cmd->callback([run, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunMatrix(*run, "mosdat run"); });
  });

  auto test = std::make_shared<MatrixArgs>();
  auto packages = std::make_shared<std::vector<std::string>>();
  CLI::App* test_cmd = root.add_subcommand(
      "test",
      "Test on the configured VMs (tests × VMs); --package installs a pre-built package "
      "first (not available in this version yet)");
  AddMatrixFlags(test_cmd, test.get(), /*detach=*/true);
  test_cmd->add_option("--package", *packages, "package file to install and test")->expected(0, -1);
  test_cmd->callback([test, packages, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] {
      if (!packages->empty()) {
        std::cerr << "mosdat test: installing a package (--package) is not available in this "
                     "version yet; without it, the tests run on the VMs as they are\n";
        return static_cast<int>(kExitUsage);
      }
      return RunMatrix(*test, "mosdat test");
    });
  });
}

}  // namespace mosdat

// `mosdat run` and `mosdat test`: the seed's matrix commands. Both run every selected
// test on every selected VM (tests × VMs; a smoke test once per variant). `--package
// FILE...` uploads the files to the coordinator by content, and every job's VM
// installs those its [[vm.package]] entries take before the job (the deploy phase).
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/run_client.h"

namespace mosdat {
namespace {

void AddPackageFlag(CLI::App* cmd, MatrixArgs* args) {
  cmd->add_option("--package", args->packages,
                  "a pre-built package (.deb, .rpm, .AppImage, .tar.gz, ...) each VM whose "
                  "[[vm.package]] takes it installs before its jobs; repeatable")
      ->check(CLI::ExistingFile);
}

}  // namespace

void AddMatrixCommands(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto run = std::make_shared<MatrixArgs>();
  CLI::App* run_cmd =
      root.add_subcommand("run",
                          "Run the whole matrix: every test on every VM, with progress "
                          "and a summary table");
  AddMatrixFlags(run_cmd, run.get(), /*detach=*/true);
  AddPackageFlag(run_cmd, run.get());
  run_cmd->callback([run, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunMatrix(*run, "mosdat run"); });
  });

  auto test = std::make_shared<MatrixArgs>();
  CLI::App* test_cmd = root.add_subcommand(
      "test",
      "Test on the configured VMs (tests × VMs, smoke variants included); with --package, "
      "each VM first installs the packages its [[vm.package]] entries take");
  AddMatrixFlags(test_cmd, test.get(), /*detach=*/true);
  AddPackageFlag(test_cmd, test.get());
  test_cmd->callback([test, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunMatrix(*test, "mosdat test"); });
  });
}

}  // namespace mosdat

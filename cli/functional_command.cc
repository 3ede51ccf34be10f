// `mosdat functional --config X.toml [--test S]... [--vm V]... [--var K=V]...`: runs
// scenarios on VMs through the coordinator (embedded by default, or --coordinator) and
// reports progress, a summary, and where the evidence is.
// Exit codes: 0 all passed, 1 a test failed, 3 config/scenario invalid, 4 infrastructure.
#include "cli/commands.h"
#include "cli/run_client.h"

namespace mosdat {

void AddFunctionalCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<MatrixArgs>();
  CLI::App* cmd = root.add_subcommand("functional", "Run functional UI scenarios (scenario x VM)");
  AddMatrixFlags(cmd, args.get(), /*detach=*/true);
  args->smoke_tests = false;
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunMatrix(*args, "mosdat functional"); });
  });
}

}  // namespace mosdat

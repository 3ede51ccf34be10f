// mosdat: the user's command surface.
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  // A peer that closes its end early (an HTTP server refusing a body, an MCP client
  // gone, a closed pipe on stdout) makes the write fail with EPIPE, handled where it
  // happens, instead of killing the command without a word.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app("mOSdat: test desktop applications across operating systems in VMs", "mosdat");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mosdat ") + mosdat::kMosdatVersion);
  mosdat::GlobalOptions global;
  app.add_option("--log-level", global.log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();

  int exit_code = mosdat::kExitPass;
  mosdat::AddPreflightCommand(app, global, &exit_code);
  mosdat::AddFunctionalCommand(app, global, &exit_code);
  mosdat::AddAtspiDumpCommand(app, global, &exit_code);
  mosdat::AddVisualCommand(app, global, &exit_code);
  mosdat::AddServeCommand(app, global, &exit_code);
  mosdat::AddVlmCacheCommand(app, global, &exit_code);
  mosdat::AddReplayCommand(app, global, &exit_code);
  mosdat::AddMigrateCommand(app, global, &exit_code);
  mosdat::AddDoctorCommand(app, global, &exit_code);
  mosdat::AddBuildCommand(app, global, &exit_code);
  mosdat::AddLiveCommand(app, global, &exit_code);
  mosdat::AddAuthorCommand(app, global, &exit_code);
  mosdat::AddReportCommands(app, global, &exit_code);
  mosdat::AddMatrixCommands(app, global, &exit_code);
  mosdat::AddRunsCommands(app, global, &exit_code);
  mosdat::AddConfirmCommand(app, global, &exit_code);
  mosdat::AddMcpCommand(app, global, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? mosdat::kExitPass : mosdat::kExitUsage;
  }
  return exit_code;
}

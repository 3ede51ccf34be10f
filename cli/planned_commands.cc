// Commands of the seed's surface that this version does not run yet. They exist so that
// scripts and --help show the whole surface, and they fail loudly (exit 2) rather than
// pretending to work.
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace mosdat {
namespace {

struct PlannedCommand {
  const char* name;
  const char* description;
  void (*add_flags)(CLI::App&);
};

void ConfigFlags(CLI::App& cmd) {
  cmd.add_option("--config", "mOSdat TOML config")->check(CLI::ExistingFile);
  cmd.add_option("--vm", "only these [[vm]] names")->expected(0, -1);
}

const PlannedCommand kPlanned[] = {
    {"confirm", "Confirm a reported issue, or verify its fix, on the matrix",
     [](CLI::App& cmd) {
       ConfigFlags(cmd);
       cmd.add_option("--issue", "issue URL or number");
       cmd.add_flag("--verify-fix")->description("expect the issue to be fixed");
     }},
};

}  // namespace

void AddPlannedCommands(CLI::App& root, int* exit_code) {
  for (const PlannedCommand& planned : kPlanned) {
    CLI::App* cmd = root.add_subcommand(planned.name, planned.description);
    planned.add_flags(*cmd);
    const char* name = planned.name;
    cmd->callback([name, exit_code] {
      std::cerr << "mosdat " << name << ": not available in this version yet\n";
      *exit_code = kExitUsage;
    });
  }
}

}  // namespace mosdat

// What `mosdat functional` and `mosdat preflight` run, as the command line says it: the
// config, the tests, the VMs and variable overrides. Both spellings are accepted — ours
// (`--config FILE`, `--vm NAME` repeatable) and the original mOSdat's (a positional
// FILE, `--vms a,b`) — so its users' command lines work unchanged.
#ifndef MOSDAT_CLI_RUN_SELECTION_H_
#define MOSDAT_CLI_RUN_SELECTION_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace mosdat {

struct RunSelection {
  std::string config;
  // [[test]] names; a name no [[test]] has is a scenario file in the tests folder
  // (core/test_resolution.h), which preflight and the coordinator resolve.
  std::vector<std::string> tests;
  std::vector<std::string> vms;   // --vm and --vms together, in the order given
  std::vector<std::string> vars;  // NAME=VALUE
};

// Adds the options to `cmd`. Once the command line is parsed, `selection` holds the
// merged forms; a missing config, or two different configs, is a usage error (exit 2).
void AddRunSelection(CLI::App* cmd, RunSelection* selection);

}  // namespace mosdat

#endif  // MOSDAT_CLI_RUN_SELECTION_H_

// Exit codes of `mosdat`. A test failure and a broken test rig are different things:
// CI can retry infrastructure errors but must not retry a real failure away.
#ifndef MOSDAT_CLI_EXIT_CODES_H_
#define MOSDAT_CLI_EXIT_CODES_H_

namespace mosdat {

enum ExitCode : int {
  kExitPass = 0,            // everything passed
  kExitTestFailed = 1,      // a test failed (or preflight found problems)
  kExitUsage = 2,           // bad command line, or a command not available yet
  kExitConfigError = 3,     // the config or a scenario is invalid
  kExitInfrastructure = 4,  // VM, VNC, SSH, coordinator or agent unreachable
};

}  // namespace mosdat

#endif  // MOSDAT_CLI_EXIT_CODES_H_

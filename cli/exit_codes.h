// Exit codes of `mosdat`. A test failure and a broken test rig are different things:
// CI can retry infrastructure errors but must not retry a real failure away.
//
// The rule (README, "Exit codes"): every command decides an Outcome (core/outcome.h)
// where the fault is known and maps it here, through ExitCodeFor and nothing else. Only
// a bad command line (kExitUsage) is decided by the command-line parsing itself.
#ifndef MOSDAT_CLI_EXIT_CODES_H_
#define MOSDAT_CLI_EXIT_CODES_H_

#include "absl/status/status.h"
#include "core/bug_verdict.h"
#include "core/outcome.h"

namespace mosdat {

enum ExitCode : int {
  kExitPass = 0,            // everything passed
  kExitTestFailed = 1,      // a test failed (the app did not do what was expected)
  kExitUsage = 2,           // bad command line
  kExitConfigError = 3,     // the config, a scenario or a file they name is invalid
  kExitInfrastructure = 4,  // VM, VNC, SSH, coordinator, agent or model unreachable or broken
  // `mosdat confirm` only (ConfirmExitCode):
  kExitIntermittent = 5,  // the bug showed in some attempts, not in others
  kExitInconclusive = 6,  // too few attempts reached the point where the bug could show
};

// The one mapping from outcome to exit code.
int ExitCodeFor(Outcome outcome);
// ExitCodeFor(OutcomeOf(status)) and ExitCodeFor(OutcomeOf(verdict)).
int ExitCodeFor(const absl::Status& status);
int ExitCodeFor(JobVerdict verdict);

// `mosdat confirm`: 0 when the verdict is what the mode expects (confirm: CONFIRMED;
// verify-fix, regression: NOT_REPRODUCED), 1 the opposite, 5 INTERMITTENT; INCONCLUSIVE
// is 4 when a harness error is among the attempts (the rig, not the bug), else 6.
int ConfirmExitCode(ConfirmMode mode, BugAggregate aggregate, const BugTally& all_attempts);

}  // namespace mosdat

#endif  // MOSDAT_CLI_EXIT_CODES_H_

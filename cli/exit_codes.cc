#include "cli/exit_codes.h"

namespace mosdat {

int ExitCodeFor(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPassed:
      return kExitPass;
    case Outcome::kTestFailed:
      return kExitTestFailed;
    case Outcome::kConfigError:
      return kExitConfigError;
    case Outcome::kInfrastructureError:
      return kExitInfrastructure;
  }
  return kExitInfrastructure;
}

int ExitCodeFor(const absl::Status& status) { return ExitCodeFor(OutcomeOf(status)); }

int ExitCodeFor(JobVerdict verdict) { return ExitCodeFor(OutcomeOf(verdict)); }

}  // namespace mosdat

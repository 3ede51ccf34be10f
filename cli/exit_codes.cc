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

int ConfirmExitCode(ConfirmMode mode, BugAggregate aggregate, const BugTally& all_attempts) {
  const BugAggregate expected =
      mode == ConfirmMode::kConfirm ? BugAggregate::kConfirmed : BugAggregate::kNotReproduced;
  switch (aggregate) {
    case BugAggregate::kConfirmed:
    case BugAggregate::kNotReproduced:
      return aggregate == expected ? kExitPass : kExitTestFailed;
    case BugAggregate::kIntermittent:
      return kExitIntermittent;
    case BugAggregate::kInconclusive:
      return all_attempts.harness_error > 0 ? kExitInfrastructure : kExitInconclusive;
  }
  return kExitInfrastructure;
}

}  // namespace mosdat

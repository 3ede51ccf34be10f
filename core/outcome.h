// How anything mOSdat runs ends: passed, a test failure (the app did not do what the
// scenario expects), a config error (the config, a scenario or a file they name is
// wrong: fix the files), or an infrastructure error (the test rig broke: VM, VNC, SSH,
// a service, the guest helper — retry or fix the rig, never blame the app).
//
// The outcome is decided where the fault is known and travels as an absl::Status whose
// code carries it (the constructors below); OutcomeOf is the one rule that reads it back.
// Job verdicts and exit codes are derived from an Outcome, never from a status directly.
#ifndef MOSDAT_CORE_OUTCOME_H_
#define MOSDAT_CORE_OUTCOME_H_

#include <string_view>

#include "absl/status/status.h"
#include "core/events.h"

namespace mosdat {

enum class Outcome { kPassed, kTestFailed, kConfigError, kInfrastructureError };

std::string_view ToString(Outcome outcome);

// The carriers: FailedPrecondition / NotFound = test failure, InvalidArgument = config
// error, every other non-OK code = infrastructure error.
absl::Status TestFailure(std::string_view message);
absl::Status ConfigError(std::string_view message);
absl::Status InfrastructureError(std::string_view message);

Outcome OutcomeOf(const absl::Status& status);
Outcome OutcomeOf(JobVerdict verdict);  // kUnknown counts as a test failure: not a pass
JobVerdict VerdictOf(Outcome outcome);
// The step status an outcome gives its step (config and infrastructure errors: kError).
StepStatus StepStatusOf(Outcome outcome);

// When a run combines several outcomes: the rig broke > the files are wrong > a test
// failed > passed.
Outcome Worse(Outcome a, Outcome b);

}  // namespace mosdat

#endif  // MOSDAT_CORE_OUTCOME_H_

#include "core/outcome.h"

#include <algorithm>
#include <string>

namespace mosdat {

std::string_view ToString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPassed:
      return "passed";
    case Outcome::kTestFailed:
      return "test failed";
    case Outcome::kConfigError:
      return "config error";
    case Outcome::kInfrastructureError:
      return "infrastructure error";
  }
  return "infrastructure error";
}

absl::Status TestFailure(std::string_view message) {
  return absl::FailedPreconditionError(std::string(message));
}
absl::Status ConfigError(std::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}
absl::Status InfrastructureError(std::string_view message) {
  return absl::UnavailableError(std::string(message));
}

Outcome OutcomeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return Outcome::kPassed;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
      return Outcome::kTestFailed;
    case absl::StatusCode::kInvalidArgument:
      return Outcome::kConfigError;
    default:
      return Outcome::kInfrastructureError;
  }
}

Outcome OutcomeOf(JobVerdict verdict) {
  switch (verdict) {
    case JobVerdict::kPass:
      return Outcome::kPassed;
    case JobVerdict::kFail:
    case JobVerdict::kUnknown:
      return Outcome::kTestFailed;
    case JobVerdict::kConfigError:
      return Outcome::kConfigError;
    case JobVerdict::kError:
      return Outcome::kInfrastructureError;
  }
  return Outcome::kInfrastructureError;
}

JobVerdict VerdictOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPassed:
      return JobVerdict::kPass;
    case Outcome::kTestFailed:
      return JobVerdict::kFail;
    case Outcome::kConfigError:
      return JobVerdict::kConfigError;
    case Outcome::kInfrastructureError:
      return JobVerdict::kError;
  }
  return JobVerdict::kError;
}

StepStatus StepStatusOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPassed:
      return StepStatus::kPassed;
    case Outcome::kTestFailed:
      return StepStatus::kFailed;
    default:
      return StepStatus::kError;
  }
}

Outcome Worse(Outcome a, Outcome b) {
  auto rank = [](Outcome o) {
    switch (o) {
      case Outcome::kPassed:
        return 0;
      case Outcome::kTestFailed:
        return 1;
      case Outcome::kConfigError:
        return 2;
      case Outcome::kInfrastructureError:
        return 3;
    }
    return 3;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace mosdat

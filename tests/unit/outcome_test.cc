// The one classification rule: how a status carries an outcome, how verdicts and step
// statuses follow from it, and which outcome wins when several combine.
#include "core/outcome.h"

#include <gtest/gtest.h>

namespace mosdat {
namespace {

TEST(OutcomeTest, EachCarrierMeansOneOutcome) {
  EXPECT_EQ(OutcomeOf(absl::OkStatus()), Outcome::kPassed);
  EXPECT_EQ(OutcomeOf(TestFailure("the button is not there")), Outcome::kTestFailed);
  EXPECT_EQ(OutcomeOf(absl::NotFoundError("no such widget")), Outcome::kTestFailed);
  EXPECT_EQ(OutcomeOf(ConfigError("steps[2]: bad key")), Outcome::kConfigError);
  EXPECT_EQ(OutcomeOf(InfrastructureError("VNC refused")), Outcome::kInfrastructureError);
  // Everything else broke the rig, never the app.
  for (absl::StatusCode code :
       {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kInternal,
        absl::StatusCode::kDataLoss, absl::StatusCode::kPermissionDenied,
        absl::StatusCode::kUnauthenticated, absl::StatusCode::kResourceExhausted,
        absl::StatusCode::kUnimplemented, absl::StatusCode::kAborted, absl::StatusCode::kCancelled,
        absl::StatusCode::kUnknown, absl::StatusCode::kOutOfRange,
        absl::StatusCode::kAlreadyExists}) {
    EXPECT_EQ(OutcomeOf(absl::Status(code, "x")), Outcome::kInfrastructureError)
        << absl::StatusCodeToString(code);
  }
}

TEST(OutcomeTest, VerdictsAndStepStatusesFollowTheOutcome) {
  for (Outcome o : {Outcome::kPassed, Outcome::kTestFailed, Outcome::kConfigError,
                    Outcome::kInfrastructureError}) {
    EXPECT_EQ(OutcomeOf(VerdictOf(o)), o) << ToString(o);
  }
  EXPECT_EQ(VerdictOf(Outcome::kConfigError), JobVerdict::kConfigError);
  // A verdict nobody could decide is not a pass.
  EXPECT_EQ(OutcomeOf(JobVerdict::kUnknown), Outcome::kTestFailed);
  EXPECT_EQ(StepStatusOf(Outcome::kTestFailed), StepStatus::kFailed);
  EXPECT_EQ(StepStatusOf(Outcome::kConfigError), StepStatus::kError);
  EXPECT_EQ(StepStatusOf(Outcome::kInfrastructureError), StepStatus::kError);
}

TEST(OutcomeTest, TheWorseOutcomeWins) {
  EXPECT_EQ(Worse(Outcome::kPassed, Outcome::kTestFailed), Outcome::kTestFailed);
  EXPECT_EQ(Worse(Outcome::kConfigError, Outcome::kTestFailed), Outcome::kConfigError);
  EXPECT_EQ(Worse(Outcome::kConfigError, Outcome::kInfrastructureError),
            Outcome::kInfrastructureError);
  EXPECT_EQ(Worse(Outcome::kPassed, Outcome::kPassed), Outcome::kPassed);
}

}  // namespace
}  // namespace mosdat

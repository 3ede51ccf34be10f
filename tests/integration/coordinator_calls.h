// Test helpers that talk to a real coordinator the way an agent and a user do, for
// tests of the agent protocol itself: a coordinator binary on a state directory of
// its own, a registered agent, a one-job run, its lease.
#ifndef MOSDAT_TESTS_INTEGRATION_COORDINATOR_CALLS_H_
#define MOSDAT_TESTS_INTEGRATION_COORDINATOR_CALLS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {

inline constexpr char kCoordinatorUserToken[] = "test-token-0123456789";
inline constexpr char kCoordinatorAgentToken[] = "test-agent-token-9876543210";

// A mosdat-coordinator with both credentials above, its results (and state) in
// `results_dir`, listening on `listen` (a fixed address lets a restart keep it), and
// `extra` flags.
std::unique_ptr<ServiceProcess> CoordinatorProcess(const std::string& results_dir,
                                                   const std::string& listen = "127.0.0.1:0",
                                                   std::vector<std::string> extra = {});

// RegisterAgent as `agent_id` driving the local VM "desk".
absl::Status RegisterDeskAgent(v1::Coordinator::Stub& stub, const std::string& agent_id);

// Submits a run of one job (test "hello" on VM "desk") with `packages`; its run id.
absl::StatusOr<std::string> SubmitOneJob(v1::Coordinator::Stub& stub,
                                         const std::vector<v1::ArtifactRef>& packages = {});

// Leases the next job for `agent_id` (waiting up to 5 s).
absl::StatusOr<v1::Job> LeaseOne(v1::Coordinator::Stub& stub, const std::string& agent_id);

// A log event of `job`'s attempt under its lease.
v1::JobEvent LogEvent(const v1::Job& job, uint64_t seq);

// GetRun as the user.
absl::StatusOr<v1::Run> GetRun(v1::Coordinator::Stub& stub, const std::string& run_id);

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_COORDINATOR_CALLS_H_

// Running `mosdat functional` from a test and reading back the job's events.
#ifndef MOSDAT_TESTS_INTEGRATION_FUNCTIONAL_RUN_H_
#define MOSDAT_TESTS_INTEGRATION_FUNCTIONAL_RUN_H_

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/events.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {

inline constexpr std::chrono::seconds kRunTimeout(240);

struct FunctionalRun {
  int exit_code = -1;
  std::string output;         // stdout + stderr of the command
  std::vector<Event> events;  // of the (single) job
  std::string job_dir;        // where events.jsonl and the screenshots are
};

// Writes `scenario_yaml` as dir/scenario.yaml and dir/config.toml: test "fixture" runs
// it on one local VM with the fixture GTK3 app (tests/data/apps/fixed_layout.py),
// followed by `extra_toml`. Returns the config's path.
std::string WriteFixtureConfig(const TempDir& dir, const std::string& scenario_yaml,
                               const std::string& extra_toml = "");

// Separate-process deployments: argv of a mosdat-coordinator (token from
// MOSDAT_COORDINATOR_TOKEN) and of a mosdat-agent owning VM "local" (its own token from
// MOSDAT_AGENT_TOKEN), plus `extra` flags.
std::vector<std::string> CoordinatorArgv(const std::string& results_dir);
// `argv` run with `dir` on a tmpfs that only it sees (a private mount namespace; needs
// root): the files it writes there are, to every other process here, on another
// machine. /proc/<its pid>/root/<dir> still shows them to the test.
std::vector<std::string> OnAnotherMachine(const std::string& dir, std::vector<std::string> argv);
// A coordinator on another machine (its results under `elsewhere`, seen by it alone)
// and an agent here owning VM "local", both started; `error` says what failed.
struct ElsewhereDeployment {
  explicit ElsewhereDeployment(const std::string& elsewhere);
  std::string remote_results() const { return elsewhere + "/results"; }
  // What a CLI passes to reach the coordinator.
  std::vector<std::string> Connection() const;

  std::string elsewhere;
  std::unique_ptr<ServiceProcess> coordinator;
  std::unique_ptr<ServiceProcess> agent;
  std::string error;  // empty once both are up
};
// The variable both read the agents' credential from (the coordinator's --agent-token,
// the agent's --coordinator-token); it must be set in their environment.
inline constexpr char kAgentTokenVariable[] = "MOSDAT_COORDINATOR_AGENT_TOKEN";
std::vector<std::string> AgentArgv(const std::string& coordinator_address,
                                   const std::vector<std::string>& extra = {});
// The environment both need: the coordinator's user token (which a CLI talking to it
// presents as env:MOSDAT_COORDINATOR_TOKEN too), the agent's own and the agents' credential.
inline const std::map<std::string, std::string> kServiceEnv = {
    {"MOSDAT_COORDINATOR_TOKEN", "coord-token-1"},
    {kAgentTokenVariable, "agent-cred-1"},
    {"MOSDAT_AGENT_TOKEN", "agent-token-2"}};

// Runs `mosdat functional` for one test of `config` with results under `dir`.
FunctionalRun RunFunctional(const std::string& config, const std::string& test, const TempDir& dir);

// Tests that run scenarios on the fixture app, each in a fresh directory.
class FixtureAppTest : public ::testing::Test {
 protected:
  FunctionalRun Run(const std::string& scenario_yaml) {
    return RunFunctional(WriteFixtureConfig(dir_, scenario_yaml), "fixture", dir_);
  }
  TempDir dir_;
};

// The step_finished events of steps of `kind`, in order.
std::vector<const Event*> Finished(const FunctionalRun& run, const std::string& kind);

bool LogSays(const FunctionalRun& run, const std::string& text);

// The command's output and every event, for failure messages.
std::string Dump(const FunctionalRun& run);

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_FUNCTIONAL_RUN_H_

// The coordinator's API is usable without mosdat's CLI: a Python client
// (tests/python/submit_and_watch.py, Debian's python3-grpcio and python3-protobuf,
// stubs generated here from protos/ with protoc and grpc_python_plugin) submits a
// matrix with its files inline to a real mosdat-coordinator, a real mosdat-agent runs
// the job on a local desktop, and the client follows WatchRun to the run's end.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/process.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

// A VNC-only scenario on the fixture app: wait for the window, press the toggle, see it.
constexpr char kScenario[] = R"(name: python-client
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
    label: window drawn
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 5}
    label: toggle drawn pressed
  - checkpoint: done
)";

// Python modules for mosdat.v1 (coordinator + common), generated into `out`.
RunResult GeneratePythonStubs(const std::string& out) {
  return RunCommand({"protoc", "-I" + SourcePath("protos"), "--python_out=" + out,
                     "--grpc_python_out=" + out,
                     "--plugin=protoc-gen-grpc_python=" + FindExecutable("grpc_python_plugin"),
                     "mosdat/v1/common.proto", "mosdat/v1/coordinator.proto"});
}

std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    lines.push_back(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
  }
  return lines;
}

TEST(PythonClientTest, SubmitsAMatrixAndWatchesTheRunToItsEnd) {
  ASSERT_FALSE(FindExecutable("grpc_python_plugin").empty())
      << "grpc_python_plugin is missing: install protobuf-compiler-grpc (deploy/install-deps.sh)";
  TempDir dir;
  RunResult stubs = GeneratePythonStubs(dir.File(""));
  ASSERT_EQ(stubs.exit_code, 0) << stubs.err;
  const std::string config = WriteFixtureConfig(dir, kScenario);

  ServiceProcess coordinator(CoordinatorArgv(dir.File("results")), kServiceEnv);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  ServiceProcess agent(AgentArgv(coordinator.grpc_address(), {"--agent-id=python-host"}),
                       kServiceEnv);
  ASSERT_TRUE(agent.Start()) << agent.stderr_text();

  // Debian's Python, which has python3-grpcio and python3-protobuf.
  RunResult client = RunCommand(
      {"/usr/bin/python3", SourcePath("tests/python/submit_and_watch.py"), "--coordinator",
       coordinator.grpc_address(), "--token", "env:MOSDAT_COORDINATOR_TOKEN", "--config", config,
       "--test", "fixture", "--stubs", dir.path(), "--events-out", dir.File("updates.jsonl")},
      kServiceEnv, kRunTimeout);
  ASSERT_EQ(client.exit_code, 0) << client.out << client.err << agent.stderr_text();
  EXPECT_THAT(client.out, HasSubstr("1 job(s), 2 file(s) sent"));
  EXPECT_THAT(client.out, HasSubstr("passed   click press the toggle"));
  EXPECT_THAT(client.out, HasSubstr("verdict: pass"));

  // What the client saw: run_seq 1, 2, 3... without a gap, ending with the Run; the
  // job's events in order (seq 1, 2, ... within its attempt), the last its pass.
  std::vector<nlohmann::json> updates = ReadJsonLines(dir.File("updates.jsonl"));
  ASSERT_GE(updates.size(), 3u) << client.out;
  for (size_t i = 0; i < updates.size(); ++i) {
    ASSERT_TRUE(updates[i].is_object()) << "line " << i + 1;
    EXPECT_EQ(updates[i].value("run_seq", 0u), i + 1) << updates[i].dump();
  }
  EXPECT_EQ(updates.back().value("kind", ""), "run");
  uint64_t last_seq = 0;
  std::set<std::string> jobs;
  for (const nlohmann::json& update : updates) {
    if (update.value("kind", "") != "event") continue;
    jobs.insert(update.value("job_id", ""));
    EXPECT_EQ(update.value("attempt", 0), 1) << update.dump();
    EXPECT_EQ(update.value("seq", 0u), last_seq + 1) << update.dump();
    last_seq = update.value("seq", 0u);
  }
  EXPECT_EQ(jobs.size(), 1u);
  // The last event (job state updates may follow it, then the run's).
  nlohmann::json finished;
  for (const nlohmann::json& update : updates) {
    if (update.value("kind", "") == "event") finished = update;
  }
  EXPECT_EQ(finished.value("event", ""), "job_finished") << finished.dump();
  EXPECT_EQ(finished.value("verdict", ""), "VERDICT_PASS") << finished.dump();

  // A wrong token is refused as an infrastructure error (exit 4), naming the code.
  RunResult intruder =
      RunCommand({"/usr/bin/python3", SourcePath("tests/python/submit_and_watch.py"),
                  "--coordinator", coordinator.grpc_address(), "--token", "env:WRONG", "--config",
                  config, "--stubs", dir.path()},
                 {{"WRONG", "not-the-token"}});
  EXPECT_EQ(intruder.exit_code, 4) << intruder.out << intruder.err;
  EXPECT_THAT(intruder.err, HasSubstr("UNAUTHENTICATED"));

  EXPECT_EQ(agent.Terminate(), 0) << agent.stderr_text();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
}

}  // namespace
}  // namespace mosdat::testing

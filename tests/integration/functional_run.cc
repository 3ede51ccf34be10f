#include "tests/integration/functional_run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mosdat::testing {

namespace fs = std::filesystem;

std::string WriteFixtureConfig(const TempDir& dir, const std::string& scenario_yaml,
                               const std::string& extra_toml) {
  std::ofstream(dir.File("scenario.yaml"), std::ios::binary) << scenario_yaml;
  std::ofstream(dir.File("config.toml"), std::ios::binary)
      << "[app]\nname = \"fixture\"\nbinary = \"/usr/bin/python3\"\nargs = [\""
      << SourcePath("tests/data/apps/fixed_layout.py")
      << "\"]\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
         "[[test]]\nname = \"fixture\"\nscenario = \"scenario.yaml\"\n"
      << extra_toml;
  return dir.File("config.toml");
}

std::vector<std::string> CoordinatorArgv(const std::string& results_dir) {
  return {BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:MOSDAT_COORDINATOR_TOKEN",
          "--agent-token=env:" + std::string(kAgentTokenVariable), "--results-dir=" + results_dir};
}

std::vector<std::string> OnAnotherMachine(const std::string& dir, std::vector<std::string> argv) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> wrapped = {"unshare",
                                      "--mount",
                                      "--propagation",
                                      "private",
                                      "sh",
                                      "-c",
                                      "mount -t tmpfs mosdat-elsewhere \"$0\" && exec \"$@\"",
                                      dir};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

ElsewhereDeployment::ElsewhereDeployment(const std::string& dir) : elsewhere(dir) {
  coordinator = std::make_unique<ServiceProcess>(
      OnAnotherMachine(elsewhere, CoordinatorArgv(remote_results())), kServiceEnv);
  if (!coordinator->Start()) {
    error = "the coordinator did not start: " + coordinator->stderr_text();
    return;
  }
  agent = std::make_unique<ServiceProcess>(AgentArgv(coordinator->grpc_address()), kServiceEnv);
  if (!agent->Start()) error = "the agent did not start: " + agent->stderr_text();
}

std::vector<std::string> ElsewhereDeployment::Connection() const {
  return {"--coordinator", coordinator->grpc_address(), "--token", "env:MOSDAT_COORDINATOR_TOKEN"};
}

std::vector<std::string> AgentArgv(const std::string& coordinator_address,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      BuiltBinary("vnc-agent/mosdat-agent"), "--token=env:MOSDAT_AGENT_TOKEN",
      "--coordinator=" + coordinator_address,
      "--coordinator-token=env:" + std::string(kAgentTokenVariable), "--vm=local"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

FunctionalRun RunFunctional(const std::string& config, const std::string& test,
                            const TempDir& dir) {
  FunctionalRun result;
  RunResult run = RunCommand({BuiltBinary("cli/mosdat"), "functional", "--config", config, "--test",
                              test, "--results", dir.File("results")},
                             {}, kRunTimeout);
  result.exit_code = run.exit_code;
  result.output = run.out + run.err;
  std::error_code error;
  for (const auto& run_dir : fs::directory_iterator(dir.File("results/functional"), error)) {
    for (const auto& job_dir : fs::recursive_directory_iterator(run_dir.path(), error)) {
      if (job_dir.path().filename() != "events.jsonl") continue;
      absl::StatusOr<std::vector<Event>> events = ReadEventLog(job_dir.path().string());
      EXPECT_TRUE(events.ok()) << events.status();
      if (events.ok()) result.events = *events;
      result.job_dir = job_dir.path().parent_path().string();
    }
  }
  return result;
}

std::vector<const Event*> Finished(const FunctionalRun& run, const std::string& kind) {
  std::vector<const Event*> out;
  for (const Event& e : run.events) {
    if (e.type == EventType::kStepFinished && e.step_kind == kind) out.push_back(&e);
  }
  return out;
}

bool LogSays(const FunctionalRun& run, const std::string& text) {
  for (const Event& e : run.events) {
    if (e.type == EventType::kLog && e.text.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string Dump(const FunctionalRun& run) {
  std::string out = run.output;
  for (const Event& e : run.events) out += ToJsonLine(e) + "\n";
  return out;
}

}  // namespace mosdat::testing

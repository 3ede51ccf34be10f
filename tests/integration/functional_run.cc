#include "tests/integration/functional_run.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mosdat::testing {

namespace fs = std::filesystem;

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

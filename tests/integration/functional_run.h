// Running `mosdat functional` from a test and reading back the job's events.
#ifndef MOSDAT_TESTS_INTEGRATION_FUNCTIONAL_RUN_H_
#define MOSDAT_TESTS_INTEGRATION_FUNCTIONAL_RUN_H_

#include <chrono>
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

// Runs `mosdat functional` for one test of `config` with results under `dir`.
FunctionalRun RunFunctional(const std::string& config, const std::string& test, const TempDir& dir);

// The step_finished events of steps of `kind`, in order.
std::vector<const Event*> Finished(const FunctionalRun& run, const std::string& kind);

bool LogSays(const FunctionalRun& run, const std::string& text);

// The command's output and every event, for failure messages.
std::string Dump(const FunctionalRun& run);

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_FUNCTIONAL_RUN_H_

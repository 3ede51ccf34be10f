#include "tests/integration/vlm_standin.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/file_util.h"

namespace mosdat::testing {

StandIn::StandIn(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {"/usr/bin/python3", SourcePath("tests/data/vlm_standin.py"),
                                   "--models", std::string(kQwen) + "," + kUiTars};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  absl::StatusOr<Process> process = Process::Spawn({.argv = argv,
                                                    .env = CurrentEnvironment(),
                                                    .stdout_path = dir_.File("port"),
                                                    .stderr_path = dir_.File("err")});
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return;
  }
  process_.emplace(std::move(*process));
  // The stand-in prints its port once it listens.
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    std::string text = ReadFileOrEmpty(dir_.File("port"));
    if (!text.empty() && text.back() == '\n') {
      port_ = std::stoi(text);
      return;
    }
    if (process_->Poll()) break;
    absl::SleepFor(absl::Milliseconds(5));  // poll interval
  }
  ADD_FAILURE() << "the VLM stand-in did not start: " << ReadFileOrEmpty(dir_.File("err"));
}

std::string StandIn::base_url() const { return absl::StrCat("http://127.0.0.1:", port_, "/v1"); }

nlohmann::json StandIn::Stats() const {
  std::string body = HttpGet(port_, "/stats");
  nlohmann::json stats = nlohmann::json::parse(body, nullptr, false);
  EXPECT_FALSE(stats.is_discarded()) << body;
  return stats;
}

void StandIn::Release() const { HttpGet(port_, "/release"); }

void StandIn::Kill() {
  if (process_) process_->Terminate(absl::Seconds(5));
}

}  // namespace mosdat::testing

// The runs page serves evidence from a results directory: only files inside its
// functional/ tree, whatever the path says (.., absolute, a symbolic link out), and
// notices when a job's trace.html appears after its last event.
#include "live/run_board.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/temp_dir.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

TEST(RunBoardTest, ServesOnlyEvidenceInsideTheResults) {
  TempDir dir;
  const fs::path root = dir.File("results");
  const fs::path job = root / "functional" / "20261202-010000-aaaa" / "local";
  fs::create_directories(job);
  std::ofstream(job / "events.jsonl") << "";
  std::ofstream(job / "001-step01-step.png") << "png";
  std::ofstream(dir.File("secret.png")) << "secret";
  fs::create_directories(root / "functional2");
  std::ofstream(root / "functional2" / "x.png") << "x";
  fs::create_symlink(dir.File("secret.png"), job / "link.png");

  RunBoard board(root);
  EXPECT_TRUE(board.EvidenceFile("functional/20261202-010000-aaaa/local/001-step01-step.png").ok());
  for (const std::string& bad :
       {std::string("functional/../../secret.png"), std::string("../secret.png"),
        dir.File("secret.png"), std::string("functional2/x.png"),
        std::string("functional/20261202-010000-aaaa/local/link.png"),
        std::string("functional/./20261202-010000-aaaa/local/001-step01-step.png"),
        std::string("functional/20261202-010000-aaaa/local/missing.png"), std::string("")}) {
    EXPECT_EQ(board.EvidenceFile(bad).status().code(), absl::StatusCode::kNotFound) << bad;
  }
}

TEST(RunBoardTest, ATraceWrittenAfterTheLastEventShowsUp) {
  TempDir dir;
  // Reached through a symbolic link: the page's paths keep the link's names.
  const fs::path real = dir.File("real");
  const fs::path job = real / "functional" / "20261202-010000-aaaa" / "local";
  fs::create_directories(job);
  fs::create_directory_symlink(real, dir.File("results"));
  std::ofstream(job / "events.jsonl")
      << R"({"job":"j","seq":1,"time_ms":1,"type":"job_started","vm":"local","scenario":"s"})"
      << "\n"
      << R"({"job":"j","seq":2,"time_ms":2,"type":"job_finished","verdict":"pass"})"
      << "\n";
  RunBoard board(dir.File("results"));
  const std::string before = board.Signature(20);
  nlohmann::json runs = board.Runs(20);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["jobs"][0]["dir"], "functional/20261202-010000-aaaa/local");
  EXPECT_EQ(runs[0]["jobs"][0]["verdict"], "pass");
  EXPECT_TRUE(runs[0]["jobs"][0]["trace"].is_null());

  std::ofstream(job / "trace.html") << "<!doctype html>";
  EXPECT_NE(board.Signature(20), before);
  runs = board.Runs(20);
  EXPECT_EQ(runs[0]["jobs"][0]["trace"],
            "/results/functional/20261202-010000-aaaa/local/trace.html");
  EXPECT_TRUE(board.Job("functional/20261202-010000-aaaa/local").ok());
  EXPECT_EQ(board.Job("functional/../real").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mosdat

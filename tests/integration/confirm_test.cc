// `mosdat confirm` end to end, as a release engineer runs it: the issue's text comes
// from a GitHub STAND-IN (a real HTTP server with GitHub's checks; github.com cannot be
// reached here), the bug scenario runs on the real local desktop (Xvnc, a real GTK3
// app with a deliberate intermittent bug, AT-SPI and a shell check through the real
// sshd), several iterations each from a fresh desktop, and the verdict, exit code and
// evidence folder are checked against what the app itself recorded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "confirm/github_client.h"
#include "core/file_util.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/github_standin.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kToken[] = "gh-token-1";

// The bug: after Save, an error label and an error file (found by a shell check).
std::string BugScenario(const std::string& state_file, const std::string& precondition_button) {
  return "name: saving fails now and then\n"
         "issue: {id: 7}\n"
         "setup:\n"
         "  - wait_for: {all: [atspi: {role: push button, name: Save}], timeout: 60}\n"
         "precondition:\n"
         "  all:\n"
         "    - atspi: {role: push button, name: " +
         precondition_button +
         "}\n"
         "    - shell: \"test -s " +
         state_file +
         "\"\n"
         "  timeout: 2\n"
         "steps:\n"
         "  - atspi: {role: push button, name: Save}\n"
         "bug_signal:\n"
         "  any:\n"
         "    - atspi: {role: label, name: \"Error: save failed\"}\n"
         "    - shell: \"test -e " +
         state_file +
         ".error\"\n"
         "  timeout: 3\n";
}

class ConfirmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    github_.AddIssue("acme/notes", 7, "Saving fails now and then",
                     "Press Save: sometimes it says \"Error: save failed\".",
                     {"bug", "needs-confirmation"});
  }

  // The app's build: the buggy one, or the fixed one.
  void WriteConfig(bool fixed_build) {
    std::ofstream(dir_.File("config.toml"))
        << "[app]\nname = \"notes\"\nbinary = \"/usr/bin/python3\"\nargs = [\""
        << SourcePath("tests/data/apps/flaky_save.py") << "\", \"" << StateFile() << "\""
        << (fixed_build ? ", \"--fixed\"" : "") << "]\n"
        << "[[vm]]\nname = \"local\"\nprovider = \"local\"\n";
  }

  void WriteScenario(const std::string& yaml) {
    fs::create_directories(dir_.File("scenarios/issues"));
    std::ofstream(dir_.File("scenarios/issues/7.yaml")) << yaml;
  }

  std::string StateFile() const { return dir_.File("launches.txt"); }

  RunResult Confirm(std::vector<std::string> extra,
                    std::map<std::string, std::string> env = {{"GH_TOKEN", kToken}}) {
    std::vector<std::string> argv = {
        BuiltBinary("cli/mosdat"), "confirm",     "acme/notes#7",       "--config",
        dir_.File("config.toml"),  "--results",   dir_.File("results"), "--github-api",
        github_.api_url(),         "--cache-dir", dir_.File("cache")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, env, std::chrono::seconds(400));
  }

  // The evidence folder of the (single) confirm run.
  std::string EvidenceDir() {
    std::error_code error;
    for (const auto& run : fs::directory_iterator(dir_.File("results/issues/7"), error)) {
      return run.path().string();
    }
    return "";
  }

  json Summary() {
    return json::parse(ReadFileOrEmpty(EvidenceDir() + "/summary.json"), nullptr, false);
  }

  // How many launches of the app had the bug, as the app itself recorded it.
  std::pair<int, int> Launches() {
    int bug = 0, ok = 0;
    for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(StateFile()), '\n')) {
      if (absl::EndsWith(line, " bug")) ++bug;
      if (absl::EndsWith(line, " ok")) ++ok;
    }
    return {bug, ok};
  }

  GitHubStandIn github_{kToken};
  TempDir dir_;
};

TEST_F(ConfirmTest, AnIntermittentBugConfirmsAsIntermittentWithTheAppsOwnCounts) {
  WriteConfig(/*fixed_build=*/false);
  WriteScenario(BugScenario(StateFile(), "Save"));
  RunResult result = Confirm({"--iterations", "4", "--github-token", "env:GH_TOKEN", "--post"});
  const std::string out = result.out + result.err;
  EXPECT_EQ(result.exit_code, 5) << out;  // INTERMITTENT
  const auto [bug, ok] = Launches();
  EXPECT_EQ(bug + ok, 4) << ReadFileOrEmpty(StateFile());
  json summary = Summary();
  ASSERT_TRUE(summary.is_object()) << out;
  EXPECT_EQ(summary["verdict"], "INTERMITTENT");
  EXPECT_EQ(summary["counts"]["reproduced"], bug);
  EXPECT_EQ(summary["counts"]["not_reproduced"], ok);
  EXPECT_EQ(summary["rate"], absl::StrCat(bug, "/4"));
  EXPECT_EQ(summary["exit_code"], 5);
  EXPECT_EQ(summary["issue"]["title"], "Saving fails now and then");
  EXPECT_EQ(summary["issue"]["labels"], json({"bug", "needs-confirmation"}));
  ASSERT_EQ(summary["vms"].size(), 1u);
  const json& vm = summary["vms"][0];
  ASSERT_EQ(vm["iterations"].size(), 4u);
  // Each iteration's verdict is the one its launch recorded (odd launches are buggy).
  for (const json& it : vm["iterations"]) {
    const bool buggy = it["iteration"].get<int>() % 2 == 1;
    EXPECT_EQ(it["verdict"], buggy ? "reproduced" : "not_reproduced") << it.dump();
    // What showed, or why not: each condition's own words.
    EXPECT_THAT(it["reason"].get<std::string>(),
                HasSubstr(buggy ? "the bug showed: atspi label \"Error: save failed\", shell"
                                : "near matches: label \"Saved\""));
    EXPECT_NE(it["precondition_frame"], "") << it.dump();
    EXPECT_NE(it["bug_signal_frame"], "") << it.dump();
    EXPECT_TRUE(fs::exists(EvidenceDir() + "/" + it["bug_signal_frame"].get<std::string>()));
  }
  // What the VM was, asked of it: the local desktop is X11.
  EXPECT_EQ(vm["environment"]["display_server"], "x11") << vm.dump();
  EXPECT_NE(vm["environment"]["os"], "");
  const std::string report = ReadFileOrEmpty(EvidenceDir() + "/report.md");
  EXPECT_THAT(report, HasSubstr("INTERMITTENT (2/4 reproduced)"));
  EXPECT_THAT(report, HasSubstr("Saving fails now and then"));
  EXPECT_THAT(report, HasSubstr("![bug signal](frames/local-iteration-01-bug-signal.png)"));
  // The comment went to the issue, and is the file's.
  ASSERT_EQ(github_.comments().size(), 1u) << out;
  EXPECT_EQ(github_.comments()[0], ReadFileOrEmpty(EvidenceDir() + "/comment.md"));
  EXPECT_THAT(github_.comments()[0], HasSubstr("INTERMITTENT (2/4 reproduced)"));
  EXPECT_THAT(out, HasSubstr("posted: https://github.com/acme/notes/issues/7#issuecomment-"));
  EXPECT_EQ(github_.invalid_requests(), 0) << ::testing::PrintToString(github_.invalid_reasons());
}

TEST_F(ConfirmTest, TheFixedBuildVerifiesAsNotReproducedAndTheIssueComesFromTheCache) {
  WriteConfig(/*fixed_build=*/true);
  WriteScenario(BugScenario(StateFile(), "Save"));
  RunResult first = Confirm({"--iterations", "2", "--mode", "verify-fix"});
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(Summary()["verdict"], "NOT_REPRODUCED");
  EXPECT_EQ(Summary()["counts"]["not_reproduced"], 2);
  EXPECT_THAT(first.out, HasSubstr("comment for the issue (not posted"));
  EXPECT_EQ(github_.issue_requests(), 1);
  EXPECT_TRUE(github_.comments().empty());
  // The same issue again: GitHub is not asked (the cache has it), unless --refresh.
  fs::remove_all(dir_.File("results"));
  RunResult second = Confirm({"--iterations", "1", "--mode", "regression", "--refresh"});
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(github_.issue_requests(), 2);
  EXPECT_EQ(Launches().second, 3);
}

// Through a coordinator on another machine (its results on a filesystem only it sees):
// the iterations' evidence is copied here, so the report shows each iteration's frames.
TEST_F(ConfirmTest, ThroughACoordinatorOnAnotherMachineTheReportHasTheFrames) {
  WriteConfig(/*fixed_build=*/false);
  WriteScenario(BugScenario(StateFile(), "Save"));
  ElsewhereDeployment deployment(dir_.File("coordinator-host"));
  ASSERT_EQ(deployment.error, "");
  std::vector<std::string> args = {"--iterations", "2"};
  for (const std::string& flag : deployment.Connection()) args.push_back(flag);
  RunResult result = Confirm(args, kServiceEnv);
  EXPECT_EQ(result.exit_code, 5) << result.out << result.err;  // one of two reproduced
  EXPECT_FALSE(fs::exists(deployment.remote_results()));
  json summary = Summary();
  ASSERT_TRUE(summary.is_object()) << result.out << result.err;
  ASSERT_EQ(summary["vms"].size(), 1u);
  ASSERT_EQ(summary["vms"][0]["iterations"].size(), 2u);
  for (const json& it : summary["vms"][0]["iterations"]) {
    EXPECT_NE(it["precondition_frame"], "") << it.dump();
    ASSERT_NE(it["bug_signal_frame"], "") << it.dump();
    EXPECT_TRUE(fs::exists(EvidenceDir() + "/" + it["bug_signal_frame"].get<std::string>()));
  }
  EXPECT_EQ(summary["vms"][0]["environment"]["display_server"], "x11");
  // Odd launches of the app are buggy: the first iteration's frame shows the bug.
  const std::string report = ReadFileOrEmpty(EvidenceDir() + "/report.md");
  EXPECT_THAT(report, HasSubstr("![bug signal](frames/local-iteration-01-bug-signal.png)"));
  EXPECT_THAT(report, HasSubstr(dir_.File("results/functional/")));
}

TEST_F(ConfirmTest, APreconditionThatNeverHoldsIsInconclusiveNotNotReproduced) {
  WriteConfig(/*fixed_build=*/false);
  WriteScenario(BugScenario(StateFile(), "Publish"));  // there is no such button
  RunResult result = Confirm({"--iterations", "2", "--mode", "verify-fix"});
  EXPECT_EQ(result.exit_code, 6) << result.out << result.err;
  json summary = Summary();
  EXPECT_EQ(summary["verdict"], "INCONCLUSIVE");
  EXPECT_EQ(summary["counts"]["precondition_not_met"], 2);
  EXPECT_EQ(summary["counts"]["not_reproduced"], 0);
  EXPECT_THAT(summary["vms"][0]["iterations"][0]["reason"].get<std::string>(),
              HasSubstr("precondition not met: the precondition did not hold"));
  // The steps after the precondition never ran: Save was never pressed.
  EXPECT_FALSE(fs::exists(StateFile() + ".error"));
}

TEST_F(ConfirmTest, WhatIsWrongBeforeAnythingRunsIsSaidWithItsExitCode) {
  WriteConfig(false);
  WriteScenario(BugScenario(StateFile(), "Save"));
  auto run = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), BuiltBinary("cli/mosdat"));
    return RunCommand(argv, {{"GH_TOKEN", kToken}, {"BAD_TOKEN", "nope"}});
  };
  const std::vector<std::string> common = {"--config",     dir_.File("config.toml"),
                                           "--github-api", github_.api_url(),
                                           "--cache-dir",  dir_.File("cache")};
  auto with = [&](std::vector<std::string> head) {
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  RunResult bad_ref = run(with({"confirm", "notes#7"}));
  EXPECT_EQ(bad_ref.exit_code, 2);
  EXPECT_THAT(bad_ref.err, HasSubstr("is not a GitHub issue: write owner/repo#NUMBER"));
  RunResult unknown =
      run(with({"confirm", "acme/notes#8", "--scenario", dir_.File("scenarios/issues/7.yaml")}));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("GitHub has no issue acme/notes#8 (or it is private"));
  RunResult refused = run(with({"confirm", "acme/notes#7", "--github-token", "env:BAD_TOKEN"}));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("GitHub refused the token (401)"));
  EXPECT_THAT(refused.err, ::testing::Not(HasSubstr("nope")));  // never the secret
  RunResult no_token = run(with({"confirm", "acme/notes#7", "--post"}));
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_THAT(no_token.err, HasSubstr("--post needs --github-token"));
  RunResult no_scenario = run(with({"confirm", "acme/notes#9"}));
  EXPECT_EQ(no_scenario.exit_code, 2);
  EXPECT_THAT(no_scenario.err, HasSubstr("no scenario for issue 9: looked at"));
  std::ofstream(dir_.File("plain.yaml")) << "steps:\n  - key: a\n";
  RunResult not_a_bug =
      run(with({"confirm", "acme/notes#7", "--scenario", dir_.File("plain.yaml")}));
  EXPECT_EQ(not_a_bug.exit_code, 3);
  EXPECT_THAT(not_a_bug.err, HasSubstr("mosdat confirm runs bug scenarios: add \"bug_signal\""));
  std::ofstream(dir_.File("broken.yaml")) << "bug_signal: {shel: x}\nsteps:\n  - key: a\n";
  RunResult broken = run(with({"confirm", "acme/notes#7", "--scenario", dir_.File("broken.yaml")}));
  EXPECT_EQ(broken.exit_code, 3);
  EXPECT_THAT(broken.err, HasSubstr("broken.yaml:1:14: bug_signal.shel: unknown condition"));
  RunResult cleartext = run({"confirm", "acme/notes#7", "--config", dir_.File("config.toml"),
                             "--github-api", "http://example.org"});
  EXPECT_EQ(cleartext.exit_code, 2);
  EXPECT_THAT(cleartext.err, HasSubstr("use https://"));
  EXPECT_EQ(github_.invalid_requests(), 0) << ::testing::PrintToString(github_.invalid_reasons());
}

TEST(GitHubClientTest, ARateLimitSaysWhenItResetsAndABadAnswerIsNotAnIssue) {
  GitHubStandIn github(kToken);
  github.AddIssue("acme/notes", 7, "t", "b", {});
  GitHubOptions options{.api_url = github.api_url()};
  absl::StatusOr<GitHubIssue> issue = FetchIssue(options, {"acme", "notes", 7});
  ASSERT_TRUE(issue.ok()) << issue.status();
  EXPECT_EQ(issue->url, "https://github.com/acme/notes/issues/7");
  github.SpendRateLimit();
  issue = FetchIssue(options, {"acme", "notes", 7});
  EXPECT_EQ(issue.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(issue.status().message()),
              HasSubstr("GitHub's rate limit is spent; it resets at "));
  EXPECT_THAT(std::string(issue.status().message()), HasSubstr("give a token"));
  // Nobody listening: unreachable, not "no such issue".
  options.api_url = "http://127.0.0.1:1";
  EXPECT_EQ(FetchIssue(options, {"acme", "notes", 7}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(github.invalid_requests(), 0);
}

}  // namespace
}  // namespace mosdat::testing

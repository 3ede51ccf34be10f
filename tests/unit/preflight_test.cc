// Tests for preflight: what a run would trip on is reported before anything starts,
// at the place to fix it (the step's file:line:column, the config key), and secret
// values are never printed.
#include "core/preflight.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

class PreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("preflight-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "refs");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  // A config with one local VM and one test per scenario name given, plus `extra`.
  std::string Config(const std::vector<std::string>& scenarios, const std::string& extra = "") {
    std::string toml =
        "[app]\nname = \"t\"\nbinary = \"/bin/true\"\n\n[[vm]]\nname = \"local\"\n"
        "provider = \"local\"\n";
    absl::StrAppend(&toml, extra);
    for (const std::string& s : scenarios) {
      absl::StrAppend(&toml, "\n[[test]]\nname = \"", s, "\"\nscenario = \"", s, ".yaml\"\n");
    }
    Write("c.toml", toml);
    return (dir_ / "c.toml").string();
  }

  PreflightReport Run(const std::string& config, std::vector<std::string> tests = {}) {
    return RunPreflight({.config_path = config, .tests = std::move(tests)});
  }

  static std::string Problems(const PreflightReport& report) {
    std::vector<std::string> lines;
    for (const Diagnostic& d : report.problems.items()) lines.push_back(d.ToString());
    return absl::StrJoin(lines, "\n");
  }

  fs::path dir_;
};

TEST_F(PreflightTest, MissingReferenceImageIsReportedAtItsStep) {
  Write("a.yaml", "name: a\nsteps:\n  - key: enter\n  - visual: {reference: refs/missing.png}\n");
  PreflightReport report = Run(Config({"a"}));
  EXPECT_NE(Problems(report).find(absl::StrCat(
                (dir_ / "a.yaml").string(), ":4:5: reference image \"",
                (dir_ / "refs/missing.png").string(), "\" does not exist; capture it")),
            std::string::npos)
      << Problems(report);
}

TEST_F(PreflightTest, StepsThatNeedAVlmWithoutOneAreReported) {
  Write("a.yaml", "name: a\nsteps:\n  - verify: Is it open?\n");
  EXPECT_NE(Problems(Run(Config({"a"}))).find(":3:5: verify needs a vision-language model"),
            std::string::npos);
}

TEST_F(PreflightTest, UnsetApiKeyIsNamedNeverPrinted) {
  Write("a.yaml", "name: a\nsteps:\n  - verify: Is it open?\n");
  const std::string vlm =
      "\n[vlm]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n"
      "api_key = \"env:MOSDAT_PREFLIGHT_TEST_KEY\"\n";
  unsetenv("MOSDAT_PREFLIGHT_TEST_KEY");
  std::string problems = Problems(Run(Config({"a"}, vlm)));
  EXPECT_NE(problems.find("vlm.api_key: the model's API key (environment variable "
                          "MOSDAT_PREFLIGHT_TEST_KEY) is needed by this run"),
            std::string::npos)
      << problems;
  setenv("MOSDAT_PREFLIGHT_TEST_KEY", "s3cr3t-value", 1);
  PreflightReport report = Run(Config({"a"}, vlm));
  EXPECT_TRUE(report.ok()) << Problems(report);
  EXPECT_EQ(Problems(report).find("s3cr3t"), std::string::npos);
  unsetenv("MOSDAT_PREFLIGHT_TEST_KEY");
}

TEST_F(PreflightTest, ProxmoxVmWithoutSshIsReportedBeforeAnythingStarts) {
  Write("a.yaml",
        "name: a\nsteps:\n  - key: enter\n  - shell: \"true\"\n  - atspi: {role: push "
        "button, name: OK}\n");
  std::string toml =
      "[app]\nname = \"t\"\nbinary = \"/bin/true\"\n\n[proxmox]\nhost = \"pve\"\nuser = "
      "\"root@pam!m\"\ntoken = \"env:X\"\nnode = \"pve\"\n\n[[vm]]\nname = \"far\"\nvmid = 100\n\n"
      "[[test]]\nname = \"a\"\nscenario = \"a.yaml\"\n";
  Write("c.toml", toml);
  std::string problems = Problems(Run((dir_ / "c.toml").string()));
  EXPECT_NE(problems.find(":4:5: shell needs SSH into VM \"far\" (2 steps do), but its [[vm]] "
                          "table at"),
            std::string::npos)
      << problems;
  // The address comes from the guest agent; the login user cannot.
  EXPECT_NE(problems.find("has no user; set user"), std::string::npos) << problems;
  // The API secret the bridge needs is named (never printed) before anything starts.
  EXPECT_NE(problems.find("vm[0]: VM \"far\" is reached through Proxmox VE at pve, whose token "
                          "(environment variable X) is needed by this run"),
            std::string::npos)
      << problems;
}

TEST_F(PreflightTest, TypingOffTheKeyboardMapNeedsSshButAsciiDoesNot) {
  std::string toml =
      "[app]\nname = \"t\"\nbinary = \"/bin/true\"\n\n[proxmox]\nhost = \"pve\"\nuser = "
      "\"root@pam!m\"\ntoken = \"env:X\"\nnode = \"pve\"\n\n[[vm]]\nname = \"far\"\nvmid = 100\n\n"
      "[[test]]\nname = \"a\"\nscenario = \"a.yaml\"\n";
  Write("c.toml", toml);
  Write("a.yaml", "name: a\nsteps:\n  - type: \"plain ASCII\\tand a tab\"\n");
  std::string ascii = Problems(Run((dir_ / "c.toml").string()));
  EXPECT_EQ(ascii.find("needs SSH"), std::string::npos) << ascii;
  Write("a.yaml", "name: a\nsteps:\n  - type: \"plain ASCII\"\n  - type: \"café\"\n");
  std::string accented = Problems(Run((dir_ / "c.toml").string()));
  EXPECT_NE(accented.find(":4:5: type needs SSH into VM \"far\""), std::string::npos) << accented;
}

// `mosdat test` and `run` check smoke tests (the app must be there); `functional`
// (smoke_tests = false) skips them, visibly, or refuses them by name.
TEST_F(PreflightTest, SmokeTestsAreCheckedOrSkippedByCommand) {
  Write("a.yaml", "name: a\nsteps:\n  - key: enter\n");
  std::string config = Config({"a"}, "\n[[test]]\nname = \"smoke\"\nvariant = \"x11\"\n");
  PreflightReport all = Run(config);
  EXPECT_TRUE(all.ok()) << Problems(all);
  ASSERT_EQ(all.tests.size(), 2u);
  // The extra table comes first in the file.
  EXPECT_EQ(all.tests[0].name, "smoke");
  EXPECT_FALSE(all.tests[0].skipped);
  EXPECT_TRUE(all.tests[0].ok);
  EXPECT_EQ(all.tests[0].vms, std::vector<std::string>{"local"});
  EXPECT_EQ(all.job_files.size(), 2u);  // the config and a.yaml; a smoke test needs no file

  PreflightReport functional = RunPreflight({.config_path = config, .smoke_tests = false});
  EXPECT_TRUE(functional.ok()) << Problems(functional);
  EXPECT_TRUE(functional.tests[0].skipped);
  EXPECT_EQ(functional.tests[0].note,
            "skipped: smoke tests (variant = \"x11\") run with `mosdat test` or `mosdat run`");
  PreflightReport named =
      RunPreflight({.config_path = config, .tests = {"smoke"}, .smoke_tests = false});
  EXPECT_NE(Problems(named).find("test \"smoke\": smoke tests (variant = \"x11\") run with "
                                 "`mosdat test` or `mosdat run`; leave it out of --test"),
            std::string::npos)
      << Problems(named);

  // The app must be on this machine for a local VM.
  Write("c.toml",
        "[app]\nname = \"t\"\nbinary = \"/nonexistent/app\"\n\n[[vm]]\nname = \"local\"\n"
        "provider = \"local\"\n\n[[test]]\nname = \"smoke\"\nvariant = \"x11\"\n");
  EXPECT_NE(Problems(Run(config)).find("\"/nonexistent/app\" is not an executable"),
            std::string::npos)
      << Problems(Run(config));
}

TEST_F(PreflightTest, InvalidUtf8InAScenarioIsAConfigProblem) {
  Write("a.yaml", "name: a\nsteps:\n  - type: \"caf\xe9\"\n");
  EXPECT_NE(Problems(Run(Config({"a"}))).find("a.yaml:3:15: the file is not valid UTF-8"),
            std::string::npos);
}

TEST_F(PreflightTest, InvalidUtf8InTheConfigIsAConfigProblem) {
  Write("c.toml", "[app]\nname = \"t\xff\"\n");
  std::string problems = Problems(Run((dir_ / "c.toml").string()));
  EXPECT_NE(problems.find("c.toml:2:"), std::string::npos) << problems;
}

TEST_F(PreflightTest, JobFilesPastTheLimitAreReportedWithTheLargest) {
  Write("a.yaml", absl::StrCat("name: a\ndescription: ", std::string(5000, 'd'),
                               "\nsteps:\n  - key: enter\n"));
  PreflightOptions options{.config_path = Config({"a"}), .max_job_files_bytes = 4096};
  PreflightReport report = RunPreflight(options);
  EXPECT_NE(Problems(report).find("more than the limit of 4.0 KiB; largest: "), std::string::npos)
      << Problems(report);
  options.max_job_files_bytes = kMaxJobFilesBytes;
  report = RunPreflight(options);
  EXPECT_TRUE(report.ok()) << Problems(report);
  EXPECT_EQ(report.job_files.size(), 2u);  // the config and the scenario
}

// The original mOSdat's `--test NAME`: with no [[test]] NAME, NAME.yaml from the tests
// folder (the VM's sub-folder, then `linux`, then the folder itself) runs, and the file
// travels with the run.
TEST_F(PreflightTest, ATestNameWithoutATestRunsTheScenarioFileOfTheTestsFolder) {
  fs::create_directories(dir_ / "tests/linux");
  Write("tests/linux/login.yaml", "name: login\nsteps:\n  - key: enter\n");
  Write("tests/login.yaml", "name: not this one\nsteps:\n  - key: enter\n");
  const std::string config = Config({"a"}, "\n[functional]\ntests_dir = \"tests\"\n");
  Write("a.yaml", "name: a\nsteps:\n  - key: enter\n");
  PreflightReport report = Run(config, {"login"});
  ASSERT_TRUE(report.ok()) << Problems(report) << absl::StrJoin(report.usage_errors, "\n");
  ASSERT_EQ(report.tests.size(), 1u);
  EXPECT_EQ(report.tests[0].name, "login");
  EXPECT_EQ(report.tests[0].scenario_path, (dir_ / "tests/linux/login.yaml").string());
  EXPECT_EQ(report.tests[0].vms, (std::vector<std::string>{"local"}));
  EXPECT_TRUE(report.job_files.contains((dir_ / "tests/linux/login.yaml").string()));

  // Found nowhere: a usage error naming the places and the [[test]]s, not a config problem.
  report = Run(config, {"logout"});
  EXPECT_TRUE(report.problems.empty()) << Problems(report);
  const std::string tests = (dir_ / "tests").string();
  EXPECT_EQ(absl::StrJoin(report.usage_errors, "\n"),
            absl::StrCat("--test \"logout\": no [[test]] is named so ([[test]] names: a), and no "
                         "scenario file logout.yaml was found for VM \"local\" (looked at: ",
                         tests, "/local/logout.yaml, ", tests, "/linux/logout.yaml, ", tests,
                         "/logout.yaml)"));
}

// The original's smoke tests (`script`) run as the variant their name gives; a name
// that gives none is a config problem.
TEST_F(PreflightTest, OriginalSmokeScriptsRunAsTheirVariant) {
  Write("a.yaml", "name: a\nsteps:\n  - key: enter\n");
  std::string config =
      Config({"a"}, "\n[[test]]\nname = \"x11\"\ngpu = true\nscript = \"test-x11.sh\"\n");
  PreflightReport all = Run(config);
  EXPECT_TRUE(all.ok()) << Problems(all);
  ASSERT_EQ(all.tests.size(), 2u);
  EXPECT_FALSE(all.tests[0].skipped);
  config = Config({"a"}, "\n[[test]]\nname = \"mine\"\nscript = \"mine.sh\"\n");
  EXPECT_NE(Problems(Run(config)).find("cannot tell the smoke variant of script \"mine.sh\""),
            std::string::npos)
      << Problems(Run(config));
}

// Warnings (what is accepted but has no effect) never make preflight fail.
TEST_F(PreflightTest, WarningsAreReportedWithoutFailing) {
  Write("a.yaml", "name: a\nsteps:\n  - key: enter\n");
  PreflightReport report = Run(Config({"a"}, "\n[cursor]\nprofile = \"bezier\"\n"));
  EXPECT_TRUE(report.ok()) << Problems(report);
  ASSERT_EQ(report.problems.warnings().size(), 1u);
  EXPECT_NE(report.problems.warnings()[0].ToString().find(
                ": cursor: [cursor] profile = \"bezier\" is read but"),
            std::string::npos);
}

}  // namespace
}  // namespace mosdat

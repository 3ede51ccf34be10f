// The pages in a real browser: Debian's chromium, headless, driven by playwright-core
// (tests/browser/pages.mjs) the way a person uses them. In the Author Workbench of a
// real `mosdat live` over a real local desktop: log in (a wrong token refused), open a
// session, see the screen live, click a check button on it (refused until confirmed)
// and see it change, append the step (named by its accessible target), add, move and
// delete steps, describe what is under the pointer, validate and download the YAML.
// `mosdat functional` runs the download to a pass; the job's trace viewer and the
// history site open from disk, show the steps, candidates and pointer, and link up.
//
// The runs page of the same `mosdat live` follows a `mosdat functional` run into the
// same results directory as it goes: the running step, then the verdicts, the failed
// step with its reason and frame, and the job's trace, served behind the login.
//
// MOSDAT_README_SHOTS=DIR keeps the pages' screenshots there (docs/images/ holds the
// README's).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/integration/live_fixture.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

class WorkbenchBrowserTest : public LiveServerTest {
 protected:
  std::string ExtraConfig() override {
    return "[[test]]\nname = \"steady\"\nscenario = \"steady.yaml\"\n\n"
           "[[test]]\nname = \"broken\"\nscenario = \"broken.yaml\"\n\n";
  }
};

TEST_F(WorkbenchBrowserTest, AuthorInTheBrowserRunTheExportAndOpenItsTrace) {
  ASSERT_TRUE(std::filesystem::exists(SourcePath("tests/browser/node_modules/playwright-core")))
      << "playwright-core is not installed: run deploy/install-deps.sh";
  RunResult workbench = Pages({"workbench"});
  ASSERT_EQ(workbench.exit_code, 0) << workbench.err << workbench.out;
  const std::string yaml = ReadFileOrEmpty(dir_.File("authored.yaml"));
  EXPECT_THAT(yaml, HasSubstr("atspi"));
  EXPECT_THAT(yaml, HasSubstr("checkbutton"));

  RunResult run = RunCommand(
      {BuiltBinary("cli/mosdat"), "functional", "--config", config_, "--test", "authored"}, {},
      std::chrono::seconds(180));
  ASSERT_EQ(run.exit_code, 0) << yaml << run.out << run.err;

  std::string trace;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir_.File("results/functional"))) {
    if (entry.path().filename() == "trace.html") trace = entry.path().string();
  }
  ASSERT_FALSE(trace.empty());
  RunResult opened = Pages({"trace", trace});
  EXPECT_EQ(opened.exit_code, 0) << opened.err << opened.out;

  RunResult site = RunCommand({BuiltBinary("cli/mosdat"), "dashboard", "--results",
                               dir_.File("results"), "--out", dir_.File("site")});
  ASSERT_EQ(site.exit_code, 0) << site.err;
  RunResult browsed = Pages({"site", dir_.File("site/index.html")});
  EXPECT_EQ(browsed.exit_code, 0) << browsed.err << browsed.out;
}

TEST_F(WorkbenchBrowserTest, TheRunsPageFollowsARunAsItGoes) {
  ASSERT_TRUE(std::filesystem::exists(SourcePath("tests/browser/node_modules/playwright-core")))
      << "playwright-core is not installed: run deploy/install-deps.sh";
  std::ofstream(dir_.File("steady.yaml"))
      << "name: steady\nsteps:\n  - wait: 3\n    label: warm up\n  - wait: 3\n"
         "    label: look around\n  - shell: \"true\"\n";
  std::ofstream(dir_.File("broken.yaml"))
      << "name: broken\nsteps:\n  - wait: 2\n  - shell: \"exit 3\"\n"
         "    label: the app's self-check\n";
  absl::StatusOr<Process> run =
      Process::Spawn({.argv = {BuiltBinary("cli/mosdat"), "functional", "--config", config_,
                               "--test", "steady", "--test", "broken"},
                      .env = CurrentEnvironment(),
                      .stdout_path = dir_.File("run.out"),
                      .stderr_path = dir_.File("run.err")});
  ASSERT_TRUE(run.ok()) << run.status();
  RunResult page = Pages({"runs"});
  std::optional<ExitStatus> ended = run->Wait(absl::Seconds(240));
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->exit_code, 1) << ReadFileOrEmpty(dir_.File("run.err"));  // a test failed
  EXPECT_EQ(page.exit_code, 0) << page.err << page.out;
}

}  // namespace
}  // namespace mosdat::testing

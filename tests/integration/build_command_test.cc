// `mosdat build` end to end: the real binary builds a fixture git repository (created
// here, cloned over file://) at a branch, a commit and a "pull request" ref, with a
// build script making a real .deb (dpkg-deb) and a .tar.gz; then the cache, a tampered
// cached artifact, a failing build, a glob matching nothing and an unknown ref; and
// `build` installing into the local VM with [verify] on the installed copy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "tests/fixtures/build_fixture.h"
#include "tests/integration/dpkg_test_package.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

class BuildCommandTest : public ::testing::Test {
 protected:
  BuildCommandTest() : repo_(dir_.File("fixture")) {}

  // A config building the fixture; `extra_build` is added to its [build] table.
  std::string WriteConfig(const std::string& build_lines, const std::string& name = "mosdat.toml") {
    std::string text = "[app]\nname = \"mosdat-fixture-app\"\n\n[build]\nrepo = \"" + repo_.url() +
                       "\"\n" + build_lines + "\n[build.env]\nFIXTURE_COUNTER = \"" +
                       repo_.counter() + "\"\n\n[report]\noutput_dir = \"" + dir_.File("results") +
                       "\"\n";
    std::ofstream(dir_.File(name)) << text;
    return dir_.File(name);
  }
  std::string DefaultConfig() {
    return WriteConfig(
        "ref = \"main\"\ncommands = [\"sh build.sh\"]\n"
        "artifacts = [\"dist/*.deb\", \"dist/*.tar.gz\"]\n");
  }

  RunResult Build(const std::string& config, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        BuiltBinary("cli/mosdat"), "build", "--config", config, "--build-dir",
        dir_.File("build-dir")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, {}, std::chrono::seconds(180));
  }

  // The results folder the last run printed ("results: DIR").
  static std::string ResultsDir(const RunResult& result) {
    const std::string text = result.out + result.err;
    size_t at = text.rfind("results: ");
    if (at == std::string::npos) return "";
    size_t end = text.find('\n', at);
    return text.substr(at + 9, end - at - 9);
  }

  TempDir dir_;
  BuildFixtureRepo repo_;
};

TEST_F(BuildCommandTest, BuildsABranchThenServesTheSameCommitFromTheCache) {
  std::string commit = repo_.CommitVersion("1.0");
  std::string config = DefaultConfig();
  RunResult first = Build(config);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("built: ref \"main\" at " + commit));
  EXPECT_THAT(first.err, HasSubstr("build: | building mosdat-fixture-app 1.0"));  // progress
  // The artifacts table: file, format, size, sha256.
  EXPECT_THAT(first.out, ::testing::ContainsRegex("FILE +FORMAT +SIZE +SHA256"));
  EXPECT_THAT(first.out, ::testing::ContainsRegex(
                             "mosdat-fixture-app_1.0_all.deb +deb +[0-9.]+ (B|KiB) +[0-9a-f]{64}"));
  EXPECT_THAT(first.out, ::testing::ContainsRegex("mosdat-fixture-app-1.0.tar.gz +tar "));

  std::string results = ResultsDir(first);
  ASSERT_TRUE(fs::is_directory(results)) << results;
  EXPECT_EQ(fs::path(results).parent_path(), fs::path(dir_.File("results")));
  EXPECT_THAT(ReadFileOrEmpty(results + "/build.log"), HasSubstr("building mosdat-fixture-app"));
  nlohmann::json manifest = nlohmann::json::parse(ReadFileOrEmpty(results + "/manifest.json"));
  EXPECT_EQ(manifest["commit"], commit);
  EXPECT_EQ(manifest["from_cache"], false);
  ASSERT_THAT(manifest["artifacts"], SizeIs(2));
  for (const auto& artifact : manifest["artifacts"]) {
    std::string path = artifact["path"];
    absl::StatusOr<CommandResult> sum =
        mosdat::RunCommand({"sha256sum", path}, CurrentEnvironment(), absl::Seconds(30));
    ASSERT_TRUE(sum.ok());
    EXPECT_EQ(sum->out.substr(0, 64), artifact["sha256"]) << path;  // an independent hash
  }

  RunResult second = Build(config);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_THAT(second.out, HasSubstr("from cache: ref \"main\" at " + commit));
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("1.0"));  // the script ran once
  std::string second_results = ResultsDir(second);
  EXPECT_NE(second_results, results);
  EXPECT_THAT(ReadFileOrEmpty(second_results + "/build.log"), HasSubstr("building"));

  // A tampered cached artifact is rebuilt.
  std::string cached = manifest["artifacts"][1]["path"];
  ASSERT_THAT(cached, HasSubstr(dir_.File("build-dir")));
  std::ofstream(cached, std::ios::app) << "tampered";
  RunResult third = Build(config);
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_THAT(third.out, HasSubstr("built: "));
  EXPECT_THAT(third.err, HasSubstr("changed size"));
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("1.0", "1.0"));

  // --no-cache builds again.
  RunResult forced = Build(config, {"--no-cache"});
  ASSERT_EQ(forced.exit_code, 0) << forced.out << forced.err;
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("1.0", "1.0", "1.0"));
}

TEST_F(BuildCommandTest, BuildsACommitAndAPullRequestHead) {
  std::string first = repo_.CommitVersion("1.0");
  repo_.CommitVersion("1.1");
  repo_.Git({"checkout", "-q", "-b", "feature"});
  std::string pr_head = repo_.CommitVersion("2.0~pr7");
  repo_.Git({"checkout", "-q", "main"});
  ASSERT_EQ(repo_.Git({"update-ref", "refs/pull/7/head", pr_head}), "") << repo_.last_error;
  repo_.Git({"branch", "-D", "feature"});
  std::string config = DefaultConfig();

  RunResult at_commit = Build(config, {"--ref", first});
  ASSERT_EQ(at_commit.exit_code, 0) << at_commit.out << at_commit.err;
  EXPECT_THAT(at_commit.out, HasSubstr(" at " + first));
  EXPECT_THAT(at_commit.out, HasSubstr("mosdat-fixture-app_1.0_all.deb"));

  RunResult pr = Build(config, {"--pr", "7"});
  ASSERT_EQ(pr.exit_code, 0) << pr.out << pr.err;
  EXPECT_THAT(pr.out, HasSubstr("built: pull request 7 at " + pr_head));
  EXPECT_THAT(pr.out, HasSubstr("mosdat-fixture-app_2.0~pr7_all.deb"));
  EXPECT_THAT(pr.out, Not(HasSubstr("_1.0_all.deb")));  // the earlier build's are gone
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("1.0", "2.0~pr7"));

  RunResult both = Build(config, {"--pr", "7", "--ref", "main"});
  EXPECT_EQ(both.exit_code, 2);
}

TEST_F(BuildCommandTest, AFailingBuildIsAnInfrastructureErrorWithTheLogTail) {
  repo_.CommitVersion("1.0");
  std::string config = WriteConfig(
      "commands = [\"sh build.sh\", \"echo compiling widgets; echo 'error: widget 42 exploded' "
      ">&2; exit 3\"]\nartifacts = [\"dist/*.deb\"]\n");
  RunResult result = Build(config);
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;  // not 1: no test failed
  EXPECT_THAT(result.err, HasSubstr("failed with exit code 3"));
  EXPECT_THAT(result.err, HasSubstr("error: widget 42 exploded"));
  std::string results = ResultsDir(result);
  EXPECT_THAT(ReadFileOrEmpty(results + "/build.log"), HasSubstr("widget 42 exploded"));
  EXPECT_FALSE(fs::exists(results + "/manifest.json"));
  // Nothing half-built is cached: the next run builds again (and fails again).
  EXPECT_EQ(Build(config).exit_code, 4);
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("1.0", "1.0"));
}

TEST_F(BuildCommandTest, AGlobMatchingNothingIsAConfigErrorNamingIt) {
  repo_.CommitVersion("1.0");
  std::string config =
      WriteConfig("commands = [\"sh build.sh\"]\nartifacts = [\"dist/*.deb\", \"dist/*.rpm\"]\n");
  RunResult result = Build(config);
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr(config + ":4:1: build.artifacts"));
  EXPECT_THAT(result.err, HasSubstr("\"dist/*.rpm\" matched no file"));
  EXPECT_THAT(result.err, HasSubstr("mosdat-fixture-app_1.0_all.deb"));
}

TEST_F(BuildCommandTest, AnUnknownRefIsAClearConfigError) {
  repo_.CommitVersion("1.0");
  std::string config = DefaultConfig();
  RunResult result = Build(config, {"--ref", "no-such-branch"});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("no-such-branch"));
  EXPECT_THAT(result.err, HasSubstr(repo_.url()));
  EXPECT_TRUE(repo_.Builds().empty());

  // In the config, it is placed at [build].
  std::string bad = WriteConfig(
      "ref = \"v9.9\"\ncommands = [\"sh build.sh\"]\nartifacts = [\"dist/*.deb\"]\n", "bad.toml");
  RunResult from_config = Build(bad);
  EXPECT_EQ(from_config.exit_code, 3) << from_config.err;
  EXPECT_THAT(from_config.err, HasSubstr(bad + ":4:1: build.ref"));
  EXPECT_THAT(from_config.err, HasSubstr("v9.9"));
}

// `mosdat run` end to end: the build at a pull request head, then its .deb installed
// in the local VM through its sshd with the real apt-get before every job, then a smoke
// variant running the installed program and a functional scenario checking it prints
// the version that was built.
TEST_F(BuildCommandTest, RunBuildsInstallsAndTestsThePullRequest) {
  DpkgTestPackage package("mosdat-test-built");
  repo_.CommitVersion("1.0");
  repo_.Git({"checkout", "-q", "-b", "feature"});
  repo_.CommitVersion("2.0");
  repo_.Git({"update-ref", "refs/pull/7/head", "HEAD"});
  repo_.Git({"checkout", "-q", "main"});
  // The fixture's program is a command-line one: the scenario brings its own window.
  std::ofstream(dir_.File("installed.yaml"))
      << "name: installed\nsteps:\n"
      << "  - launch: {command: gtk3-widget-factory, app: gtk3-widget-factory, timeout: 60}\n"
      << "  - shell: 'test \"$(" << package.name() << ")\" = \"fixture 2.0\"'\n";
  const std::string config = dir_.File("run.toml");
  std::ofstream(config) << "[app]\nname = \"" << package.name() << "\"\nbinary = \"/usr/bin/"
                        << package.name()
                        << "\"\nversion = \"2.0\"\ntimeout = 5\n\n[build]\nrepo = \"" << repo_.url()
                        << "\"\nref = \"main\"\ncommands = [\"sh build.sh\"]\n"
                        << "artifacts = [\"dist/*.deb\", \"dist/*.tar.gz\"]\n[build.env]\n"
                        << "FIXTURE_COUNTER = \"" << repo_.counter() << "\"\nFIXTURE_NAME = \""
                        << package.name()
                        << "\"\n\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
                        << "[[vm.package]]\nformat = \"deb\"\n\n"
                        << "[[test]]\nname = \"x11\"\nvariant = \"x11\"\n"
                        << "[[test]]\nname = \"installed\"\nscenario = \"installed.yaml\"\n\n"
                        << "[report]\noutput_dir = \"" << dir_.File("results") << "\"\n";
  RunResult run = RunCommand({BuiltBinary("cli/mosdat"), "run", "--config", config, "--pr", "7",
                              "--build-dir", dir_.File("build-dir")},
                             {}, std::chrono::seconds(300));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("2.0"));
  EXPECT_THAT(run.out, HasSubstr("package " + package.name() + "_2.0_all.deb ("));
  EXPECT_THAT(run.out, Not(HasSubstr(".tar.gz (")));  // no [[vm.package]] takes it: not sent
  EXPECT_THAT(run.out, ::testing::ContainsRegex("pass +x11 on local \\(x11\\) +0 "));
  EXPECT_THAT(run.out, ::testing::ContainsRegex("pass +installed on local "));
  EXPECT_TRUE(package.Installed());

  // A build that cannot happen tests nothing.
  RunResult broken = RunCommand({BuiltBinary("cli/mosdat"), "run", "--config", config, "--ref",
                                 "no-such-branch", "--build-dir", dir_.File("build-dir")},
                                {}, std::chrono::seconds(120));
  EXPECT_EQ(broken.exit_code, 3) << broken.out << broken.err;  // an unknown ref: the config's
  EXPECT_THAT(broken.err, HasSubstr("the build failed, so nothing was tested"));
  EXPECT_THAT(broken.out, Not(HasSubstr("job(s)")));
}

// `mosdat build` installs what it built in each VM whose [[vm.package]] takes it (an
// install job through the embedded coordinator) and runs [verify] on the installed
// copy: the app.asar the deb put into /opt is read back from the VM.
TEST_F(BuildCommandTest, BuildInstallsIntoTheVmsAndChecksTheInstalledCopy) {
  DpkgTestPackage package("mosdat-test-built");
  repo_.CommitVersion("1.0");
  repo_.Git({"checkout", "-q", "-b", "feature"});
  repo_.CommitVersion("2.0");
  repo_.Git({"update-ref", "refs/pull/7/head", "HEAD"});
  repo_.Git({"checkout", "-q", "main"});
  auto config_with = [&](const std::string& symbol) {
    const std::string config = dir_.File("build-" + symbol + ".toml");
    std::ofstream(config) << "[app]\nname = \"" << package.name() << "\"\nbinary = \"/usr/bin/"
                          << package.name() << "\"\nversion = \"2.0\"\n\n[build]\nrepo = \""
                          << repo_.url() << "\"\nref = \"main\"\ncommands = [\"sh build.sh\"]\n"
                          << "artifacts = [\"dist/*.deb\", \"dist/*.tar.gz\"]\n[build.env]\n"
                          << "FIXTURE_COUNTER = \"" << repo_.counter() << "\"\nFIXTURE_NAME = \""
                          << package.name() << "\"\nFIXTURE_ASAR = \""
                          << SourcePath("tests/data/asar/app.asar") << "\"\n\n"
                          << "[verify]\nsymbols = [\"" << symbol << "\"]\n\n"
                          << "[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
                          << "[[vm.package]]\nformat = \"deb\"\n\n"
                          << "[report]\noutput_dir = \"" << dir_.File("results") << "\"\n";
    return config;
  };
  RunResult built = Build(config_with("isTelephonyEnabled"), {"--pr", "7"});
  EXPECT_EQ(built.exit_code, 0) << built.out << built.err;
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("2.0"));
  EXPECT_THAT(built.out, HasSubstr("package " + package.name() + "_2.0_all.deb ("));
  EXPECT_THAT(built.out, ::testing::ContainsRegex("pass +install on local "));
  EXPECT_TRUE(package.Installed());

  // The same build (from the cache) lacking a symbol [verify] wants: a test failure.
  RunResult lacking = Build(config_with("notInThisBuild"), {"--pr", "7"});
  EXPECT_EQ(lacking.exit_code, 1) << lacking.out << lacking.err;
  EXPECT_THAT(repo_.Builds(), ::testing::ElementsAre("2.0"));
  EXPECT_THAT(lacking.out, ::testing::ContainsRegex("fail +install on local "));
  EXPECT_THAT(lacking.out + lacking.err, HasSubstr("app.asar contains notInThisBuild"));

  // --no-deploy: built only.
  RunResult only = Build(config_with("notInThisBuild"), {"--pr", "7", "--no-deploy"});
  EXPECT_EQ(only.exit_code, 0) << only.out << only.err;
  EXPECT_THAT(only.out, Not(HasSubstr("job(s)")));
}

TEST_F(BuildCommandTest, AConfigErrorIsExit3WithItsPosition) {
  std::ofstream(dir_.File("broken.toml")) << "[app]\nname = \"x\"\n[build]\nrepo = \"x\"\n";
  RunResult result = Build(dir_.File("broken.toml"));
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr(dir_.File("broken.toml") + ":3:1: build.command"));

  std::ofstream(dir_.File("no-build.toml")) << "[app]\nname = \"x\"\n";
  RunResult no_build = Build(dir_.File("no-build.toml"));
  EXPECT_EQ(no_build.exit_code, 3);
  EXPECT_THAT(no_build.err, HasSubstr("has no [build] table"));
}

}  // namespace
}  // namespace mosdat::testing

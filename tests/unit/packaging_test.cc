// The build phase's parts with real processes: git on a fixture repository (over
// file://), /bin/sh running build commands, dpkg-deb and tar making real packages, and
// the build cache on a real directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/outcome.h"
#include "packaging/artifacts.h"
#include "packaging/build_cache.h"
#include "packaging/build_phase.h"
#include "packaging/build_runner.h"
#include "packaging/git_source.h"
#include "tests/fixtures/build_fixture.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;
using testing::BuildFixtureRepo;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class PackagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "mosdat-packaging-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Path(const std::string& name) const { return (fs::path(root_) / name).string(); }

  // A config building the fixture repository.
  Config FixtureConfig(const BuildFixtureRepo& repo) const {
    Config config;
    config.source_path = Path("mosdat.toml");
    config.app.name = "mosdat-fixture-app";
    BuildConfig build;
    build.repo = repo.url();
    build.ref = "main";
    build.commands = {"sh build.sh"};
    build.artifacts = {"dist/*.deb", "dist/*.tar.gz"};
    build.env = {{"FIXTURE_COUNTER", repo.counter()}};
    build.timeout = 120;
    build.location = {.file = config.source_path, .line = 4, .column = 1};
    config.build = build;
    return config;
  }

  BuildRequest Request(const std::string& log = "build.log") const {
    return BuildRequest{.build_dir = Path("build-dir"), .log_path = Path(log)};
  }

  std::string root_;
};

std::vector<std::string> Names(const std::vector<Artifact>& artifacts) {
  std::vector<std::string> names;
  for (const Artifact& a : artifacts) names.push_back(a.name);
  return names;
}

TEST(RedactUrlCredentialsTest, HidesUserInfoOnly) {
  EXPECT_EQ(RedactUrlCredentials("https://user:s3cret@example.com/a.git"),
            "https://***@example.com/a.git");
  EXPECT_EQ(RedactUrlCredentials("fatal: https://tok@h/x and ssh://git@h2:22/y"),
            "fatal: https://***@h/x and ssh://***@h2:22/y");
  EXPECT_EQ(RedactUrlCredentials("https://example.com/a@b"), "https://example.com/a@b");
  EXPECT_EQ(RedactUrlCredentials("git@github.com:o/r.git"), "git@github.com:o/r.git");
}

TEST(ArtifactFormatTest, RecognisesThePackageFormats) {
  EXPECT_EQ(ArtifactFormatOf("app_1.0_amd64.deb"), "deb");
  EXPECT_EQ(ArtifactFormatOf("app-1.0.x86_64.rpm"), "rpm");
  EXPECT_EQ(ArtifactFormatOf("App-1.0.AppImage"), "appimage");
  EXPECT_EQ(ArtifactFormatOf("app-1.0.tar.gz"), "tar");
  EXPECT_EQ(ArtifactFormatOf("app-1.0.tgz"), "tar");
  EXPECT_EQ(ArtifactFormatOf("app-1.0-1-x86_64.pkg.tar.zst"), "pacman");
  EXPECT_EQ(ArtifactFormatOf("App Setup 1.0.exe"), "exe");
  EXPECT_EQ(ArtifactFormatOf("app.msi"), "msi");
  EXPECT_EQ(ArtifactFormatOf("app.flatpak"), "flatpak");
  EXPECT_EQ(ArtifactFormatOf("app_1.0_amd64.snap"), "snap");
  EXPECT_EQ(ArtifactFormatOf("latest-linux.yml"), "");
  EXPECT_EQ(ArtifactFormatOf(".deb"), "");
}

TEST_F(PackagingTest, Sha256MatchesTheKnownDigest) {
  std::ofstream(Path("abc")) << "abc";
  EXPECT_EQ(*Sha256OfFile(Path("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(PackagingTest, AGlobMatchingNothingNamesItAndListsTheDirectory) {
  fs::create_directories(Path("w/dist"));
  std::ofstream(Path("w/dist/app_1.0_all.deb")) << "deb";
  absl::StatusOr<std::vector<Artifact>> artifacts =
      CollectArtifacts(Path("w"), {"dist/*.deb", "dist/*.snap"});
  ASSERT_FALSE(artifacts.ok());
  EXPECT_EQ(OutcomeOf(artifacts.status()), Outcome::kConfigError);
  EXPECT_THAT(artifacts.status().message(), HasSubstr("\"dist/*.snap\" matched no file"));
  EXPECT_THAT(artifacts.status().message(), HasSubstr("holds: app_1.0_all.deb"));
}

TEST_F(PackagingTest, RunnerStreamsEveryLineAndKeepsTheLog) {
  std::vector<std::string> lines;
  BuildRunOptions options{
      .commands = {"echo one; echo two >&2; printf 'three'", "echo \"dir=$(basename \"$PWD\")\""},
      .workdir = root_,
      .env = {{"PATH", "/usr/bin:/bin"}},
      .log_path = Path("log"),
      .timeout = absl::Seconds(60),
      .on_line = [&](std::string_view line) { lines.emplace_back(line); }};
  ASSERT_TRUE(RunBuildCommands(options).ok());
  EXPECT_THAT(lines,
              ElementsAre(HasSubstr("$ echo one"), "one", "two", "three", HasSubstr("$ echo"),
                          "dir=" + fs::path(root_).filename().string()));
  std::string log = ReadFileOrEmpty(Path("log"));
  EXPECT_THAT(log, HasSubstr("one\ntwo\nthree"));
}

TEST_F(PackagingTest, AFailingCommandNamesItsStatusAndTheLogTail) {
  std::string script =
      "for i in $(seq 1 100); do echo line $i; done; echo 'error: it broke'; exit 3";
  BuildRunOptions options{.commands = {"true", script, "echo never"},
                          .workdir = root_,
                          .env = {{"PATH", "/usr/bin:/bin"}},
                          .log_path = Path("log")};
  absl::Status status = RunBuildCommands(options);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kInfrastructureError);
  EXPECT_THAT(status.message(), HasSubstr("failed with exit code 3"));
  EXPECT_THAT(status.message(), HasSubstr("error: it broke"));
  EXPECT_THAT(status.message(), HasSubstr("line 100"));
  EXPECT_THAT(status.message(), Not(HasSubstr("line 50\n")));  // only the tail
  EXPECT_THAT(status.message(), HasSubstr(Path("log")));
  EXPECT_THAT(ReadFileOrEmpty(Path("log")), Not(HasSubstr("never")));
}

TEST_F(PackagingTest, ATimeoutKillsTheWholeProcessGroup) {
  // The command leaves a background child: the timeout must stop it too.
  BuildRunOptions options{
      .commands = {absl::StrCat("sleep 300 & echo $! > ", Path("pid"), "; wait")},
      .workdir = root_,
      .env = {{"PATH", "/usr/bin:/bin"}},
      .log_path = Path("log"),
      .timeout = absl::Seconds(1)};
  absl::Status status = RunBuildCommands(options);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kInfrastructureError);
  EXPECT_THAT(status.message(), HasSubstr("did not finish within"));
  int pid = std::stoi(ReadFileOrEmpty(Path("pid")));
  ASSERT_GT(pid, 0);
  // Killed and reaped (it was reparented to init, which reaps it): poll with a deadline.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (kill(pid, 0) == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  std::string state = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  EXPECT_TRUE(state.empty() || state.find(") Z") != std::string::npos) << state;
}

TEST_F(PackagingTest, ChecksOutABranchACommitAndAPullRequestHead) {
  BuildFixtureRepo repo(Path("fixture"));
  std::string first = repo.CommitVersion("1.0");
  std::string second = repo.CommitVersion("1.1");
  ASSERT_EQ(repo.Git({"checkout", "-q", "-b", "feature"}), "");
  std::string pr_head = repo.CommitVersion("2.0-pr7");
  ASSERT_EQ(repo.Git({"checkout", "-q", "main"}), "");
  ASSERT_EQ(repo.Git({"update-ref", "refs/pull/7/head", pr_head}), "") << repo.last_error;
  repo.Git({"branch", "-D", "feature"});

  std::vector<std::string> said;
  GitCheckoutRequest request{.repo = repo.url(), .ref = "main", .dir = Path("clone")};
  absl::StatusOr<GitCheckout> main =
      CheckoutGitSource(request, [&](std::string_view line) { said.emplace_back(line); });
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_EQ(main->commit, second);
  EXPECT_EQ(ReadFileOrEmpty(Path("clone/VERSION")), "1.1\n");
  EXPECT_THAT(said, Contains(HasSubstr("fetching ref \"main\"")));

  request.ref = first;  // a full commit
  absl::StatusOr<GitCheckout> at_commit = CheckoutGitSource(request);
  ASSERT_TRUE(at_commit.ok()) << at_commit.status();
  EXPECT_EQ(at_commit->commit, first);
  EXPECT_EQ(ReadFileOrEmpty(Path("clone/VERSION")), "1.0\n");

  request.ref = second.substr(0, 10);  // an abbreviated one
  absl::StatusOr<GitCheckout> abbreviated = CheckoutGitSource(request);
  ASSERT_TRUE(abbreviated.ok()) << abbreviated.status();
  EXPECT_EQ(abbreviated->commit, second);

  request.ref = "";
  request.pull_request = 7;
  absl::StatusOr<GitCheckout> pr = CheckoutGitSource(request);
  ASSERT_TRUE(pr.ok()) << pr.status();
  EXPECT_EQ(pr->commit, pr_head);
  EXPECT_EQ(pr->description, "pull request 7");
  EXPECT_EQ(ReadFileOrEmpty(Path("clone/VERSION")), "2.0-pr7\n");
}

TEST_F(PackagingTest, AnUnknownRefOrPullRequestIsAConfigErrorNamingRepoAndRef) {
  BuildFixtureRepo repo(Path("fixture"));
  repo.CommitVersion("1.0");
  GitCheckoutRequest request{.repo = repo.url(), .ref = "no-such-branch", .dir = Path("clone")};
  absl::StatusOr<GitCheckout> missing = CheckoutGitSource(request);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(OutcomeOf(missing.status()), Outcome::kConfigError) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr("no-such-branch"));
  EXPECT_THAT(missing.status().message(), HasSubstr(repo.url()));

  request.ref = "";
  request.pull_request = 99;
  absl::StatusOr<GitCheckout> no_pr = CheckoutGitSource(request);
  ASSERT_FALSE(no_pr.ok());
  EXPECT_EQ(OutcomeOf(no_pr.status()), Outcome::kConfigError) << no_pr.status();
  EXPECT_THAT(no_pr.status().message(), HasSubstr("pull request 99"));

  request.pull_request = 0;
  request.ref = "deadbeef";
  absl::StatusOr<GitCheckout> no_commit = CheckoutGitSource(request);
  ASSERT_FALSE(no_commit.ok());
  EXPECT_EQ(OutcomeOf(no_commit.status()), Outcome::kConfigError) << no_commit.status();
  EXPECT_THAT(no_commit.status().message(), HasSubstr("deadbeef"));
}

TEST_F(PackagingTest, AnUnreachableRepositoryIsAnInfrastructureErrorWithoutItsCredentials) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  GitCheckoutRequest request{.repo = "http://builder:s3cret-token@127.0.0.1:1/app.git",
                             .ref = "main",
                             .dir = Path("clone"),
                             .timeout = absl::Seconds(60)};
  std::vector<std::string> said;
  absl::StatusOr<GitCheckout> checkout =
      CheckoutGitSource(request, [&](std::string_view line) { said.emplace_back(line); });
  ASSERT_FALSE(checkout.ok());
  EXPECT_EQ(OutcomeOf(checkout.status()), Outcome::kInfrastructureError) << checkout.status();
  EXPECT_THAT(checkout.status().message(), HasSubstr("http://***@127.0.0.1:1/app.git"));
  EXPECT_THAT(checkout.status().message(), HasSubstr("ref \"main\""));
  EXPECT_THAT(checkout.status().message(), Not(HasSubstr("s3cret")));
  for (const std::string& line : said) EXPECT_THAT(line, Not(HasSubstr("s3cret")));
}

TEST_F(PackagingTest, BuildPhaseBuildsRealPackagesAndServesTheSameCommitFromTheCache) {
  BuildFixtureRepo repo(Path("fixture"));
  std::string commit = repo.CommitVersion("1.0");
  Config config = FixtureConfig(repo);
  std::vector<std::string> progress;
  auto record = [&](std::string_view line) { progress.emplace_back(line); };

  absl::StatusOr<BuildResult> first = RunBuildPhase(config, Request("log1"), record);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->from_cache);
  EXPECT_EQ(first->commit, commit);
  EXPECT_THAT(Names(first->artifacts),
              ElementsAre("mosdat-fixture-app-1.0.tar.gz", "mosdat-fixture-app_1.0_all.deb"));
  EXPECT_THAT(progress, Contains("| building mosdat-fixture-app 1.0"));
  EXPECT_THAT(progress, Contains("| a line on stderr"));
  for (const Artifact& a : first->artifacts) {
    EXPECT_EQ(*Sha256OfFile(a.path), a.sha256);
    EXPECT_EQ(fs::file_size(a.path), a.size);
  }
  const Artifact& deb = first->artifacts[1];
  EXPECT_EQ(deb.format, "deb");
  EXPECT_EQ(first->artifacts[0].format, "tar");
  // A real package: dpkg-deb reads it back.
  absl::StatusOr<CommandResult> info =
      RunCommand({"dpkg-deb", "--field", deb.path, "Package", "Version"}, CurrentEnvironment(),
                 absl::Seconds(30));
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->out, HasSubstr("Package: mosdat-fixture-app\nVersion: 1.0"));
  EXPECT_THAT(ReadFileOrEmpty(Path("log1")), HasSubstr("building mosdat-fixture-app 1.0"));

  absl::StatusOr<BuildResult> second = RunBuildPhase(config, Request("log2"), nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(second->commit, commit);
  EXPECT_THAT(repo.Builds(), ElementsAre("1.0"));  // the script did not run again
  ASSERT_EQ(second->artifacts.size(), 2u);
  EXPECT_EQ(second->artifacts[1].sha256, deb.sha256);

  // --no-cache builds anyway.
  BuildRequest forced = Request("log3");
  forced.use_cache = false;
  absl::StatusOr<BuildResult> third = RunBuildPhase(config, forced, nullptr);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_FALSE(third->from_cache);
  EXPECT_THAT(repo.Builds(), ElementsAre("1.0", "1.0"));
}

TEST_F(PackagingTest, ATamperedCachedArtifactIsRebuilt) {
  BuildFixtureRepo repo(Path("fixture"));
  repo.CommitVersion("1.0");
  Config config = FixtureConfig(repo);
  absl::StatusOr<BuildResult> first = RunBuildPhase(config, Request(), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  // Same size, other bytes: only the SHA-256 can tell.
  std::string cached = first->artifacts[1].path;
  std::string bytes = ReadFileOrEmpty(cached);
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(cached, std::ios::binary | std::ios::trunc) << bytes;

  std::vector<std::string> progress;
  absl::StatusOr<BuildResult> again =
      RunBuildPhase(config, Request("log2"), [&](std::string_view l) { progress.emplace_back(l); });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->from_cache);
  EXPECT_THAT(progress, Contains(HasSubstr("no longer matches its SHA-256")));
  EXPECT_THAT(repo.Builds(), ElementsAre("1.0", "1.0"));
  EXPECT_EQ(*Sha256OfFile(again->artifacts[1].path), again->artifacts[1].sha256);
}

TEST_F(PackagingTest, ANewCommitIsBuiltWithoutThePreviousPackages) {
  BuildFixtureRepo repo(Path("fixture"));
  repo.CommitVersion("1.0");
  Config config = FixtureConfig(repo);
  ASSERT_TRUE(RunBuildPhase(config, Request(), nullptr).ok());
  std::string next = repo.CommitVersion("1.1");
  absl::StatusOr<BuildResult> built = RunBuildPhase(config, Request("log2"), nullptr);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->commit, next);
  // dist/ still had 1.0's packages in the clone; they were not collected as 1.1's.
  EXPECT_THAT(Names(built->artifacts),
              ElementsAre("mosdat-fixture-app-1.1.tar.gz", "mosdat-fixture-app_1.1_all.deb"));
}

TEST_F(PackagingTest, BuildPhaseConfigErrorsNameTheBuildTable) {
  BuildFixtureRepo repo(Path("fixture"));
  repo.CommitVersion("1.0");
  Config config = FixtureConfig(repo);
  config.build->artifacts = {"dist/*.deb", "dist/*.rpm"};
  absl::StatusOr<BuildResult> no_rpm = RunBuildPhase(config, Request(), nullptr);
  ASSERT_FALSE(no_rpm.ok());
  EXPECT_EQ(OutcomeOf(no_rpm.status()), Outcome::kConfigError);
  EXPECT_THAT(no_rpm.status().message(), HasSubstr(Path("mosdat.toml") + ":4:1: build.artifacts"));
  EXPECT_THAT(no_rpm.status().message(), HasSubstr("\"dist/*.rpm\" matched no file"));
  EXPECT_THAT(no_rpm.status().message(), HasSubstr("mosdat-fixture-app_1.0_all.deb"));

  config.build->workdir = "../elsewhere";
  absl::StatusOr<BuildResult> escaping = RunBuildPhase(config, Request(), nullptr);
  ASSERT_FALSE(escaping.ok());
  EXPECT_EQ(OutcomeOf(escaping.status()), Outcome::kConfigError);
  EXPECT_THAT(escaping.status().message(), HasSubstr("build.workdir"));
}

TEST_F(PackagingTest, OriginalDistDirAndFileGlobsFindTheArtifacts) {
  BuildFixtureRepo repo(Path("fixture"));
  repo.CommitVersion("1.0");
  Config config = FixtureConfig(repo);
  config.app.version = "1.0";
  config.build->artifacts.clear();
  config.build->dist_dir = "dist";
  VmConfig vm;
  vm.packages.push_back({.format = PackageFormat::kDeb, .file_glob = "{app_name}_{version}_*.deb"});
  config.vms.push_back(vm);
  EXPECT_THAT(ArtifactGlobs(config), ElementsAre("dist/mosdat-fixture-app_1.0_*.deb"));
  absl::StatusOr<BuildResult> built = RunBuildPhase(config, Request(), nullptr);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_THAT(Names(built->artifacts), ElementsAre("mosdat-fixture-app_1.0_all.deb"));
}

TEST_F(PackagingTest, ALocalWorkingTreeIsBuiltInPlaceAndCachedOnlyWhenClean) {
  BuildFixtureRepo repo(Path("fixture"));
  std::string commit = repo.CommitVersion("1.0");
  Config config = FixtureConfig(repo);
  config.build->repo.clear();
  config.build->ref.clear();
  config.build->workdir = repo.dir();
  absl::StatusOr<BuildResult> built = RunBuildPhase(config, Request(), nullptr);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ(built->commit, commit);
  EXPECT_EQ(built->source_dir, repo.dir());
  ASSERT_TRUE(RunBuildPhase(config, Request("log2"), nullptr)->from_cache);

  repo.Write("VERSION", "1.0-local\n");  // uncommitted
  absl::StatusOr<BuildResult> dirty = RunBuildPhase(config, Request("log3"), nullptr);
  ASSERT_TRUE(dirty.ok()) << dirty.status();
  EXPECT_FALSE(dirty->from_cache);
  EXPECT_THAT(dirty->cache_note, HasSubstr("uncommitted changes"));
  EXPECT_THAT(Names(dirty->artifacts), Contains("mosdat-fixture-app_1.0-local_all.deb"));
  EXPECT_THAT(repo.Builds(), ElementsAre("1.0", "1.0-local"));
}

TEST_F(PackagingTest, CacheIgnoresHalfWrittenAndOversizedEntries) {
  fs::create_directories(Path("cache"));
  BuildCache cache(Path("cache"));
  BuildKey key{.commit = std::string(40, 'a'), .config_hash = std::string(64, 'b')};
  std::string why;
  EXPECT_EQ(cache.Lookup(key, &why), std::nullopt);
  EXPECT_THAT(why, HasSubstr("no cached build"));

  // A killed build's entry has artifacts but no manifest: not an entry.
  fs::create_directories(fs::path(cache.EntryDir(key)) / "artifacts");
  EXPECT_EQ(cache.Lookup(key, &why), std::nullopt);

  std::ofstream(fs::path(cache.EntryDir(key)) / "manifest.json")
      << std::string(kMaxManifestBytes + 1, ' ');
  EXPECT_EQ(cache.Lookup(key, &why), std::nullopt);
  EXPECT_THAT(why, HasSubstr("too large"));

  std::ofstream(fs::path(cache.EntryDir(key)) / "manifest.json", std::ios::trunc)
      << R"({"version": 1, "commit": "x"})";
  EXPECT_EQ(cache.Lookup(key, &why), std::nullopt);
  EXPECT_THAT(why, HasSubstr("damaged"));

  // Storing replaces it, and sweeps a dead build's temporary directory.
  fs::create_directories(Path("cache/.tmp-x-999999999-1"));
  std::ofstream(Path("app.deb")) << "package";
  Artifact artifact{.path = Path("app.deb"),
                    .name = "app.deb",
                    .format = "deb",
                    .size = 7,
                    .sha256 = *Sha256OfFile(Path("app.deb"))};
  std::ofstream(Path("log")) << "log";
  absl::StatusOr<BuildManifest> stored = cache.Store(key, "ref \"main\"", {artifact}, Path("log"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_FALSE(fs::exists(Path("cache/.tmp-x-999999999-1")));
  std::optional<BuildManifest> found = cache.Lookup(key, &why);
  ASSERT_TRUE(found.has_value()) << why;
  EXPECT_EQ(found->ref, "ref \"main\"");
  EXPECT_EQ(found->artifacts[0].path, cache.EntryDir(key) + "/artifacts/app.deb");
  EXPECT_EQ(ReadFileOrEmpty(found->build_log), "log");
}

}  // namespace
}  // namespace mosdat

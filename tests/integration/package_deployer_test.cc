// The deploy phase with real parts: packages built here with dpkg-deb and tar, planned
// by core/package_install, and installed by DeployPackages over a real sshd into this
// machine (the tests run as root) with the real apt-get/dpkg. Each fixture package has
// a unique name (mosdat-test-fixture-<random>) and is purged by a scope guard, also
// when the test fails. Also: an install that fails half-way, a version that does not
// match, a package manager the VM lacks, a plan made for sudo run by root, a corrupted
// upload, a format the VM does not take, and the [verify] checks on the installed copy.
//
// The sudo paths log in as a user of their own (TestUser), with a sudo rule that asks
// for a password or does not.
#include "vnc-agent/steps/package_deployer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/outcome.h"
#include "core/package_install.h"
#include "core/process.h"
#include "tests/integration/dpkg_test_package.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/local/local_sshd.h"

namespace mosdat {
namespace {

using ::mosdat::testing::DpkgTestPackage;
using ::mosdat::testing::SourcePath;
using ::mosdat::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs argv here; the test fails on a non-zero exit unless `may_fail`.
CommandResult RunHere(const std::vector<std::string>& argv, bool may_fail = false) {
  absl::StatusOr<CommandResult> result = RunCommand(argv, CurrentEnvironment(), absl::Minutes(2));
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  if (!may_fail) {
    EXPECT_EQ(result->status.exit_code, 0)
        << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << result->err;
  }
  return *result;
}

void WriteFile(const std::string& path, const std::string& contents, int mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << contents;
  chmod(path.c_str(), mode);
}

std::string Sha256(const std::string& path) {
  std::string out = RunHere({"sha256sum", "--", path}).out;
  return out.substr(0, out.find(' '));
}

// A login user of its own for a test (useradd), with a sudo rule in /etc/sudoers.d;
// removed with its home and rule when destroyed. Its password is "*": no password
// works, and sshd still takes its key (a "!" would lock the account).
class TestUser {
 public:
  explicit TestUser(const std::string& sudo_rule) {
    name_ = absl::StrCat("mosdat-sudo-",
                         RunHere({"sh", "-c", "od -An -N3 -tx1 /dev/urandom | tr -d ' \\n'"}).out);
    RunHere({"useradd", "--create-home", "--shell", "/bin/sh", name_});
    RunHere({"usermod", "-p", "*", name_});
    sudoers_ = "/etc/sudoers.d/" + name_;
    WriteFile(sudoers_, absl::StrCat(name_, " ", sudo_rule, "\n"), 0440);
    RunHere({"visudo", "-c", "-q", "-f", sudoers_});
  }
  ~TestUser() {
    std::filesystem::remove(sudoers_);
    RunHere({"userdel", "--remove", name_}, /*may_fail=*/true);
  }
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string sudoers_;
};

class PackageDeployerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    package_ = std::make_unique<DpkgTestPackage>();
    name_ = package_->name();
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
        LocalSshd::Start({.dir = sshd_dir_.path(), .session_env = {}});
    ASSERT_TRUE(sshd.ok()) << sshd.status();
    sshd_ = *std::move(sshd);
    absl::StatusOr<std::unique_ptr<SshSession>> ssh = SshSession::Connect(sshd_->ClientOptions());
    ASSERT_TRUE(ssh.ok()) << ssh.status() << "\n" << sshd_->log();
    ssh_ = *std::move(ssh);
    app_.name = name_;
    app_.version = "1.0";
    app_.binary = absl::StrCat("/opt/", name_, "/hello");
    vm_.name = "local";
  }

  // The scope guard (DpkgTestPackage): whatever happened, the fixture package and its
  // files are gone.
  std::unique_ptr<DpkgTestPackage> package_;

  // A tiny deb installing /opt/<name>/hello; `postinst` (if any) runs after unpacking.
  PackageArtifact BuildDeb(const std::string& version, const std::string& postinst = "") {
    const std::string deb = package_->BuildDeb(
        work_.path(), version,
        {{absl::StrCat("/opt/", name_, "/hello"), "#!/bin/sh\necho hello\n"}}, postinst);
    return {deb, PackageFormat::kDeb, Sha256(deb)};
  }

  absl::StatusOr<DeployPlan> Plan(PackageConfig package, const PackageArtifact& artifact,
                                  PackagePlanOptions options = {.sudo = false}) {
    vm_.packages = {std::move(package)};
    return PlanPackageInstall(vm_, app_, {artifact}, options);
  }

  // Connects ssh_ as `user`. sshd reads the (shared) authorized_keys file as the user
  // logging in: the directory and that file become readable to it.
  void LogInAs(const TestUser& user) {
    chmod(sshd_dir_.path().c_str(), 0711);
    chmod(sshd_dir_.File("authorized_keys").c_str(), 0644);
    SshOptions options = sshd_->ClientOptions();
    options.user = user.name();
    absl::StatusOr<std::unique_ptr<SshSession>> ssh = SshSession::Connect(options);
    ASSERT_TRUE(ssh.ok()) << ssh.status() << "\n" << sshd_->log();
    ssh_ = *std::move(ssh);
  }

  absl::Status Deploy(const DeployPlan& plan) {
    events_.clear();
    return DeployPackages(*ssh_, plan, [this](Event event) {
      events_.push_back(std::move(event));
      return absl::OkStatus();
    });
  }

  // "label=status" of every finished step, in order.
  std::vector<std::string> Finished() const {
    std::vector<std::string> out;
    for (const Event& e : events_) {
      if (e.type == EventType::kStepFinished) {
        out.push_back(absl::StrCat(e.label, "=", Absl(ToString(e.status))));
      }
    }
    return out;
  }

  static PackageConfig Deb() {
    PackageConfig package;
    package.format = PackageFormat::kDeb;
    package.file_glob = "*.deb";
    return package;
  }

  std::string name_;
  TempDir sshd_dir_;
  TempDir work_;
  std::unique_ptr<LocalSshd> sshd_;
  std::unique_ptr<SshSession> ssh_;
  AppConfig app_;
  VmConfig vm_;
  std::vector<Event> events_;
};

TEST_F(PackageDeployerTest, DebIsInstalledWithAptVerifiedAndItsUploadRemoved) {
  PackageArtifact deb = BuildDeb("1.0-1");
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), deb);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_FALSE(package_->Installed());

  absl::Status status = Deploy(*plan);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(package_->Installed());
  EXPECT_EQ(RunHere({absl::StrCat("/opt/", name_, "/hello")}).out, "hello\n");
  EXPECT_FALSE(std::filesystem::exists(plan->packages[0].remote_path));  // cleaned up
  EXPECT_THAT(
      Finished(),
      ::testing::ElementsAre(
          "package 1 (deb): probe=passed", "package 1 (deb): upload=passed",
          "package 1 (deb): checksum=passed", "package 1 (deb): install=passed",
          "package 1 (deb): verify-installed=passed", "package 1 (deb): verify-version=passed",
          "package 1 (deb): verify-binary=passed", "package 1 (deb): cleanup=passed"));
  for (const Event& e : events_) EXPECT_EQ(e.step_kind, "deploy");
  EXPECT_THAT(events_[6].description, HasSubstr("apt-get install -y"));  // install started

  // Again with a newer version and an `uninstall` that removes the old one first.
  PackageArtifact newer = BuildDeb("1.1-1");
  PackageConfig package = Deb();
  package.file_glob = "*_1.1-1_all.deb";
  package.uninstall = "dpkg --remove {app_name}";
  app_.version = "1.1";
  absl::StatusOr<DeployPlan> upgrade = Plan(package, newer);
  ASSERT_TRUE(upgrade.ok()) << upgrade.status();
  status = Deploy(*upgrade);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(Finished(), ::testing::Contains("package 1 (deb): remove=passed"));
  EXPECT_EQ(RunHere({"dpkg-query", "-W", "-f=${Version}", name_}).out, "1.1-1");
}

TEST_F(PackageDeployerTest, TarballIsUnpackedIntoItsDirectory) {
  const std::string tree = work_.File("tree");
  WriteFile(tree + "/bin/hello", "#!/bin/sh\necho tar\n", 0755);
  const std::string tarball = work_.File(absl::StrCat(name_, "-linux.tar.gz"));
  RunHere({"tar", "-czf", tarball, "-C", tree, "."});
  const std::string tar_root = work_.File("opt");
  PackageConfig package;
  package.format = PackageFormat::kTar;
  package.file_glob = "*.tar.gz";
  package.app_path = absl::StrCat(tar_root, "/", name_, "/bin/hello");
  // A stale file from an "older version" must not survive.
  WriteFile(absl::StrCat(tar_root, "/", name_, "/stale"), "old", 0644);
  absl::StatusOr<DeployPlan> plan = Plan(package, {tarball, PackageFormat::kTar, Sha256(tarball)},
                                         {.sudo = false, .tar_root = tar_root});
  ASSERT_TRUE(plan.ok()) << plan.status();

  absl::Status status = Deploy(*plan);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(RunHere({package.app_path}).out, "tar\n");
  EXPECT_FALSE(std::filesystem::exists(absl::StrCat(tar_root, "/", name_, "/stale")));
  EXPECT_THAT(Finished(), ::testing::Contains("package 1 (tar): verify-binary=passed"));
}

// Removes a pacman package when the test ends, however it ended.
struct PacmanRemoval {
  std::string name;
  ~PacmanRemoval() { RunHere({"pacman", "-R", "--noconfirm", name}, /*may_fail=*/true); }
};

// pacman, from Debian's pacman-package-manager: an Arch package made here (.PKGINFO and
// the files, compressed with zstd as makepkg does) is installed with pacman -U,
// verified in pacman's database, and its installed files are checked.
TEST_F(PackageDeployerTest, PacmanPackageIsInstalledVerifiedAndChecked) {
  const std::string tree = work_.File("pacman-tree");
  WriteFile(absl::StrCat(tree, "/opt/", name_, "/hello"), "#!/bin/sh\necho pacman\n", 0755);
  std::filesystem::create_directories(absl::StrCat(tree, "/opt/", name_, "/resources"));
  std::filesystem::copy(SourcePath("tests/data/asar/app.asar"),
                        absl::StrCat(tree, "/opt/", name_, "/resources/app.asar"));
  WriteFile(tree + "/.PKGINFO",
            absl::StrCat("pkgname = ", name_, "\npkgbase = ", name_,
                         "\npkgver = 1.0-1\npkgdesc = mOSdat test fixture\nbuilddate = "
                         "1700000000\npackager = mOSdat tests\nsize = 2000\narch = any\n"),
            0644);
  const std::string file = work_.File(absl::StrCat(name_, "-1.0-1-any.pkg.tar.zst"));
  RunHere({"tar", "--zstd", "-cf", file, "-C", tree, ".PKGINFO", "opt"});
  PacmanRemoval removal{name_};
  PackageConfig package;
  package.format = PackageFormat::kPacman;
  absl::StatusOr<DeployPlan> plan = Plan(package, {file, PackageFormat::kPacman, Sha256(file)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  plan->contents.symbols = {"isTelephonyEnabled"};

  ASSERT_EQ(Deploy(*plan), absl::OkStatus());
  EXPECT_EQ(RunHere({"pacman", "-Q", name_}).out, name_ + " 1.0-1\n");
  EXPECT_EQ(RunHere({app_.binary}).out, "pacman\n");
  EXPECT_THAT(Finished(),
              ::testing::IsSupersetOf({"package 1 (pacman): install=passed",
                                       "package 1 (pacman): verify-installed=passed",
                                       "package 1 (pacman): verify-version=passed",
                                       "contents: app.asar contains isTelephonyEnabled=passed"}));

  // [app].version that the package does not have.
  app_.version = "2.0";
  absl::StatusOr<DeployPlan> wrong = Plan(package, {file, PackageFormat::kPacman, Sha256(file)});
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  absl::Status status = Deploy(*wrong);
  EXPECT_THAT(status.message(), HasSubstr("step verify-version"));
  EXPECT_THAT(status.message(), HasSubstr("installed version 1.0-1, expected 2.0"));
}

// An upgrade from a tarball that does not unpack leaves the installed version whole.
TEST_F(PackageDeployerTest, ATarballThatDoesNotUnpackKeepsTheInstalledVersion) {
  const std::string tree = work_.File("tree");
  WriteFile(tree + "/bin/hello", "#!/bin/sh\necho first\n", 0755);
  const std::string good = work_.File(absl::StrCat(name_, "-1.tar.gz"));
  RunHere({"tar", "-czf", good, "-C", tree, "."});
  const std::string broken = work_.File(absl::StrCat(name_, "-2.tar.gz"));
  WriteFile(broken, RunHere({"head", "-c", "60", good}).out, 0644);
  const std::string tar_root = work_.File("opt");
  PackageConfig package;
  package.format = PackageFormat::kTar;
  package.app_path = absl::StrCat(tar_root, "/", name_, "/bin/hello");
  auto plan_for = [&](const std::string& file) {
    package.file_glob = std::filesystem::path(file).filename().string();
    return Plan(package, {file, PackageFormat::kTar, Sha256(file)},
                {.sudo = false, .tar_root = tar_root});
  };
  ASSERT_EQ(Deploy(*plan_for(good)), absl::OkStatus());
  absl::Status status = Deploy(*plan_for(broken));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kInfrastructureError);
  EXPECT_THAT(status.message(), HasSubstr("VM local, package 1 (tar), step install"));
  EXPECT_EQ(Finished().back(), "package 1 (tar): undo=passed");
  EXPECT_EQ(RunHere({package.app_path}).out, "first\n");
  EXPECT_EQ(RunHere({"ls", "-A", tar_root}).out, name_ + "\n");  // no staging left behind
}

// The [verify] checks on the installed copy: the deb's files are listed with
// dpkg-query, those the checks read (the @electron/asar fixture and its unpacked addon)
// come back over SFTP, and each check is a step. A symbol the package lacks is a test
// failure, not an infrastructure error: the package as built is wrong.
TEST_F(PackageDeployerTest, TheInstalledCopyIsCheckedAgainstVerify) {
  absl::StatusOr<std::string> asar = ReadFile(SourcePath("tests/data/asar/app.asar"));
  absl::StatusOr<std::string> addon =
      ReadFile(SourcePath("tests/data/asar/app.asar.unpacked/native/addon.node"));
  ASSERT_TRUE(asar.ok() && addon.ok()) << asar.status() << addon.status();
  const std::string resources = absl::StrCat("/opt/", name_, "/resources/");
  const std::string deb =
      package_->BuildDeb(work_.path(), "1.0-1",
                         {{absl::StrCat("/opt/", name_, "/hello"), "#!/bin/sh\necho hello\n"},
                          {resources + "app.asar", *asar},
                          {resources + "app.asar.unpacked/native/addon.node", *addon}});
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), {deb, PackageFormat::kDeb, Sha256(deb)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  plan->contents.symbols = {"isTelephonyEnabled", "exportedNativeThing"};
  plan->contents.asar_files = {{"dist/renderer/index.js", {"renderer-ready"}}};

  ASSERT_EQ(Deploy(*plan), absl::OkStatus());
  std::vector<std::string> finished = Finished();
  EXPECT_THAT(finished,
              ::testing::IsSupersetOf({"package 1 (deb): list-files=passed",
                                       "package 1 (deb): read-files=passed",
                                       "contents: app.asar contains isTelephonyEnabled=passed",
                                       "contents: app.asar contains exportedNativeThing=passed"}));
  EXPECT_EQ(finished.back(), "package 1 (deb): cleanup=passed");  // after the checks
  EXPECT_EQ(std::count_if(finished.begin(), finished.end(),
                          [](const std::string& s) { return s.rfind("contents: ", 0) == 0; }),
            3);

  plan->contents.symbols.push_back("notInThisBuild");
  absl::Status status = Deploy(*plan);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kTestFailed) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("VM local: the installed copy fails 1 of 4 [verify] checks"));
  EXPECT_THAT(status.message(), HasSubstr("app.asar contains notInThisBuild"));
  EXPECT_THAT(Finished(), ::testing::Contains("contents: app.asar contains notInThisBuild=failed"));
  EXPECT_TRUE(package_->Installed());  // a test result: the install itself stands
}

// A tarball's files are checked relative to where it was unpacked, as `mosdat
// preflight --package` checks them in the tarball itself.
TEST_F(PackageDeployerTest, AnUnpackedTarballIsCheckedFromItsOwnRoot) {
  const std::string tree = work_.File("tree");
  WriteFile(tree + "/bin/hello", "#!/bin/sh\necho tar\n", 0755);
  std::filesystem::create_directories(tree + "/resources");
  std::filesystem::copy(SourcePath("tests/data/asar/app.asar"), tree + "/resources/app.asar");
  const std::string tarball = work_.File(absl::StrCat(name_, "-linux.tar.gz"));
  RunHere({"tar", "-czf", tarball, "-C", tree, "."});
  PackageConfig package;
  package.format = PackageFormat::kTar;
  package.file_glob = "*.tar.gz";
  const std::string tar_root = work_.File("opt");
  package.app_path = absl::StrCat(tar_root, "/", name_, "/bin/hello");
  absl::StatusOr<DeployPlan> plan = Plan(package, {tarball, PackageFormat::kTar, Sha256(tarball)},
                                         {.sudo = false, .tar_root = tar_root});
  ASSERT_TRUE(plan.ok()) << plan.status();
  plan->contents.asar = "resources/app.asar";
  plan->contents.symbols = {"isTelephonyEnabled"};
  ASSERT_EQ(Deploy(*plan), absl::OkStatus());
  EXPECT_THAT(Finished(),
              ::testing::Contains("contents: app.asar contains isTelephonyEnabled=passed"));
}

TEST_F(PackageDeployerTest, InstallFailingHalfWayNamesTheStepWithTheOutput) {
  PackageArtifact deb =
      BuildDeb("1.0-1", "#!/bin/sh\necho 'fixture postinst refuses' >&2\nexit 7\n");
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), deb);
  ASSERT_TRUE(plan.ok()) << plan.status();

  absl::Status status = Deploy(*plan);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kInfrastructureError);
  EXPECT_THAT(status.message(), HasSubstr("VM local, package 1 (deb), step install"));
  EXPECT_THAT(status.message(), HasSubstr("failed with exit code"));
  EXPECT_THAT(status.message(), HasSubstr("fixture postinst refuses"));
  const Event* install = nullptr;
  for (const Event& e : events_) {
    if (e.type == EventType::kStepFinished && e.label == "package 1 (deb): install") install = &e;
  }
  ASSERT_NE(install, nullptr);
  EXPECT_EQ(install->status, StepStatus::kError);
  ASSERT_TRUE(install->output.has_value());
  EXPECT_NE(install->output->exit_code, 0);
  EXPECT_THAT(install->output->err + install->output->out, HasSubstr("fixture postinst refuses"));
  // The VM is not left with a half-configured package: it is as it was.
  EXPECT_EQ(Finished().back(), "package 1 (deb): undo=passed");
  EXPECT_THAT(status.message(), HasSubstr("a package left half-installed was removed"));
  EXPECT_FALSE(package_->Installed());
  CommandResult known = RunHere({"dpkg-query", "-W", name_}, /*may_fail=*/true);
  EXPECT_NE(known.status.exit_code, 0) << "dpkg still knows " << name_ << ": " << known.out;
}

// A failed install keeps a version that is still installed whole: undo removes only
// what the install left broken.
TEST_F(PackageDeployerTest, AFailedUpgradeKeepsTheVersionInstalledBefore) {
  ASSERT_EQ(Deploy(*Plan(Deb(), BuildDeb("1.0-1"))), absl::OkStatus());
  // 1.1's preinst refuses: dpkg stops before unpacking, 1.0 stays installed.
  const std::string deb = package_->BuildDeb(
      work_.path(), "1.1-1", {{absl::StrCat("/opt/", name_, "/hello"), "#!/bin/sh\necho 1.1\n"}});
  PackageArtifact upgrade{deb, PackageFormat::kDeb, Sha256(deb)};
  ASSERT_TRUE(std::filesystem::exists(deb));
  // The preinst goes in by hand: BuildDeb writes postinst only.
  const std::string root = work_.File("pkg-pre");
  RunHere({"dpkg-deb", "-R", deb, root});
  std::ofstream(root + "/DEBIAN/preinst")
      << "#!/bin/sh\necho 'fixture preinst refuses' >&2\nexit 3\n";
  chmod((root + "/DEBIAN/preinst").c_str(), 0755);
  RunHere({"dpkg-deb", "--root-owner-group", "--build", root, deb});
  upgrade.sha256 = Sha256(deb);
  app_.version = "";
  absl::Status status = Deploy(*Plan(Deb(), upgrade));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("fixture preinst refuses"));
  EXPECT_TRUE(package_->Installed());
  EXPECT_EQ(RunHere({"dpkg-query", "-W", "-f=${Version}", name_}).out, "1.0-1");
}

TEST_F(PackageDeployerTest, WrongVersionFailsVerification) {
  PackageArtifact deb = BuildDeb("1.0-1");
  app_.version = "2.0";
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), deb);
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::Status status = Deploy(*plan);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("step verify-version"));
  EXPECT_THAT(status.message(), HasSubstr("installed version 1.0-1, expected 2.0"));
}

TEST_F(PackageDeployerTest, PackageManagerTheVmLacksIsAConfigError) {
  const std::string rpm_path = work_.File(absl::StrCat(name_, "-1.0.x86_64.rpm"));
  WriteFile(rpm_path, "not really an rpm", 0644);
  if (!FindExecutable("dnf").empty() || !FindExecutable("zypper").empty() ||
      !FindExecutable("yum").empty()) {
    GTEST_SKIP() << "this machine has an rpm package manager";
  }
  PackageConfig package;
  package.format = PackageFormat::kRpm;
  package.file_glob = "*.rpm";
  absl::StatusOr<DeployPlan> plan =
      Plan(package, {rpm_path, PackageFormat::kRpm, Sha256(rpm_path)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::Status status = Deploy(*plan);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kConfigError);
  EXPECT_THAT(
      status.message(),
      HasSubstr("VM local, package 1 (rpm), step probe: the VM has none of dnf, zypper, yum"));
  EXPECT_THAT(Finished(), ::testing::ElementsAre("package 1 (rpm): probe=error"));
}

// A plan made for a user who needs sudo (the coordinator cannot know a local VM's login
// user) runs as root without it: LocalSshd logs in as root, and this machine has no
// sudo, which the plan would otherwise require.
TEST_F(PackageDeployerTest, AsRootTheInstallRunsWithoutSudo) {
  PackageArtifact deb = BuildDeb("1.0-1");
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), deb, {.sudo = true});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_TRUE(plan->packages[0].privileged);
  ASSERT_EQ(Deploy(*plan), absl::OkStatus());
  EXPECT_TRUE(package_->Installed());
  for (const Event& event : events_) {
    if (event.label == "package 1 (deb): probe") continue;  // probes for sudo
    EXPECT_THAT(event.description, Not(HasSubstr("sudo"))) << event.label;
  }
  EXPECT_THAT(Finished(), Not(::testing::Contains(HasSubstr(": sudo="))));
}

// A login user whose sudo wants a password: the deploy stops at its sudo check, before
// anything is uploaded or changed, and says what to do. mOSdat never types a password.
TEST_F(PackageDeployerTest, SudoThatAsksForAPasswordStopsTheDeployBeforeAnyChange) {
  TestUser user("ALL=(ALL) ALL");
  ASSERT_NO_FATAL_FAILURE(LogInAs(user));
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), BuildDeb("1.0-1"), {.sudo = true});
  ASSERT_TRUE(plan.ok()) << plan.status();

  absl::Status status = Deploy(*plan);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kInfrastructureError);
  EXPECT_THAT(status.message(), HasSubstr("VM local, package 1 (deb), step sudo"));
  EXPECT_THAT(status.message(), HasSubstr("sudo would ask for a password"));
  EXPECT_THAT(status.message(), HasSubstr("NOPASSWD"));
  EXPECT_THAT(Finished(), ::testing::ElementsAre("package 1 (deb): probe=passed",
                                                 "package 1 (deb): sudo=error"));
  EXPECT_FALSE(package_->Installed());
  EXPECT_FALSE(std::filesystem::exists(plan->packages[0].remote_path));  // nothing uploaded
}

// With passwordless sudo, a login user that is not root installs through `sudo -n`.
TEST_F(PackageDeployerTest, PasswordlessSudoInstallsAsTheLoginUser) {
  TestUser user("ALL=(ALL) NOPASSWD: ALL");
  ASSERT_NO_FATAL_FAILURE(LogInAs(user));
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), BuildDeb("1.0-1"), {.sudo = true});
  ASSERT_TRUE(plan.ok()) << plan.status();

  ASSERT_EQ(Deploy(*plan), absl::OkStatus());
  EXPECT_TRUE(package_->Installed());
  EXPECT_THAT(Finished(), ::testing::Contains("package 1 (deb): sudo=passed"));
  bool installed_with_sudo = false;
  for (const Event& e : events_) {
    if (e.type == EventType::kStepStarted && e.label == "package 1 (deb): install") {
      installed_with_sudo = e.description.rfind("sudo -n ", 0) == 0;
    }
  }
  EXPECT_TRUE(installed_with_sudo);
  // The upload was the user's own, in /tmp, and is gone.
  EXPECT_FALSE(std::filesystem::exists(plan->packages[0].remote_path));
}

TEST_F(PackageDeployerTest, CorruptedUploadIsCaughtByTheChecksum) {
  PackageArtifact deb = BuildDeb("1.0-1");
  deb.sha256 = std::string(64, '0');
  absl::StatusOr<DeployPlan> plan = Plan(Deb(), deb);
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::Status status = Deploy(*plan);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status), Outcome::kInfrastructureError);
  EXPECT_THAT(status.message(), HasSubstr("step checksum: the uploaded file's SHA-256 is "));
  EXPECT_FALSE(package_->Installed());
  std::filesystem::remove(plan->packages[0].remote_path);
}

TEST_F(PackageDeployerTest, FormatTheVmDoesNotTakeIsRefusedBeforeConnecting) {
  const std::string msi = work_.File("setup.msi");
  WriteFile(msi, "MZ", 0644);
  PackageConfig package;
  package.format = PackageFormat::kMsi;
  package.file_glob = "*.msi";
  absl::StatusOr<DeployPlan> plan = Plan(package, {msi, PackageFormat::kMsi, Sha256(msi)});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(OutcomeOf(plan.status()), Outcome::kConfigError);
  EXPECT_THAT(plan.status().message(), HasSubstr("VM local, package 1 (msi)"));
}

}  // namespace
}  // namespace mosdat

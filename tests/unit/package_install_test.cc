// The deploy planner: artifact matching, commands per format, quoting, sudo, errors.
// Quoting is checked by running the planned text through a real /bin/sh.
#include "core/package_install.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/outcome.h"
#include "core/process.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

AppConfig App() {
  AppConfig app;
  app.name = "demo";
  app.version = "1.2.3";
  app.binary = "/usr/bin/demo";
  return app;
}

VmConfig Vm(std::vector<PackageConfig> packages) {
  VmConfig vm;
  vm.name = "ubuntu";
  vm.packages = std::move(packages);
  return vm;
}

PackageConfig Package(PackageFormat format) {
  PackageConfig package;
  package.format = format;
  return package;
}

PackageArtifact Artifact(std::string path, PackageFormat format) {
  return {std::move(path), format, std::string(64, 'a')};
}

// Runs `script` with /bin/sh -c; returns stdout, fails the test on a non-zero exit.
std::string Sh(const std::string& script) {
  absl::StatusOr<CommandResult> result =
      RunCommand({"/bin/sh", "-c", script}, CurrentEnvironment(), absl::Seconds(30));
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return "";
  EXPECT_EQ(result->status.exit_code, 0) << script << "\n" << result->err;
  return result->out;
}

// Every command in the plan, for syntax checks.
std::vector<std::string> AllCommands(const PackageInstallPlan& plan) {
  std::vector<std::string> out;
  if (plan.remove) out.push_back(plan.remove->command);
  for (const InstallerChoice& choice : plan.installers) out.push_back(choice.install.command);
  for (const PlannedCommand& verify : plan.verify) out.push_back(verify.command);
  if (plan.cleanup) out.push_back(plan.cleanup->command);
  if (plan.undo) out.push_back(plan.undo->command);
  if (plan.list_files) out.push_back(plan.list_files->command);
  return out;
}

TEST(PackageInstallTest, FormatOfFileName) {
  EXPECT_EQ(FormatOfFileName("dist/a_1.0_amd64.deb"), PackageFormat::kDeb);
  EXPECT_EQ(FormatOfFileName("a.x86_64.RPM"), PackageFormat::kRpm);
  EXPECT_EQ(FormatOfFileName("Demo-1.0.AppImage"), PackageFormat::kAppImage);
  EXPECT_EQ(FormatOfFileName("a.snap"), PackageFormat::kSnap);
  EXPECT_EQ(FormatOfFileName("a.flatpak"), PackageFormat::kFlatpak);
  EXPECT_EQ(FormatOfFileName("a.tar.gz"), PackageFormat::kTar);
  EXPECT_EQ(FormatOfFileName("a.tgz"), PackageFormat::kTar);
  EXPECT_EQ(FormatOfFileName("a.msi"), PackageFormat::kMsi);
  EXPECT_EQ(FormatOfFileName("Setup.exe"), PackageFormat::kExe);
  EXPECT_EQ(FormatOfFileName("notes.txt"), std::nullopt);
  EXPECT_EQ(FormatOfFileName(".deb"), std::nullopt);
}

TEST(PackageInstallTest, DebWithAptAndSudo) {
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.file_glob = "demo_*_amd64.deb";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(),
                         {Artifact("/b/dist/demo_1.2.3_amd64.deb", PackageFormat::kDeb),
                          Artifact("/b/dist/demo_1.2.3_arm64.deb", PackageFormat::kDeb),
                          Artifact("/b/dist/demo_1.2.3_amd64.rpm", PackageFormat::kRpm)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->packages.size(), 1u);
  const PackageInstallPlan& p = plan->packages[0];
  EXPECT_EQ(p.label, "package 1 (deb)");
  EXPECT_EQ(p.local_path, "/b/dist/demo_1.2.3_amd64.deb");
  EXPECT_EQ(p.remote_path, "/tmp/demo_1.2.3_amd64.deb");
  EXPECT_TRUE(p.privileged);
  EXPECT_THAT(p.required_tools, testing::Contains("sudo"));
  EXPECT_THAT(p.required_tools, testing::Contains("sha256sum"));
  EXPECT_THAT(p.required_tools, testing::Contains("dpkg-query"));
  ASSERT_EQ(p.installers.size(), 2u);
  EXPECT_EQ(p.installers[0].tool, "apt-get");
  EXPECT_EQ(p.installers[0].install.command,
            "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y "
            "-o DPkg::Lock::Timeout=300 --allow-downgrades "
            "'/tmp/demo_1.2.3_amd64.deb'");
  EXPECT_EQ(p.installers[1].tool, "dpkg");
  EXPECT_EQ(p.installers[1].install.command, "sudo -n dpkg -i '/tmp/demo_1.2.3_amd64.deb'");
  EXPECT_FALSE(p.remove.has_value());
  // Package database, version from [app], the binary.
  ASSERT_EQ(p.verify.size(), 3u);
  EXPECT_EQ(p.verify[0].step, "verify-installed");
  EXPECT_EQ(p.verify[1].step, "verify-version");
  EXPECT_THAT(p.verify[1].command, HasSubstr("'1.2.3'"));
  EXPECT_EQ(p.verify[2].step, "verify-binary");
  EXPECT_THAT(p.verify[2].command, HasSubstr("test -x '/usr/bin/demo'"));
  ASSERT_TRUE(p.cleanup.has_value());
  EXPECT_TRUE(p.cleanup->may_fail);
}

TEST(PackageInstallTest, SudoOffLeavesCommandsBare) {
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.path = "dist/demo.deb";
  absl::StatusOr<DeployPlan> plan = PlanPackageInstall(
      Vm({deb}), App(), {Artifact("/b/dist/demo.deb", PackageFormat::kDeb)}, {.sudo = false});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PackageInstallPlan& p = plan->packages[0];
  EXPECT_FALSE(p.privileged);
  EXPECT_THAT(p.required_tools, Not(testing::Contains("sudo")));
  for (const std::string& command : AllCommands(p)) EXPECT_THAT(command, Not(HasSubstr("sudo")));
}

TEST(PackageInstallTest, RpmTriesDnfZypperYum) {
  PackageConfig rpm = Package(PackageFormat::kRpm);
  rpm.version = "2.0";
  absl::StatusOr<DeployPlan> plan = PlanPackageInstall(
      Vm({rpm}), App(), {Artifact("out/demo-2.0-1.x86_64.rpm", PackageFormat::kRpm)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PackageInstallPlan& p = plan->packages[0];
  ASSERT_EQ(p.installers.size(), 3u);
  EXPECT_EQ(p.installers[0].tool, "dnf");
  EXPECT_EQ(p.installers[0].install.command, "sudo -n dnf install -y '/tmp/demo-2.0-1.x86_64.rpm'");
  EXPECT_EQ(p.installers[1].tool, "zypper");
  EXPECT_EQ(p.installers[2].tool, "yum");
  EXPECT_THAT(p.required_tools, testing::Contains("rpm"));
  EXPECT_THAT(p.verify[1].command, HasSubstr("'2.0'"));  // the package's version wins
}

TEST(PackageInstallTest, SnapAndFlatpakFromFilesAndStores) {
  PackageConfig snap_file = Package(PackageFormat::kSnap);
  snap_file.file_glob = "*.snap";
  PackageConfig snap_store = Package(PackageFormat::kSnap);
  snap_store.appid = "demo-app";
  PackageConfig flatpak_file = Package(PackageFormat::kFlatpak);
  flatpak_file.file_glob = "*.flatpak";
  flatpak_file.appid = "org.example.Demo";
  PackageConfig flatpak_remote = Package(PackageFormat::kFlatpak);
  flatpak_remote.appid = "org.example.Demo";
  flatpak_remote.remote = "flathub";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({snap_file, snap_store, flatpak_file, flatpak_remote}), App(),
                         {Artifact("d/demo_1.snap", PackageFormat::kSnap),
                          Artifact("d/demo.flatpak", PackageFormat::kFlatpak)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->packages.size(), 4u);
  EXPECT_EQ(plan->packages[0].installers[0].install.command,
            "sudo -n snap install --dangerous '/tmp/demo_1.snap'");
  EXPECT_EQ(plan->packages[1].installers[0].install.command, "sudo -n snap install 'demo-app'");
  EXPECT_TRUE(plan->packages[1].remote_path.empty());  // nothing to upload
  EXPECT_FALSE(plan->packages[1].cleanup.has_value());
  EXPECT_EQ(plan->packages[2].installers[0].install.command,
            "flatpak install --user -y --noninteractive --bundle '/tmp/demo.flatpak'");
  EXPECT_FALSE(plan->packages[2].privileged);
  EXPECT_EQ(plan->packages[3].installers[0].install.command,
            "flatpak install --user -y --noninteractive 'flathub' 'org.example.Demo'");
  EXPECT_EQ(plan->packages[3].verify[0].command, "flatpak info 'org.example.Demo'");
}

TEST(PackageInstallTest, AppImageInPlaceOrCopiedToAppPath) {
  PackageConfig in_place = Package(PackageFormat::kAppImage);
  in_place.file_glob = "*.AppImage";
  in_place.app_path = "/tmp/{file}";
  PackageConfig home = Package(PackageFormat::kAppImage);
  home.file_glob = "*.AppImage";
  home.app_path = "~/Applications/Demo.AppImage";
  PackageConfig opt = Package(PackageFormat::kAppImage);
  opt.file_glob = "*.AppImage";
  opt.app_path = "/opt/demo/Demo.AppImage";
  absl::StatusOr<DeployPlan> plan = PlanPackageInstall(
      Vm({in_place, home, opt}), App(), {Artifact("d/Demo-1.AppImage", PackageFormat::kAppImage)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto& p = plan->packages;
  EXPECT_EQ(p[0].installers[0].install.command, "chmod 0755 -- '/tmp/Demo-1.AppImage'");
  EXPECT_FALSE(p[0].privileged);
  EXPECT_THAT(p[0].verify.back().command, HasSubstr("test -x '/tmp/Demo-1.AppImage'"));
  EXPECT_FALSE(p[0].cleanup.has_value());  // the uploaded file is the app
  EXPECT_TRUE(p[1].cleanup.has_value());   // a copy was installed
  EXPECT_EQ(p[1].installers[0].install.command,
            "mkdir -p -- \"$HOME\"/'Applications' && cp -f -- '/tmp/Demo-1.AppImage' "
            "\"$HOME\"/'Applications/Demo.AppImage' && chmod 0755 -- "
            "\"$HOME\"/'Applications/Demo.AppImage'");
  EXPECT_FALSE(p[1].privileged);
  EXPECT_TRUE(p[2].privileged);
  EXPECT_THAT(p[2].installers[0].install.command,
              HasSubstr("sudo -n cp -f -- '/tmp/Demo-1.AppImage' '/opt/demo/Demo.AppImage'"));
}

TEST(PackageInstallTest, AppImageCleanupDoesNotDeleteTheInstalledFile) {
  PackageConfig in_place = Package(PackageFormat::kAppImage);
  in_place.file_glob = "*.AppImage";
  absl::StatusOr<DeployPlan> plan = PlanPackageInstall(
      Vm({in_place}), App(), {Artifact("d/Demo-1.AppImage", PackageFormat::kAppImage)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  // Kept where uploaded: that file is the app, so nothing removes it afterwards.
  EXPECT_FALSE(plan->packages[0].cleanup.has_value());
}

// The tar plan's commands run for real in /bin/sh (no sudo: options.sudo = false),
// into a temporary tar_root: a new version replaces the old one whole, a corrupt
// tarball leaves the installed version as it was, and the listing names its files.
TEST(PackageInstallTest, TarReplacesTheInstalledVersionWholeOrNotAtAll) {
  const std::string work = Sh("mktemp -d | tr -d '\\n'");
  ASSERT_FALSE(work.empty());
  Sh("mkdir -p '" + work + "/v1/bin' '" + work + "/v2/bin' && echo one > '" + work +
     "/v1/bin/demo' && echo gone > '" + work + "/v1/only-in-v1' && echo two > '" + work +
     "/v2/bin/demo' && ln -s demo '" + work + "/v2/bin/link' && chmod +x '" + work +
     "/v1/bin/demo' '" + work + "/v2/bin/demo' && tar -czf '" + work + "/demo-1.tar.gz' -C '" +
     work + "/v1' . && tar -czf '" + work + "/demo-2.tar.gz' -C '" + work +
     "/v2' . && head -c 100 '" + work + "/demo-2.tar.gz' > '" + work + "/demo-3.tar.gz'");
  PackageConfig tar = Package(PackageFormat::kTar);
  tar.app_path = work + "/opt/demo/bin/demo";
  auto plan_for = [&](const std::string& file) {
    absl::StatusOr<DeployPlan> plan =
        PlanPackageInstall(Vm({tar}), App(), {Artifact(work + "/" + file, PackageFormat::kTar)},
                           {.sudo = false, .remote_dir = work, .tar_root = work + "/opt"});
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? plan->packages[0] : PackageInstallPlan{};
  };
  auto install = [&](const PackageInstallPlan& p) {
    return RunCommand({"/bin/sh", "-c", p.installers[0].install.command}, CurrentEnvironment(),
                      absl::Seconds(30));
  };

  PackageInstallPlan first = plan_for("demo-1.tar.gz");
  EXPECT_FALSE(first.remove.has_value());  // the install replaces; nothing goes first
  EXPECT_EQ(install(first)->status.exit_code, 0);
  EXPECT_EQ(Sh("cat '" + work + "/opt/demo/bin/demo'"), "one\n");

  PackageInstallPlan second = plan_for("demo-2.tar.gz");
  EXPECT_EQ(install(second)->status.exit_code, 0);
  EXPECT_EQ(Sh("cat '" + work + "/opt/demo/bin/demo'"), "two\n");
  EXPECT_EQ(Sh("ls -A '" + work + "/opt'"), "demo\n");  // no staging left, v1's file gone
  for (const PlannedCommand& verify : second.verify) Sh(verify.command);
  ASSERT_TRUE(second.list_files.has_value());
  EXPECT_EQ(Sh(second.list_files->command),
            work + "/opt/demo\n" + work + "/opt/demo/bin/demo\n");  // the link is not a file

  PackageInstallPlan corrupt = plan_for("demo-3.tar.gz");
  EXPECT_NE(install(corrupt)->status.exit_code, 0);
  ASSERT_TRUE(corrupt.undo.has_value());
  Sh(corrupt.undo->command);
  EXPECT_EQ(Sh("cat '" + work + "/opt/demo/bin/demo'"), "two\n");
  EXPECT_EQ(Sh("ls -A '" + work + "/opt'"), "demo\n");
  Sh("rm -rf '" + work + "'");
}

TEST(PackageInstallTest, OwnInstallAndUninstallRunAsWrittenWithPlaceholders) {
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.file_glob = "*.deb";
  deb.install = "sudo dpkg -i /tmp/{file} # {app_name} {version}";
  deb.uninstall = "sudo apt-get remove -y {app_name}";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(), {Artifact("d/demo_9.deb", PackageFormat::kDeb)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PackageInstallPlan& p = plan->packages[0];
  ASSERT_EQ(p.installers.size(), 1u);
  EXPECT_EQ(p.installers[0].tool, "");
  EXPECT_EQ(p.installers[0].install.command, "sudo dpkg -i /tmp/demo_9.deb # demo 1.2.3");
  ASSERT_TRUE(p.remove.has_value());
  EXPECT_EQ(p.remove->command, "sudo apt-get remove -y demo");
  EXPECT_TRUE(p.remove->may_fail);
  EXPECT_FALSE(p.privileged);                       // its own sudo, not ours
  EXPECT_EQ(p.verify[0].step, "verify-installed");  // still checked in the database
}

TEST(PackageInstallTest, HostileFileNamesAreRenamedAndQuoted) {
  const std::string hostile = "/b/dist/-x $(touch pwned) `id` 'q' \"d\";|&.deb";
  EXPECT_EQ(RemoteFileName(hostile), "_x___touch_pwned___id___q___d____.deb");
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.file_glob = "*.deb";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(), {Artifact(hostile, PackageFormat::kDeb)},
                         {.remote_dir = "/tmp/it's here/"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PackageInstallPlan& p = plan->packages[0];
  EXPECT_EQ(p.local_path, hostile);
  EXPECT_EQ(p.remote_path, "/tmp/it's here/_x___touch_pwned___id___q___d____.deb");
  // The shell sees the path as one word, exactly.
  EXPECT_EQ(Sh("printf '%s' " + ShellQuote(p.remote_path)), p.remote_path);
  for (const std::string& command : AllCommands(p)) {
    Sh("sh -n -c " + ShellQuote(command));  // every command parses
  }
  // ShellQuote itself survives anything a name can hold.
  const std::string nasty = "a'b\"c$d`e\\f\ng;h|i&j*k?l[m] ~n";
  EXPECT_EQ(Sh("printf '%s' " + ShellQuote(nasty)), nasty);
}

TEST(PackageInstallTest, VersionCheckAcceptsDebianRevisionsOnly) {
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.file_glob = "*.deb";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(), {Artifact("d/demo.deb", PackageFormat::kDeb)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const std::string command = plan->packages[0].verify[1].command;
  // Run only its `case` part against chosen versions.
  const std::string check = command.substr(command.find("case "));
  for (const char* good : {"1.2.3", "1.2.3-1", "1.2.3+dfsg", "1.2.3~rc1", "1.2.3.4"}) {
    absl::StatusOr<CommandResult> r = RunCommand(
        {"/bin/sh", "-c", std::string("have=") + good + "; " + check}, {}, absl::Seconds(10));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status.exit_code, 0) << good << ": " << r->err;
  }
  for (const char* bad : {"1.2.30", "1.2", "0.1.2.3", ""}) {
    absl::StatusOr<CommandResult> r = RunCommand(
        {"/bin/sh", "-c", std::string("have='") + bad + "'; " + check}, {}, absl::Seconds(10));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status.exit_code, 1) << bad;
    EXPECT_THAT(r->err, HasSubstr("expected 1.2.3")) << bad;
  }
}

TEST(PackageInstallTest, PathMatchesTheEndOfAnArtifactPath) {
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.path = "dist/demo.deb";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(),
                         {Artifact("/src/other/demo.deb", PackageFormat::kDeb),
                          Artifact("/src/app/dist/demo.deb", PackageFormat::kDeb)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->packages[0].local_path, "/src/app/dist/demo.deb");
}

TEST(PackageInstallTest, DefaultGlobIsTheOriginals) {
  PackageConfig deb = Package(PackageFormat::kDeb);  // neither path nor file_glob
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(),
                         {Artifact("d/other-1.deb", PackageFormat::kDeb),
                          Artifact("d/demo-1.deb", PackageFormat::kDeb)});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->packages[0].local_path, "d/demo-1.deb");
}

TEST(PackageInstallTest, NoMatchingArtifactIsAConfigErrorNamingVmAndPackage) {
  PackageConfig rpm = Package(PackageFormat::kRpm);
  rpm.file_glob = "demo-*.rpm";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({Package(PackageFormat::kDeb), rpm}), App(),
                         {Artifact("d/demo.deb", PackageFormat::kDeb)});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(OutcomeOf(plan.status()), Outcome::kConfigError);
  EXPECT_THAT(plan.status().message(), HasSubstr("VM ubuntu, package 2 (rpm)"));
  EXPECT_THAT(plan.status().message(), HasSubstr("no rpm file matches file_glob \"demo-*.rpm\""));
  EXPECT_THAT(plan.status().message(), HasSubstr("are: none"));
}

TEST(PackageInstallTest, SeveralMatchesAreAnError) {
  PackageConfig deb = Package(PackageFormat::kDeb);
  deb.file_glob = "demo_*.deb";
  absl::StatusOr<DeployPlan> plan =
      PlanPackageInstall(Vm({deb}), App(),
                         {Artifact("d/demo_amd64.deb", PackageFormat::kDeb),
                          Artifact("d/demo_arm64.deb", PackageFormat::kDeb)});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(OutcomeOf(plan.status()), Outcome::kConfigError);
  EXPECT_THAT(plan.status().message(), HasSubstr("2 files match"));
  EXPECT_THAT(plan.status().message(), HasSubstr("d/demo_arm64.deb"));
}

TEST(PackageInstallTest, FormatTheVmDoesNotTake) {
  absl::StatusOr<DeployPlan> linux_msi = PlanPackageInstall(
      Vm({Package(PackageFormat::kMsi)}), App(), {Artifact("d/demo-1.msi", PackageFormat::kMsi)});
  ASSERT_FALSE(linux_msi.ok());
  EXPECT_EQ(OutcomeOf(linux_msi.status()), Outcome::kConfigError);
  EXPECT_THAT(linux_msi.status().message(),
              HasSubstr("VM ubuntu, package 1 (msi): msi packages install only in Windows VMs"));

  VmConfig windows = Vm({Package(PackageFormat::kDeb)});
  windows.os_type = OsType::kWindows;
  absl::StatusOr<DeployPlan> windows_deb =
      PlanPackageInstall(windows, App(), {Artifact("d/demo-1.deb", PackageFormat::kDeb)});
  ASSERT_FALSE(windows_deb.ok());
  EXPECT_EQ(OutcomeOf(windows_deb.status()), Outcome::kConfigError);
  EXPECT_THAT(windows_deb.status().message(), HasSubstr("installs only in Linux VMs"));

  windows.packages = {Package(PackageFormat::kMsi)};
  absl::StatusOr<DeployPlan> windows_msi =
      PlanPackageInstall(windows, App(), {Artifact("d/demo-1.msi", PackageFormat::kMsi)});
  ASSERT_FALSE(windows_msi.ok());
  EXPECT_EQ(windows_msi.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(PackageInstallTest, NoPackagesIsAnEmptyPlan) {
  absl::StatusOr<DeployPlan> plan = PlanPackageInstall(Vm({}), App(), {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->vm, "ubuntu");
  EXPECT_TRUE(plan->packages.empty());
}

}  // namespace
}  // namespace mosdat

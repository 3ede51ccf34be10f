// Smoke tests end to end with real parts: `mosdat test --config X` on the embedded
// default (a real Xvnc desktop and its sshd, started by the product), a real headless
// weston for wayland-real, and a real GTK3 app (tests/data/apps/smoke_fixture.c, built
// here with gcc) whose end is chosen by its argument: it segfaults when WAYLAND_DISPLAY
// names a missing socket (the original mOSdat's real bug), stays up, aborts or exits N.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"
#include "core/events.h"
#include "core/file_util.h"
#include "tests/integration/dpkg_test_package.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::seconds kRunTimeout(240);

class SmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_ = dir_.File("smoke_fixture");
    RunResult cflags = RunCommand({"pkg-config", "--cflags", "--libs", "gtk+-3.0"});
    ASSERT_EQ(cflags.exit_code, 0)
        << "libgtk-3-dev is missing (deploy/install-deps.sh): " << cflags.err;
    std::vector<std::string> argv = {"gcc", "-g", "-O0",
                                     "-o",  app_, SourcePath("tests/data/apps/smoke_fixture.c")};
    std::istringstream flags(cflags.out);
    for (std::string flag; flags >> flag;) argv.push_back(flag);
    RunResult built = RunCommand(argv);
    ASSERT_EQ(built.exit_code, 0) << built.err;
  }

  // A config running `app_ mode...` with the given tests and extra [app] lines.
  std::string WriteConfig(const std::vector<std::string>& args, const std::string& tests,
                          const std::string& app_extra = "") {
    std::string toml = "[app]\nname = \"smoke-fixture\"\nbinary = \"" + app_ + "\"\nargs = [";
    for (size_t i = 0; i < args.size(); ++i) toml += (i ? ", \"" : "\"") + args[i] + "\"";
    toml += "]\ntimeout = 3\n" + app_extra + "\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n" +
            tests;
    std::string path = dir_.File("smoke.toml");
    std::ofstream(path) << toml;
    return path;
  }

  RunResult Test(const std::string& config, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {
        BuiltBinary("cli/mosdat"), "test", "--config", config, "--results", dir_.File("results")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, {}, kRunTimeout);
  }

  // The job directory of `test` (results/functional/<run>/<test>/local, or
  // results/functional/<run>/local for a one-test run) of the newest run.
  std::string JobDir(const std::string& test) {
    std::string found;
    std::error_code error;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.File("results"), error)) {
      if (entry.path().filename() != "events.jsonl") continue;
      std::string job = entry.path().parent_path().string();
      if (test.empty() || entry.path().parent_path().parent_path().filename() == test) found = job;
    }
    return found;
  }

  std::vector<Event> Events(const std::string& job_dir) {
    absl::StatusOr<std::vector<Event>> events = ReadEventLog(job_dir + "/events.jsonl");
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<Event>{};
  }

  const Event* SmokeRun(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (e.type == EventType::kStepFinished && e.step_kind == "smoke-run") return &e;
    }
    return nullptr;
  }

  TempDir dir_;
  std::string app_;
};

const char kFourVariants[] =
    "[[test]]\nname = \"wayland-real\"\nvariant = \"wayland-real\"\n"
    "[[test]]\nname = \"wayland-fake\"\nvariant = \"wayland-fake\"\n"
    "[[test]]\nname = \"wayland-nodisp\"\nvariant = \"wayland-nodisp\"\n"
    "[[test]]\nname = \"x11\"\nvariant = \"x11\"\n";

// The original's bug: an app that crashes when WAYLAND_DISPLAY names a missing socket
// fails wayland-fake with 139, recognised as SIGSEGV, and passes the others at 124.
TEST_F(SmokeTest, TheFourVariantsCatchTheWaylandFallbackCrash) {
  RunResult run = Test(WriteConfig({"wayland-crash"}, kFourVariants));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;  // a test failed
  // The summary: VM x variant, verdict, exit code.
  EXPECT_THAT(run.out, HasSubstr("exit"));
  EXPECT_THAT(run.out,
              ::testing::ContainsRegex("fail +wayland-fake on local \\(wayland-fake\\) +139 "));
  for (const char* variant : {"wayland-real", "wayland-nodisp", "x11"}) {
    EXPECT_THAT(run.out, ::testing::ContainsRegex(absl::StrCat("pass +", variant, " on local \\(",
                                                               variant, "\\) +124 ")))
        << run.out;
  }
  EXPECT_THAT(run.out, HasSubstr("killed by signal 11 (SIGSEGV): exit code 139 -> fail"));

  // wayland-fake: the crash, its output, the backtrace (or why there is none), JUnit.
  std::string fake = JobDir("wayland-fake");
  ASSERT_FALSE(fake.empty()) << run.out;
  std::vector<Event> events = Events(fake);
  const Event* app = SmokeRun(events);
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, StepStatus::kFailed);
  ASSERT_TRUE(app->output.has_value());
  EXPECT_EQ(app->output->exit_code, 139);
  EXPECT_THAT(app->output->err, HasSubstr("no Wayland socket at WAYLAND_DISPLAY=mosdat-no-such"));
  bool backtrace_reported = false;
  for (const Event& e : events) {
    if (e.type != EventType::kLog) continue;
    if (absl::StartsWith(e.text, "backtrace (best effort")) {
      backtrace_reported = true;
      EXPECT_THAT(e.text, HasSubstr("crash"));  // the fixture's function, from its core
    } else if (absl::StartsWith(e.text, "no backtrace: ")) {
      backtrace_reported = true;
    }
  }
  EXPECT_TRUE(backtrace_reported);
  std::string junit = ReadFileOrEmpty(fake + "/junit.xml");
  EXPECT_THAT(junit, HasSubstr("failures=\"1\""));
  EXPECT_THAT(junit, HasSubstr("killed by signal 11 (SIGSEGV): exit code 139 -&gt; fail"));

  // wayland-real ran against a real weston (started and stopped by the agent); x11 has
  // the screenshot taken while the app ran.
  std::vector<Event> real = Events(JobDir("wayland-real"));
  bool weston = false, stopped = false;
  for (const Event& e : real) {
    if (e.type == EventType::kStepFinished && e.step_kind == "smoke-environment") {
      weston = absl::StrContains(e.reason, "headless weston on Wayland socket mosdat-wayland-");
    }
    if (e.type == EventType::kStepFinished && e.step_kind == "smoke-cleanup") {
      stopped = e.status == StepStatus::kPassed;
    }
    if (e.type == EventType::kLog && absl::StartsWith(e.text, "app started")) {
      EXPECT_THAT(e.text, HasSubstr("WAYLAND_DISPLAY=mosdat-wayland-"));
      EXPECT_THAT(e.text, HasSubstr("GDK_BACKEND=(unset)"));
    }
  }
  EXPECT_TRUE(weston);
  EXPECT_TRUE(stopped);
  ASSERT_NE(SmokeRun(real), nullptr);
  EXPECT_EQ(SmokeRun(real)->output->exit_code, 124);
  EXPECT_TRUE(SmokeRun(real)->output->timed_out);
  EXPECT_THAT(SmokeRun(real)->output->out, HasSubstr("mode wayland-crash on GdkWaylandDisplay"));

  std::string x11 = JobDir("x11");
  std::vector<Event> x11_events = Events(x11);
  const Event* x11_app = SmokeRun(x11_events);
  ASSERT_NE(x11_app, nullptr);
  EXPECT_THAT(x11_app->output->out, HasSubstr("on GdkX11Display"));
  ASSERT_FALSE(x11_app->screenshot.empty());
  EXPECT_TRUE(fs::exists(x11 + "/" + x11_app->screenshot)) << x11_app->screenshot;
  EXPECT_THAT(x11_app->screenshot, HasSubstr("running"));
}

// Exit codes: abort is 134 (fail), a code the table lacks is unknown (a failure, never
// a pass), and [app.exit_codes] overrides the table.
TEST_F(SmokeTest, ExitCodesAreJudgedByTheTableAndItsOverrides) {
  const std::string x11 = "[[test]]\nname = \"x11\"\nvariant = \"x11\"\n";
  RunResult aborted = Test(WriteConfig({"abort"}, x11), {"--json"});
  EXPECT_EQ(aborted.exit_code, 1) << aborted.out << aborted.err;
  nlohmann::json summary = nlohmann::json::parse(aborted.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << aborted.out;
  EXPECT_EQ(summary["jobs"][0]["verdict"], "fail");
  EXPECT_EQ(summary["jobs"][0]["exit_code"], 134);
  EXPECT_EQ(summary["jobs"][0]["variant"], "x11");
  EXPECT_EQ(summary["jobs"][0]["reason"], "killed by signal 6 (SIGABRT): exit code 134 -> fail");

  RunResult unknown = Test(WriteConfig({"exit", "3"}, x11));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out << unknown.err;
  EXPECT_THAT(unknown.out, ::testing::ContainsRegex("unknown +x11 on local \\(x11\\) +3 "));
  EXPECT_THAT(unknown.out, HasSubstr("exited 3: exit code 3 -> unknown"));

  RunResult passed = Test(WriteConfig({"exit", "3"}, x11, "[app.exit_codes]\n3 = \"pass\"\n"));
  EXPECT_EQ(passed.exit_code, 0) << passed.out << passed.err;
  EXPECT_THAT(passed.out, ::testing::ContainsRegex("pass +x11 on local \\(x11\\) +3 "));

  RunResult quick = Test(WriteConfig({"exit0"}, x11));
  EXPECT_EQ(quick.exit_code, 0) << quick.out << quick.err;
  EXPECT_THAT(quick.out, HasSubstr("exited 0: exit code 0 -> pass"));
}

// `mosdat functional` runs scenarios only: it skips smoke tests with a note, and a
// config with nothing else is a usage error.
TEST_F(SmokeTest, FunctionalSkipsSmokeTests) {
  const std::string config = WriteConfig({"exit0"}, kFourVariants);
  RunResult functional =
      RunCommand({BuiltBinary("cli/mosdat"), "functional", "--config", config}, {}, kRunTimeout);
  EXPECT_EQ(functional.exit_code, 2) << functional.out << functional.err;
  EXPECT_THAT(functional.err, HasSubstr("run with `mosdat test` or `mosdat run`"));
  EXPECT_THAT(functional.err, HasSubstr("only smoke tests; run them with `mosdat test`"));
}

// A config for the fixture app installed from package `name` (a [[vm.package]] of
// `format`), with the x11 and wayland-fake variants.
std::string PackagedAppConfig(const std::string& dir, const std::string& name,
                              const std::string& format, const std::string& extra = "") {
  std::string path = dir + "/packaged.toml";
  std::ofstream(path) << "[app]\nname = \"" << name << "\"\nbinary = \"/opt/" << name
                      << "/smoke_fixture\"\nargs = [\"wayland-crash\"]\ntimeout = 3\n"
                      << "version = \"1.2.3\"\n\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
                      << "[[vm.package]]\nformat = \"" << format << "\"\n\n"
                      << "[[test]]\nname = \"x11\"\nvariant = \"x11\"\n"
                      << "[[test]]\nname = \"wayland-fake\"\nvariant = \"wayland-fake\"\n"
                      << "[[test]]\nname = \"installed\"\nscenario = \"installed.yaml\"\n"
                      << extra;
  // The local VM starts the app once the package installed it: its window is there.
  std::ofstream(dir + "/installed.yaml")
      << "name: installed\nsteps:\n  - shell: 'pgrep -f /opt/" << name << "/smoke_fixture'\n";
  return path;
}

// `mosdat test --package`: the fixture app, packaged as a real .deb, goes to the
// (embedded) coordinator by content, the agent fetches it, and every job installs it
// through the local VM's sshd with the real apt-get before its variant runs the
// installed copy: wayland-fake catches the crash (139), x11 passes (124); a functional
// test's local VM starts the app once the package has installed it. With [verify], an
// install job checks the installed copy first: the ELF binary read back from the VM.
TEST_F(SmokeTest, APackageGivenToTestIsInstalledBeforeEachJob) {
  DpkgTestPackage package("mosdat-test-app");
  const std::string installed = "/opt/" + package.name() + "/smoke_fixture";
  const std::string deb =
      package.BuildDeb(dir_.path(), "1.2.3-1", {{installed, ReadFileOrEmpty(app_)}});
  ASSERT_FALSE(deb.empty());
  ASSERT_FALSE(package.Installed());
  const std::string verify = "\n[[verify.binary]]\npath = \"opt/" + package.name() +
                             "/smoke_fixture\"\nstrings = [\"wayland-crash\"]\n";
  RunResult run =
      Test(PackagedAppConfig(dir_.path(), package.name(), "deb", verify), {"--package", deb});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;  // wayland-fake failed
  EXPECT_THAT(run.out, ::testing::ContainsRegex("pass +install on local "));
  std::vector<std::string> checks;
  for (const Event& e : Events(JobDir("install"))) {
    if (e.type == EventType::kStepFinished && e.label.rfind("contents: ", 0) == 0) {
      checks.push_back(absl::StrCat(e.label, "=", Absl(ToString(e.status))));
    }
  }
  EXPECT_THAT(checks, ::testing::ElementsAre(::testing::AllOf(HasSubstr("wayland-crash"),
                                                              ::testing::EndsWith("=passed"))));
  EXPECT_THAT(run.out, HasSubstr("package " + package.name() + "_1.2.3-1_all.deb ("));
  EXPECT_THAT(run.out,
              ::testing::ContainsRegex("fail +wayland-fake on local \\(wayland-fake\\) +139 "));
  EXPECT_THAT(run.out, ::testing::ContainsRegex("pass +x11 on local \\(x11\\) +124 "));
  EXPECT_THAT(run.out, ::testing::ContainsRegex("pass +installed on local "));
  EXPECT_TRUE(package.Installed());
  for (const char* test : {"x11", "wayland-fake", "installed"}) {
    std::vector<std::string> steps;
    for (const Event& e : Events(JobDir(test))) {
      if (e.type == EventType::kStepFinished && e.step_kind == "deploy") {
        steps.push_back(absl::StrCat(e.label, "=", Absl(ToString(e.status))));
      }
    }
    EXPECT_THAT(steps,
                ::testing::IsSupersetOf(
                    {"package 1 (deb): upload=passed", "package 1 (deb): checksum=passed",
                     "package 1 (deb): install=passed", "package 1 (deb): verify-version=passed",
                     "package 1 (deb): verify-binary=passed"}))
        << test;
  }
}

// Packages the VMs cannot take are refused when the run is submitted, before any VM
// changes: a format no [[vm.package]] of the VM names, a file whose name says no
// format, and a VM without [[vm.package]]. Each is a config error (exit 3).
TEST_F(SmokeTest, PackagesNoVmTakesAreRefusedBeforeAnythingRuns) {
  const std::string rpm = dir_.File("mosdat-never-1.0.x86_64.rpm");
  std::ofstream(rpm) << "not installed";
  RunResult wrong_format =
      Test(PackagedAppConfig(dir_.path(), "mosdat-never", "deb"), {"--package", rpm});
  EXPECT_EQ(wrong_format.exit_code, 3) << wrong_format.out << wrong_format.err;
  EXPECT_THAT(wrong_format.err, HasSubstr("local"));
  EXPECT_THAT(wrong_format.out, Not(HasSubstr("job(s)")));

  const std::string zip = dir_.File("mosdat-never.zip");
  std::ofstream(zip) << "not a package";
  RunResult unknown =
      Test(PackagedAppConfig(dir_.path(), "mosdat-never", "deb"), {"--package", zip});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.out << unknown.err;
  EXPECT_THAT(unknown.err, HasSubstr("cannot tell the package format of mosdat-never.zip"));

  const std::string deb = dir_.File("mosdat-never_1.0_all.deb");
  std::ofstream(deb) << "not installed";
  RunResult no_entry = Test(WriteConfig({"exit0"}, kFourVariants), {"--package", deb});
  EXPECT_EQ(no_entry.exit_code, 3) << no_entry.out << no_entry.err;
  EXPECT_THAT(no_entry.err, HasSubstr("VM \"local\" has no [[vm.package]] entry"));

  RunResult missing =
      Test(WriteConfig({"exit0"}, kFourVariants), {"--package", dir_.File("nope.deb")});
  EXPECT_EQ(missing.exit_code, 2) << missing.out << missing.err;  // CLI11: not a file

  // A [[test]] named like the install jobs, in a run that has them.
  RunResult clash = Test(PackagedAppConfig(dir_.path(), "mosdat-never", "deb",
                                           "[[test]]\nname = \"install\"\nvariant = \"x11\"\n"
                                           "[verify]\nsymbols = [\"x\"]\n"),
                         {"--package", deb});
  EXPECT_EQ(clash.exit_code, 3) << clash.out << clash.err;
  EXPECT_THAT(clash.err, HasSubstr("which is what mOSdat calls its install jobs"));
}

// A missing app is a config error naming the VM, not a crash verdict.
TEST_F(SmokeTest, AnAppThatIsNotThereIsAConfigError) {
  std::string config = WriteConfig({"exit0"}, "[[test]]\nname = \"x11\"\nvariant = \"x11\"\n");
  fs::remove(app_);
  RunResult run = Test(config);
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_THAT(run.out + run.err, HasSubstr("is not an executable on this machine"));
}

}  // namespace
}  // namespace mosdat::testing

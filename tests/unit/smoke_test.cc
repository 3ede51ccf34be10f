// How a smoke test's app ending becomes an exit code, a verdict and a job verdict
// (core/smoke.h), with the seed's table and with [app.exit_codes] overrides parsed
// from real config text.
#include "core/smoke.h"

#include <gtest/gtest.h>

#include "core/config_parser.h"
#include "core/outcome.h"

namespace mosdat {
namespace {

AppEnd Exited(int code) { return {.kind = AppEnd::Kind::kExited, .code = code}; }
AppEnd Signaled(int signal) { return {.kind = AppEnd::Kind::kSignaled, .signal = signal}; }
AppEnd TimedOut() { return {.kind = AppEnd::Kind::kTimedOut, .after_stop = "killed by signal 15"}; }

Config Parse(const std::string& extra) {
  Diagnostics diagnostics;
  Config config =
      ParseConfig("[app]\nname = \"a\"\nbinary = \"/usr/bin/a\"\ntimeout = 5\n" + extra +
                      "\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
                      "[[test]]\nname = \"fake\"\nvariant = \"wayland-fake\"\n",
                  "smoke.toml", &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  return config;
}

TEST(SmokeTest, SeedExitCodesTellSignalsFromExitsOnlyInTheirDescription) {
  EXPECT_EQ(SeedExitCode(Exited(0)), 0);
  EXPECT_EQ(SeedExitCode(TimedOut()), 124);
  EXPECT_EQ(SeedExitCode(Signaled(11)), 139);
  EXPECT_EQ(SeedExitCode(Signaled(6)), 134);
  EXPECT_EQ(SeedExitCode(Exited(139)), 139);
  EXPECT_EQ(DescribeAppEnd(Signaled(11), 5), "killed by signal 11 (SIGSEGV)");
  EXPECT_EQ(DescribeAppEnd(Signaled(6), 5), "killed by signal 6 (SIGABRT)");
  EXPECT_EQ(DescribeAppEnd(Exited(139), 5), "exited 139");
  EXPECT_EQ(DescribeAppEnd(TimedOut(), 5),
            "still running after 5 s (timeout); stopped by mOSdat (then killed by signal 15)");
  EXPECT_EQ(SignalName(200), "signal 200");
}

TEST(SmokeTest, TheSeedsTableJudgesEveryEnd) {
  const std::map<int, Verdict> table = DefaultExitCodes();
  EXPECT_EQ(SmokeVerdict(Exited(0), table), Verdict::kPass);
  EXPECT_EQ(SmokeVerdict(TimedOut(), table), Verdict::kPass);
  EXPECT_EQ(SmokeVerdict(Signaled(11), table), Verdict::kFail);
  EXPECT_EQ(SmokeVerdict(Signaled(6), table), Verdict::kFail);
  EXPECT_EQ(SmokeVerdict(Exited(6), table), Verdict::kFail);
  EXPECT_EQ(SmokeVerdict(Exited(3), table), Verdict::kUnknown);
  EXPECT_EQ(SmokeVerdict(Signaled(9), table), Verdict::kUnknown);  // 137

  EXPECT_EQ(SmokeReason(Signaled(11), 5, table),
            "killed by signal 11 (SIGSEGV): exit code 139 -> fail");
  EXPECT_EQ(SmokeReason(Exited(3), 5, table),
            "exited 3: exit code 3 -> unknown (not in the exit-code table; list it in "
            "[app.exit_codes])");
}

// Unknown is never a pass: a test failure for the job and for the exit code.
TEST(SmokeTest, UnknownIsReportedAsUnknownAndFailsTheRun) {
  EXPECT_EQ(JobVerdictOf(Verdict::kPass), JobVerdict::kPass);
  EXPECT_EQ(JobVerdictOf(Verdict::kFail), JobVerdict::kFail);
  EXPECT_EQ(JobVerdictOf(Verdict::kUnknown), JobVerdict::kUnknown);
  EXPECT_EQ(ToString(JobVerdict::kUnknown), "unknown");
  // The CLI maps outcomes to exit codes (cli/exit_codes.h): a test failure is 1.
  EXPECT_EQ(OutcomeOf(JobVerdictOf(Verdict::kUnknown)), Outcome::kTestFailed);
  EXPECT_EQ(OutcomeOf(JobVerdictOf(Verdict::kFail)), Outcome::kTestFailed);
  EXPECT_EQ(OutcomeOf(JobVerdictOf(Verdict::kPass)), Outcome::kPassed);
}

TEST(SmokeTest, AppExitCodesOverrideTheTable) {
  // Entries override code by code; the original's lists replace a verdict's codes.
  Config entries = Parse("[app.exit_codes]\n3 = \"pass\"\n124 = \"fail\"\n");
  absl::StatusOr<SmokeSpec> spec = SmokeSpecFor(entries, entries.tests[0], entries.vms[0]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(SmokeVerdict(Exited(3), spec->exit_codes), Verdict::kPass);
  EXPECT_EQ(SmokeVerdict(TimedOut(), spec->exit_codes), Verdict::kFail);
  EXPECT_EQ(SmokeVerdict(Signaled(11), spec->exit_codes), Verdict::kFail);

  Config lists = Parse("[app.exit_codes]\npass = [0]\nfail = [139]\n");
  spec = SmokeSpecFor(lists, lists.tests[0], lists.vms[0]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(SmokeVerdict(TimedOut(), spec->exit_codes), Verdict::kUnknown);   // 124 dropped
  EXPECT_EQ(SmokeVerdict(Signaled(6), spec->exit_codes), Verdict::kUnknown);  // 134 dropped
  EXPECT_EQ(SmokeVerdict(Signaled(11), spec->exit_codes), Verdict::kFail);
}

TEST(SmokeTest, SpecCarriesTheAppAndTheVmsOwnPath) {
  Config config = Parse("args = [\"--x\"]\n[app.env]\nA = \"1\"\n");
  absl::StatusOr<SmokeSpec> spec = SmokeSpecFor(config, config.tests[0], config.vms[0]);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->variant, SmokeVariant::kWaylandFake);
  EXPECT_EQ(spec->binary, "/usr/bin/a");
  EXPECT_EQ(spec->args, std::vector<std::string>{"--x"});
  EXPECT_EQ(spec->env.at("A"), "1");
  EXPECT_EQ(spec->timeout_seconds, 5);
  config.vms[0].app_path = "/opt/a/a";
  EXPECT_EQ(SmokeSpecFor(config, config.tests[0], config.vms[0])->binary, "/opt/a/a");
  config.vms[0].app_path.clear();
  config.app.binary.clear();
  absl::StatusOr<SmokeSpec> none = SmokeSpecFor(config, config.tests[0], config.vms[0]);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("has no app to run"), std::string::npos);
}

TEST(SmokeTest, TheOriginalsScriptsNameTheirVariant) {
  EXPECT_EQ(VariantOfScript("test-wayland-fake.sh"), SmokeVariant::kWaylandFake);
  EXPECT_EQ(VariantOfScript("shared/scenarios/smoke-linux/test-x11.sh"), SmokeVariant::kX11);
  EXPECT_EQ(VariantOfScript("test-x11-gpu.sh"), SmokeVariant::kX11);
  EXPECT_EQ(VariantOfScript("test-wayland.sh"), SmokeVariant::kWaylandReal);
  EXPECT_EQ(VariantOfScript("test-no-display.sh"), SmokeVariant::kWaylandNoDisplay);
  EXPECT_EQ(VariantOfScript("my-test.sh"), std::nullopt);
  Config config = Parse("");
  TestConfig script = config.tests[0];
  script.variant.reset();
  script.script = "custom.sh";
  absl::StatusOr<SmokeSpec> spec = SmokeSpecFor(config, script, config.vms[0]);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find("cannot tell the smoke variant of script \"custom.sh\""),
            std::string::npos);
}

TEST(SmokeTest, EachVariantSetsItsDisplayEnvironment) {
  SmokeSpec spec;
  spec.env = {{"GDK_BACKEND", "wayland"}, {"KEEP", "1"}};
  spec.variant = SmokeVariant::kWaylandFake;
  SmokeEnvironment fake = SmokeEnvironmentFor(spec, "", "missing-0");
  EXPECT_EQ(fake.set.at("WAYLAND_DISPLAY"), "missing-0");
  EXPECT_EQ(fake.set.count("GDK_BACKEND"), 0u);  // the app picks its backend itself
  EXPECT_EQ(fake.set.at("KEEP"), "1");
  spec.variant = SmokeVariant::kWaylandReal;
  EXPECT_EQ(SmokeEnvironmentFor(spec, "w-1", "m").set.at("WAYLAND_DISPLAY"), "w-1");
  EXPECT_TRUE(SmokeEnvironmentFor(spec, "", "m").session_wayland);
  spec.variant = SmokeVariant::kWaylandNoDisplay;
  SmokeEnvironment nodisp = SmokeEnvironmentFor(spec, "", "m");
  EXPECT_EQ(nodisp.set.count("WAYLAND_DISPLAY"), 0u);
  EXPECT_NE(std::find(nodisp.unset.begin(), nodisp.unset.end(), "WAYLAND_DISPLAY"),
            nodisp.unset.end());
  spec.variant = SmokeVariant::kX11;
  SmokeEnvironment x11 = SmokeEnvironmentFor(spec, "", "m");
  EXPECT_EQ(x11.set.at("GDK_BACKEND"), "x11");  // the variant wins over [app.env]
  EXPECT_EQ(x11.set.at("QT_QPA_PLATFORM"), "xcb");
  EXPECT_EQ(x11.set.at("XDG_SESSION_TYPE"), "x11");
}

}  // namespace
}  // namespace mosdat

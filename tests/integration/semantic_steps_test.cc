// Semantic targeting end to end: `mosdat functional` runs scenarios whose steps go
// inside the "VM" — a real local desktop reached through a real private sshd — with
// shell, launch, atspi (pointer / action / both), verify_atspi and wait_for on the
// accessibility tree, through the guest helper the agent ships over SFTP. GTK3 (the
// widget factory and the fixture app) and GTK4 (gnome-calculator, whose extents are
// window-relative: passing proves the coordinate mapping). Also through the job
// executor directly: SSH to a "remote" VM (a separate sshd), with a pinned host key
// that matches and one that does not.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/events.h"
#include "core/file_util.h"
#include "core/process.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/sshd_fixture.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/steps/job_executor.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using FixtureScenarioTest = FixtureAppTest;

constexpr char kWaitForToggle[] = R"(
  - wait_for: {any: [{atspi: {role: toggle button, name: Toggle me}}], timeout: 30}
)";

TEST_F(FixtureScenarioTest, ShellCapturesOutputAndExitCodeAndFailsOnTheWrongOne) {
  FunctionalRun run = Run(R"(name: shell
steps:
  - shell: {command: "echo out-$((6*7)); echo err-line >&2; exit 3", expect_exit: 3}
  - shell: "echo display=$DISPLAY"
  - shell: "printf 'not utf-8: \\377\\376 end'"
  - shell: "echo bad >&2; exit 5"
)");
  ASSERT_EQ(run.exit_code, 1) << Dump(run);
  std::vector<const Event*> shells = Finished(run, "shell");
  ASSERT_EQ(shells.size(), 4u) << Dump(run);
  ASSERT_TRUE(shells[0]->output.has_value());
  EXPECT_EQ(shells[0]->status, StepStatus::kPassed);
  EXPECT_EQ(shells[0]->output->exit_code, 3);
  EXPECT_EQ(shells[0]->output->out, "out-42\n");
  EXPECT_EQ(shells[0]->output->err, "err-line\n");
  // The private sshd puts commands into the desktop session, as on a logged-in VM.
  EXPECT_THAT(shells[1]->output->out, ::testing::MatchesRegex("display=:[0-9]+\n"));
  // Bytes that are not UTF-8 travel as U+FFFD instead of breaking the event stream.
  EXPECT_EQ(shells[2]->status, StepStatus::kPassed);
  EXPECT_EQ(shells[2]->output->out, "not utf-8: \uFFFD\uFFFD end");
  EXPECT_EQ(shells[3]->status, StepStatus::kFailed);
  EXPECT_EQ(shells[3]->reason, "the command exited with status 5, expected 0; stderr: bad");
}

TEST_F(FixtureScenarioTest, ClicksByPointerAndByActionAndReadsTypedTextBack) {
  FunctionalRun run = Run(std::string("name: atspi\nsteps:") + kWaitForToggle + R"(
  - atspi: {role: toggle button, name: Toggle me}
    label: pointer click
  - wait_for: {all: [{atspi: {role: toggle button, name: Toggle me, states: [checked]}}], timeout: 5}
  - atspi: {role: toggle button, name: Toggle me, via: action}
    label: accessible action
  - wait_for:
      all: [{atspi: {role: toggle button, name: Toggle me, states: [checked], exists: false}}]
      timeout: 5
  - atspi: {role: toggle button, name: Toggle me, via: both}
  - verify_atspi: {role: toggle button, name: Toggle me, states: [checked]}
  - atspi: {role: text, index: 0}
  - type: "typed ✓"
  - wait_for: {all: [{atspi: {role: text, index: 0, text: "typed ✓"}}], timeout: 5}
  - verify_atspi: {role: text, text_substr: "ped"}
)");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  std::vector<const Event*> atspi = Finished(run, "atspi");
  ASSERT_EQ(atspi.size(), 4u);
  EXPECT_EQ(atspi[0]->candidates.at(0).score, 1.0);  // verified centre
  EXPECT_THAT(atspi[0]->candidates.at(0).description, HasSubstr("Toggle me"));
}

TEST_F(FixtureScenarioTest, AMissingWidgetFailsWithNearMatchesAndATextMismatchSaysWhatItRead) {
  FunctionalRun run = Run(std::string("name: missing\nsteps:") + kWaitForToggle + R"(
  - verify_atspi: {role: toggle button, name: Toggle mee}
    must_pass: false
  - atspi: {role: push button, name: Toggle me}
    must_pass: false
  - verify_atspi: {role: text, index: 0, text: "something else"}
)");
  ASSERT_EQ(run.exit_code, 1) << Dump(run);
  std::vector<const Event*> verifies = Finished(run, "verify_atspi");
  ASSERT_EQ(verifies.size(), 2u);
  EXPECT_EQ(verifies[0]->status, StepStatus::kFailed);
  EXPECT_THAT(verifies[0]->reason, HasSubstr("Toggle mee"));
  EXPECT_THAT(verifies[0]->reason, HasSubstr("near matches: toggle button \"Toggle me\""));
  std::vector<const Event*> atspi = Finished(run, "atspi");
  ASSERT_EQ(atspi.size(), 1u);
  EXPECT_EQ(atspi[0]->status, StepStatus::kFailed);
  EXPECT_THAT(atspi[0]->reason, HasSubstr("toggle button \"Toggle me\""));  // another role
  EXPECT_THAT(verifies[1]->reason, HasSubstr("is \"\", not \"something else\""));
}

// A scenario written the original mOSdat's way runs unchanged: bare selectors in
// wait_for, app_filter (a part of the app's name, any case), name_substr as a flag,
// via: hint (the pointer shows the widget, the accessible action toggles it),
// verify_atspi matching a part of the name, a step that types, presses and pauses,
// retries counting attempts, and {timestamp}.
TEST_F(FixtureScenarioTest, AScenarioInTheOriginalsDialectRunsUnchanged) {
  FunctionalRun run = Run(R"(name: original
steps:
  # ── wait for the window ──
  - wait_for: {any: [{role: "toggle button", name: "Toggle me"}], timeout: 30}
    retries: 1
  - atspi: {role: "toggle button", name: "Toggle", name_substr: true, app_filter: "FIXED_LAYOUT",
            via: "hint"}
    retries: 1
  - wait_for: {all: [{atspi: {role: toggle button, name: Toggle me, states: [checked]}}],
               timeout: 5}
  - verify_atspi: {role: "toggle button", name: "Toggle"}
    retries: 1
  - atspi: {role: "text"}
    retries: 1
  - type: "hello"
    key: "ctrl+a"
    wait: 1
  - shell: "echo run-{timestamp}"
)");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  EXPECT_THAT(run.output, HasSubstr("read in the original mOSdat's dialect")) << Dump(run);
  std::vector<const Event*> atspi = Finished(run, "atspi");
  ASSERT_EQ(atspi.size(), 2u) << Dump(run);
  EXPECT_EQ(atspi[0]->attempt, 1);
  std::vector<const Event*> types = Finished(run, "type");
  ASSERT_EQ(types.size(), 1u);
  ASSERT_EQ(Finished(run, "key").size(), 1u);
  ASSERT_EQ(Finished(run, "wait").size(), 1u);
  std::vector<const Event*> shells = Finished(run, "shell");
  ASSERT_EQ(shells.size(), 1u);
  ASSERT_TRUE(shells[0]->output.has_value());
  EXPECT_THAT(shells[0]->output->out, ::testing::MatchesRegex("run-[0-9]{8}_[0-9]{6}\n"));
}

// The original's run credentials: [functional] test_password (here from the
// environment) is typed and checked by the scenario, and appears in no event, no
// console line and no file of the results — only as •••.
TEST_F(FixtureScenarioTest, RunCredentialsAreTypedButNeverShown) {
  const std::string secret = "s3cret-Pw-7781";
  ASSERT_EQ(setenv("MOSDAT_TEST_RUN_PASSWORD", secret.c_str(), 1), 0);
  const std::string config = WriteFixtureConfig(dir_, R"(name: credentials
steps:
  - wait_for: {any: [{role: "text"}], timeout: 30}
    retries: 1
  - atspi: {role: "text"}
    retries: 1
  - type: "{test_password}"
  - wait_for: {all: [{atspi: {role: text, index: 0, text: "{{ test_password }}"}}], timeout: 5}
)",
                                                "[functional]\ntest_password = "
                                                "\"env:MOSDAT_TEST_RUN_PASSWORD\"\n");
  FunctionalRun run = RunFunctional(config, "fixture", dir_);
  unsetenv("MOSDAT_TEST_RUN_PASSWORD");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  EXPECT_THAT(run.output, ::testing::Not(HasSubstr(secret)));
  EXPECT_THAT(run.output, HasSubstr("•••"));
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
    if (!entry.is_regular_file() || entry.path().extension() == ".png") continue;
    if (entry.path().filename() == "config.toml") continue;
    absl::StatusOr<std::string> text = ReadFile(entry.path().string());
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(text->find(secret), std::string::npos) << entry.path();
  }
}

TEST_F(FixtureScenarioTest, TheHelperIsRestartedWhenItDiesMidRun) {
  // The helper lives at $HOME/.cache/mosdat/ of this desktop's private HOME; the
  // bracket keeps pkill from matching the shell that runs it.
  FunctionalRun run = Run(std::string("name: restart\nsteps:") + kWaitForToggle + R"(
  - shell: "pkill -KILL -f \"$HOME/.cache/mosdat/mosdat_atspi_helpe[r].py\""
  - atspi: {role: toggle button, name: Toggle me}
  - wait_for: {all: [{atspi: {role: toggle button, name: Toggle me, states: [checked]}}], timeout: 5}
)");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  EXPECT_TRUE(LogSays(run, "AT-SPI helper restarted")) << Dump(run);
}

TEST_F(FixtureScenarioTest, LaunchReportsACommandThatFailsAtOnceWithItsOutput) {
  FunctionalRun run = Run(R"(name: launch
steps:
  - launch: {command: "echo no such app here >&2; exit 7", app: never-there, timeout: 60}
)");
  ASSERT_EQ(run.exit_code, 1) << Dump(run);
  std::vector<const Event*> launches = Finished(run, "launch");
  ASSERT_EQ(launches.size(), 1u);
  EXPECT_THAT(launches[0]->reason, HasSubstr("exited with status 7 before application "
                                             "\"never-there\" appeared"));
  // "exited with status" is only said when the exit was seen (the timeout says "no
  // application appeared within"), so the failure did not wait for the 60 s timeout.
  EXPECT_THAT(launches[0]->reason, HasSubstr("no such app here"));
}

TEST_F(FixtureScenarioTest, OcrFindsClicksAndRefusesAmbiguousOrMissingText) {
  FunctionalRun run = Run(R"(name: ocr
steps:
  - wait_for: {any: [{text: Toggle me}], timeout: 30}
  - click: {text: Toggle me}
    label: click the text
  - wait_for: {all: [{atspi: {role: toggle button, name: Toggle me, states: [checked]}}], timeout: 5}
  - ocr: {text: pointer pad}
  - ocr: {text: Tgglo mee}
    timeout: 1
    must_pass: false
  - atspi: {role: text, index: 0}
  - type: pad here
  - wait_for: {all: [{atspi: {role: text, index: 0, text: pad here}}], timeout: 5}
  - wait_for: {all: [{text: pad here}], timeout: 5}
    label: typed text read by OCR, caret and all
  - click: {text: pad}
    label: ambiguous
)");
  ASSERT_EQ(run.exit_code, 1) << Dump(run);
  std::vector<const Event*> clicks = Finished(run, "click");
  ASSERT_EQ(clicks.size(), 2u) << Dump(run);
  EXPECT_EQ(clicks[0]->status, StepStatus::kPassed);
  ASSERT_EQ(clicks[0]->candidates.size(), 1u);
  EXPECT_EQ(clicks[0]->candidates[0].source, "ocr");
  EXPECT_EQ(clicks[0]->candidates[0].description, "Toggle me");
  EXPECT_EQ(clicks[1]->status, StepStatus::kFailed);
  // Both places are named: "pointer pad" (the label) and "pad here" (the entry).
  EXPECT_THAT(clicks[1]->reason,
              ::testing::ContainsRegex("pad.*\\([0-9]+,[0-9]+ [0-9]+x[0-9]+\\).*pad"));
  std::vector<const Event*> ocr = Finished(run, "ocr");
  ASSERT_EQ(ocr.size(), 2u);
  EXPECT_EQ(ocr[0]->status, StepStatus::kPassed);
  EXPECT_EQ(ocr[1]->status, StepStatus::kFailed);
  EXPECT_THAT(ocr[1]->reason, HasSubstr("Tgglo mee"));
  EXPECT_THAT(ocr[1]->reason, HasSubstr("Toggle"));  // the nearest text on screen
}

TEST_F(FixtureScenarioTest, EverySubStepOfABranchHasItsOwnTestCaseAndScreenshots) {
  FunctionalRun run = Run(std::string("name: branches\nsteps:") + kWaitForToggle + R"(
  - wait_for: {any: [{text: "keys"}], timeout: 5}
    label: punctuation around a word is not part of it
  - wait_for: {any: [{text: Tgglo mee}], timeout: 1}
    label: absent text
    must_pass: false
cleanup:
  - if_visible:
      target: {atspi: {role: toggle button, name: Toggle me}}
      then:
        - key: escape
        - if_visible:
            target: {text: Toggle me}
            then: [{checkpoint: nested}]
        - wait_for: {any: [{text: "no such words"}], timeout: 1}
          must_pass: false
)");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  // "keys" is the label's "keys:"; an absent text lists the nearest words read.
  std::vector<const Event*> waits = Finished(run, "wait_for");
  ASSERT_GE(waits.size(), 4u) << Dump(run);
  EXPECT_EQ(waits[1]->status, StepStatus::kPassed) << waits[1]->reason;
  EXPECT_EQ(waits[2]->status, StepStatus::kFailed);
  EXPECT_THAT(waits[2]->reason, HasSubstr("nearest: \"Toggle me\" at ("));

  std::string junit = ReadFileOrEmpty(run.job_dir + "/junit.xml");
  EXPECT_THAT(junit, HasSubstr("name=\"cleanup 04 if_visible"));
  EXPECT_THAT(junit, HasSubstr("name=\"cleanup 04.1 key escape\""));
  EXPECT_THAT(junit, HasSubstr("name=\"cleanup 04.2 if_visible"));
  EXPECT_THAT(junit, HasSubstr("name=\"cleanup 04.2.1 checkpoint"));
  EXPECT_THAT(junit, HasSubstr("name=\"cleanup 04.3 wait_for"));
  int branch_shots = 0;
  for (const auto& file : fs::directory_iterator(run.job_dir)) {
    std::string name = file.path().filename().string();
    if (name.find("-step04.") != std::string::npos) ++branch_shots;
  }
  EXPECT_GE(branch_shots, 4) << "each sub-step's screenshot is named after it";
}

TEST_F(FixtureScenarioTest, AWidgetUnderAnotherAppsWindowIsRefusedSayingWhatIsOnTop) {
  // With a launch step the scenario starts its apps itself: the fixture, then the
  // widget factory, whose window opens over the fixture's.
  FunctionalRun run = Run(absl::StrCat(R"(name: covered
steps:
  - launch: {command: "/usr/bin/python3 )",
                                       SourcePath("tests/data/apps/fixed_layout.py"),
                                       R"(", window: mosdat-fixed-layout, timeout: 30}
  - launch: {command: gtk3-widget-factory, app: gtk3-widget-factory, timeout: 30}
  - wait_for: {any: [{atspi: {role: toggle button, name: togglebutton, states: [showing]}}], timeout: 30}
  - atspi: {role: toggle button, name: Toggle me}
    label: under the widget factory
)"));
  ASSERT_EQ(run.exit_code, 1) << Dump(run);
  std::vector<const Event*> atspi = Finished(run, "atspi");
  ASSERT_EQ(atspi.size(), 1u) << Dump(run);
  EXPECT_EQ(atspi[0]->status, StepStatus::kFailed);
  EXPECT_THAT(atspi[0]->reason, HasSubstr("refused to click the centre"));
  EXPECT_THAT(atspi[0]->reason, HasSubstr("of application \"gtk3-widget-factory\", not one of "));
}

// Scenarios on real apps the other tests do not use, started as the config's app.
class AppScenarioTest : public ::testing::Test {
 protected:
  // `screenshots`: [report].screenshots; "none" sends each step's input right behind
  // the previous one's, as fast as a scenario can.
  FunctionalRun Run(const std::string& binary, const std::string& scenario_yaml,
                    const std::string& screenshots = "all") {
    std::ofstream(dir_.File("scenario.yaml")) << scenario_yaml;
    std::ofstream(dir_.File("config.toml"))
        << "[app]\nname = \"" << binary << "\"\nbinary = \"" << binary
        << "\"\n[report]\nscreenshots = \"" << screenshots
        << "\"\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
           "[[test]]\nname = \"app\"\nscenario = \"scenario.yaml\"\n";
    return RunFunctional(dir_.File("config.toml"), "app", dir_);
  }
  TempDir dir_;
};

// GTK 4: a switch and entries clicked with the pointer (GTK answers their hit test with
// the window), text read back from entries and a text view, and keys typed right after
// a click on the text view land there, not in the entry focused before — many times.
TEST_F(AppScenarioTest, Gtk4SwitchEntryAndTextViewTakeClicksAndTheKeysTypedAfterThem) {
  std::string yaml = R"(name: gtk4
vars:
  app: gtk4-widget-factory
steps:
  - wait_for: {any: [{atspi: {app: "{{ app }}", role: text, name: GtkTextView}}], timeout: 30}
  - atspi: {app: "{{ app }}", role: check box, name: GtkSwitch, index: 0}
    label: switch
  - wait_for: {all: [{atspi: {app: "{{ app }}", role: check box, name: GtkSwitch, index: 0, states: [checked]}}], timeout: 5}
  - atspi: {app: "{{ app }}", role: text, index: 2}
    label: entry
  - key: ctrl+a
  - type: "gtk4 entry"
  - wait_for: {all: [{atspi: {app: "{{ app }}", role: text, index: 2, text: "gtk4 entry"}}], timeout: 5}
  - verify_atspi: {app: "{{ app }}", role: label, name: label, text: label}
)";
  constexpr int kRounds = 12;
  for (int i = 0; i < kRounds; ++i) {
    absl::StrAppend(&yaml, R"(  - atspi: {app: "{{ app }}", role: text, index: 2}
  - atspi: {app: "{{ app }}", role: text, name: GtkTextView}
  - type: "Kx)",
                    i, R"(y"
  - wait_for: {all: [{atspi: {app: "{{ app }}", role: text, name: GtkTextView, text_substr: "Kx)",
                    i, R"(y"}}], timeout: 5}
)");
  }
  absl::StrAppend(&yaml,
                  R"(  - verify_atspi: {app: "{{ app }}", role: text, index: 2, text: "gtk4 entry"}
    label: nothing typed for the text view reached the entry
)");
  FunctionalRun run = Run("gtk4-widget-factory", yaml, "none");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  std::vector<const Event*> atspi = Finished(run, "atspi");
  ASSERT_EQ(atspi.size(), 2u + 2 * kRounds);
  // The switch's hit test found its window, not the switch: recorded as imprecise.
  EXPECT_THAT(atspi[0]->candidates.at(0).description, HasSubstr("imprecise"));
  EXPECT_EQ(atspi[0]->candidates.at(0).score, 1.0);
  // Each click waited for its effect, and said so.
  EXPECT_TRUE(LogSays(run, "GtkTextView")) << Dump(run);
  EXPECT_TRUE(LogSays(run, "its state changed after")) << Dump(run);
}

// mousepad (GTK 3): typing into its text view and reading it back, and its menus —
// popup windows of their own — driven with pointer clicks on their items.
TEST_F(AppScenarioTest, MousepadTextViewAndMenusThroughThePointer) {
  FunctionalRun run = Run("mousepad", R"(name: mousepad
vars:
  app: mousepad
steps:
  - wait_for: {any: [{atspi: {app: "{{ app }}", role: text, states: [showing]}}], timeout: 30}
  - atspi: {app: "{{ app }}", role: text}
    label: the document
  - type: "hello mousepad"
  - wait_for: {all: [{atspi: {app: "{{ app }}", role: text, text: "hello mousepad"}}], timeout: 5}
  - atspi: {app: "{{ app }}", role: menu, name: Edit}
  - atspi: {app: "{{ app }}", role: text}
    label: covered by the open menu
    must_pass: false
  - atspi: {app: "{{ app }}", role: menu item, name_substr: "Select All", states: [showing]}
    label: an item of the popup menu
  - atspi: {app: "{{ app }}", role: menu, name: Edit}
  - atspi: {app: "{{ app }}", role: menu, name_substr: "Convert", states: [showing]}
  - atspi: {app: "{{ app }}", role: menu item, name_substr: "To Uppercase", states: [showing]}
    label: an item of a submenu
  - wait_for: {all: [{atspi: {app: "{{ app }}", role: text, text: "HELLO MOUSEPAD"}}], timeout: 5}
)");
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  std::vector<const Event*> atspi = Finished(run, "atspi");
  ASSERT_EQ(atspi.size(), 7u) << Dump(run);
  EXPECT_EQ(atspi[2]->status, StepStatus::kFailed);
  EXPECT_THAT(atspi[2]->reason, HasSubstr("covered: a popup of mousepad"));
  EXPECT_EQ(atspi[3]->status, StepStatus::kPassed);
  EXPECT_THAT(atspi[3]->candidates.at(0).description, HasSubstr("in a popup"));
  EXPECT_EQ(atspi[6]->status, StepStatus::kPassed);
}

// A "remote" VM: a desktop whose VNC and SSH (a separate sshd) the agent only reaches
// by address, as with a Proxmox VM.
class RemoteVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(sshd_.Start().ok()) << sshd_.log();
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start({});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = std::move(*desktop);
  }

  std::pair<JobVerdict, std::vector<Event>> Run(const std::string& fingerprint) {
    JobSpec job;
    job.job_id = "remote-1";
    job.vm.name = "remote";
    job.vm.provider = VmProvider::kProxmox;
    job.vm.vnc_address = desktop_->vnc_address();
    job.vm.vnc_password = desktop_->vnc_password();
    job.vm.ssh_address = absl::StrCat("127.0.0.1:", sshd_.port());
    job.vm.ssh_user = sshd_.user();
    job.vm.ssh_key_path = sshd_.client_key_path();
    job.vm.host_key_fingerprint = fingerprint;
    job.scenario_path = "s.yaml";
    job.files["s.yaml"] = "name: remote\nsteps:\n  - shell: \"echo hello from $(hostname)\"\n";
    job.screenshots = ScreenshotPolicy::kNone;
    std::vector<Event> events;
    JobVerdict verdict = ExecuteJob(job, [&](Event e) {
      events.push_back(std::move(e));
      return absl::OkStatus();
    });
    return {verdict, events};
  }

  SshdFixture sshd_;
  std::unique_ptr<LocalDesktop> desktop_;
};

TEST_F(RemoteVmTest, APinnedHostKeyThatMatchesConnects) {
  auto [verdict, events] = Run(sshd_.host_key_fingerprint());
  ASSERT_EQ(verdict, JobVerdict::kPass) << events.back().reason;
  bool shell_ran = false;
  for (const Event& e : events) {
    if (e.type == EventType::kStepFinished && e.output) {
      shell_ran = e.output->out.rfind("hello from ", 0) == 0;
    }
  }
  EXPECT_TRUE(shell_ran);
}

TEST_F(RemoteVmTest, AHostKeyMismatchIsRefusedAsAnInfrastructureError) {
  absl::StatusOr<SshKeyFiles> other = sshd_.GenerateKey("impostor");
  ASSERT_TRUE(other.ok()) << other.status();
  auto [verdict, events] = Run(other->fingerprint);
  EXPECT_EQ(verdict, JobVerdict::kError);
  ASSERT_FALSE(events.empty());
  const Event& finished = events.back();
  ASSERT_EQ(finished.type, EventType::kJobFinished);
  EXPECT_THAT(finished.reason, HasSubstr("SSH to VM \"remote\""));
  EXPECT_THAT(finished.reason, HasSubstr(sshd_.host_key_fingerprint()));  // what it offered
  bool ran = false;
  for (const Event& e : events) ran |= e.output.has_value();
  EXPECT_FALSE(ran);  // nothing was executed on a host we could not authenticate
}

}  // namespace
}  // namespace mosdat::testing

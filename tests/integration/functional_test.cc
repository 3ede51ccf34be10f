// `mosdat functional` end to end, as a user runs it: the CLI submits to the embedded
// coordinator over gRPC, the embedded agent leases the job, brings up a real Xvnc
// desktop with a real GTK3 window (tests/data/apps/fixed_layout.py), drives it over
// VNC, and the coordinator writes the evidence.
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/events.h"
#include "core/file_util.h"
#include "core/frame.h"
#include "core/process.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/evidence_copy.h"
#include "runtime/token_auth.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A config for the fixture app with one test running `scenario` (YAML text).
class FunctionalTest : public ::testing::Test {
 protected:
  std::string WriteScenario(const std::string& yaml) { return WriteFixtureConfig(dir_, yaml); }

  std::vector<std::string> Command() {
    return {BuiltBinary("cli/mosdat"), "functional", "--config",
            dir_.File("config.toml"),  "--results",  dir_.File("results")};
  }

  std::vector<std::string> RemoteCommand(const std::string& coordinator) {
    return {BuiltBinary("cli/mosdat"), "functional", "--config", dir_.File("config.toml"),
            "--coordinator",           coordinator,  "--token",  "env:MOSDAT_COORDINATOR_TOKEN"};
  }

  // The single job directory of the single run.
  std::string JobDir() {
    fs::path runs = fs::path(dir_.File("results")) / "functional";
    std::error_code error;
    for (const auto& run : fs::directory_iterator(runs, error)) {
      return (run.path() / "local").string();
    }
    return "";
  }

  // Polls (for up to a minute) until the job's events.jsonl mentions `text`.
  bool WaitForInEvents(const std::string& text) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      if (!JobDir().empty() &&
          ReadFileOrEmpty(JobDir() + "/events.jsonl").find(text) != std::string::npos) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(20));  // poll interval
    }
    return false;
  }

  std::vector<Event> Events() {
    absl::StatusOr<std::vector<Event>> events = ReadEventLog(JobDir() + "/events.jsonl");
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<Event>{};
  }

  TempDir dir_;
};

constexpr char kPassingScenario[] = R"(name: toggle-and-type
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
    label: window drawn
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 5}
    label: toggle drawn pressed
  - click: {x: 170, y: 98}
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 80, width: 300, height: 36}}], timeout: 5}
    label: entry focused
  - type: "héllo wörld €"
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 80, width: 300, height: 36}}], timeout: 5}
    label: text drawn
  - key: ctrl+shift+t
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 140, width: 300, height: 30}}], timeout: 5}
    label: combo label updated
  - checkpoint: done
cleanup:
  - key: escape
)";

TEST_F(FunctionalTest, APassingScenarioExitsZeroWithEvidence) {
  WriteScenario(kPassingScenario);
  RunResult result = RunCommand(Command());
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("pass    fixture on local"));
  EXPECT_THAT(result.out, HasSubstr("results: " + dir_.File("results") + "/functional/"));
  EXPECT_THAT(result.out, HasSubstr("/local/trace.html\n"));  // each job's trace viewer

  std::vector<Event> events = Events();
  ASSERT_FALSE(events.empty());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
  EXPECT_EQ(events.front().type, EventType::kJobStarted);
  EXPECT_EQ(events.back().type, EventType::kJobFinished);
  EXPECT_EQ(events.back().verdict, JobVerdict::kPass);
  int finished = 0;
  for (const Event& e : events) {
    if (e.type == EventType::kStepFinished) {
      ++finished;
      EXPECT_EQ(e.status, StepStatus::kPassed) << e.step_kind << ": " << e.reason;
      EXPECT_GT(e.source_location.find("scenario.yaml:"), 0u);
    }
    if (e.type == EventType::kScreenshot) {
      absl::StatusOr<Frame> png = DecodePng(ReadFileOrEmpty(JobDir() + "/" + e.screenshot));
      ASSERT_TRUE(png.ok()) << e.screenshot;
      EXPECT_EQ(png->width, 1280);
    }
  }
  EXPECT_EQ(finished, 11);  // 10 steps + 1 cleanup
  std::string junit = ReadFileOrEmpty(JobDir() + "/junit.xml");
  EXPECT_THAT(junit, HasSubstr("tests=\"11\" failures=\"0\" errors=\"0\""));
  EXPECT_THAT(junit, HasSubstr("name=\"02 press the toggle\""));
  // Unlabeled steps are named by what they do, in progress lines and reports.
  EXPECT_THAT(result.out, ::testing::ContainsRegex("\\] +8 passed +key ctrl\\+shift\\+t "));
  EXPECT_THAT(junit, HasSubstr("name=\"08 key ctrl+shift+t\""));
  EXPECT_THAT(junit, HasSubstr("name=\"06 type &quot;héllo wörld €&quot;\""));
}

TEST_F(FunctionalTest, AScenarioThatMustFailExitsOneWithAClearReason) {
  // The window is drawn first: a late first paint would be a change of the region.
  WriteScenario(R"(name: must-fail
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
    label: window drawn
  - click: {x: 350, y: 250}
    label: click on nothing
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 1}
    label: toggle should change
  - key: ctrl+a
    label: never reached
)");
  RunResult result = RunCommand(Command());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("fail    fixture on local"));
  EXPECT_THAT(result.out, HasSubstr("fail: step 3 (wait_for: toggle should change, "));
  EXPECT_THAT(result.out,
              HasSubstr("wait_for (any) timed out after 1s; not satisfied: screen_changes"));
  std::vector<Event> events = Events();
  bool failure_shot = false;
  for (const Event& e : events) {
    EXPECT_NE(e.label, "never reached") << "a step after a must_pass failure ran";
    if (e.type == EventType::kScreenshot && e.why == "failure") failure_shot = true;
  }
  EXPECT_TRUE(failure_shot);
  EXPECT_THAT(ReadFileOrEmpty(JobDir() + "/junit.xml"), HasSubstr("failures=\"1\""));
}

TEST_F(FunctionalTest, RetriesAndMustPassFalseAreHonoured) {
  // The window is drawn first: a late first paint would be a change of the region.
  WriteScenario(R"(name: soft-failure
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
    label: window drawn
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 0.3}
    label: optional check
    retries: 2
    must_pass: false
  - key: ctrl+a
    label: still runs
)");
  RunResult result = RunCommand(Command());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  int attempts = 0;
  bool still_ran = false;
  for (const Event& e : Events()) {
    if (e.type == EventType::kStepStarted && e.label == "optional check") ++attempts;
    if (e.type == EventType::kStepFinished && e.label == "still runs") still_ran = true;
  }
  EXPECT_EQ(attempts, 3);
  EXPECT_TRUE(still_ran);
}

TEST_F(FunctionalTest, VisualStepMatchesAReferenceAndIsColourAware) {
  // First run: capture the screen, and cut the toggle out of it as the reference.
  WriteScenario(R"(name: capture
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
)");
  ASSERT_EQ(RunCommand(Command()).exit_code, 0);
  std::string shot;
  for (const Event& e : Events()) {
    if (e.type == EventType::kScreenshot) shot = JobDir() + "/" + e.screenshot;
  }
  absl::StatusOr<Frame> screen = DecodePng(ReadFileOrEmpty(shot));
  ASSERT_TRUE(screen.ok());
  Frame toggle = Crop(*screen, {20, 20, 160, 40});
  WriteFile(dir_.File("toggle.png"), *EncodePng(toggle));
  // The same picture with red and blue swapped: a grey-level matcher could not tell.
  Frame swapped = toggle;
  for (size_t i = 0; i < swapped.rgb.size(); i += 3) std::swap(swapped.rgb[i], swapped.rgb[i + 2]);
  for (size_t i = 0; i < swapped.rgb.size(); i += 3) swapped.rgb[i] = 255 - swapped.rgb[i];
  WriteFile(dir_.File("swapped.png"), *EncodePng(swapped));
  fs::remove_all(dir_.File("results"));

  WriteScenario(R"(name: visual
steps:
  - visual: {reference: toggle.png, region: {x: 20, y: 20, width: 160, height: 40}, timeout: 5}
    label: toggle looks right
  - visual: {reference: swapped.png, region: {x: 20, y: 20, width: 160, height: 40}, threshold: 0.9, timeout: 1}
    label: wrong colours
)");
  RunResult result = RunCommand(Command());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("passed   visual toggle looks right"));
  EXPECT_THAT(result.out, HasSubstr("does not match: best score"));
}

TEST_F(FunctionalTest, VisualCaptureAndCheckWithExcludeAreasAndBlankRefusal) {
  WriteScenario("name: unused\nsteps:\n  - checkpoint: x\n");
  auto visual = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {BuiltBinary("cli/mosdat"), "visual", "--config",
                                     dir_.File("config.toml"),  "--vm",   "local"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  };
  // The toggle and the "keys: ..." label; the label (20,140 300x30) is excluded in one
  // reference and not in the other.
  RunResult masked = visual({"--capture", "--region", "10,10,330,170", "--exclude", "20,140,300,30",
                             "--out", dir_.File("refs/panel.png")});
  ASSERT_EQ(masked.exit_code, 0) << masked.out << masked.err;
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("refs/panel.json")), HasSubstr("\"exclude\""));
  RunResult strict = visual(
      {"--capture", "--region", "10,10,330,170", "--out", dir_.File("refs/panel-strict.png")});
  ASSERT_EQ(strict.exit_code, 0) << strict.err;
  // References that carry their own threshold (sidecar), for steps that set none.
  for (const auto& [name, threshold] : {std::pair{"loose", "0.9"}, std::pair{"tight", "0.995"}}) {
    RunResult captured = visual({"--capture", "--region", "10,10,330,170", "--threshold", threshold,
                                 "--out", dir_.File(absl::StrCat("refs/panel-", name, ".png"))});
    ASSERT_EQ(captured.exit_code, 0) << captured.err;
  }
  RunResult check = visual({"--check", "--reference", dir_.File("refs/panel.png")});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_THAT(check.out,
              ::testing::ContainsRegex("matches: score 1\\.0000 at \\(10,10 330x170\\)"));

  // A flat area is refused: it would match any empty spot of that colour. The reference
  // asked for is unusable, a config error like a blank reference file.
  RunResult blank =
      visual({"--capture", "--region", "600,600,20,20", "--out", dir_.File("refs/blank.png")});
  EXPECT_EQ(blank.exit_code, 3);
  EXPECT_THAT(blank.err, HasSubstr("is blank: it is one flat colour"));
  EXPECT_FALSE(fs::exists(dir_.File("refs/blank.png")));

  // After a key press changes the label, only the reference that excludes it matches.
  WriteScenario(R"(name: masks
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
  - key: ctrl+b
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 140, width: 300, height: 30}}], timeout: 5}
  - visual: {reference: refs/panel.png, threshold: 0.995, timeout: 2}
    label: label excluded
  - visual: {reference: refs/panel-strict.png, threshold: 0.995, timeout: 1}
    label: label included
    must_pass: false
  - visual: {reference: refs/panel-loose.png, timeout: 1}
    label: sidecar threshold 0.9
  - visual: {reference: refs/panel-tight.png, timeout: 1}
    label: sidecar threshold 0.995
)");
  RunResult run = RunCommand(Command());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("passed   visual label excluded"));
  EXPECT_THAT(run.out, HasSubstr("failed   visual label included"));
  // The changed label scores ~0.95: the loose reference's 0.9 lets it pass, the tight
  // one's 0.995 does not (the default, 0.95, would decide neither reliably).
  EXPECT_THAT(run.out, HasSubstr("passed   visual sidecar threshold 0.9 "));
  EXPECT_THAT(run.out, ::testing::ContainsRegex("failed   visual sidecar threshold 0.995 .*"
                                                "\\(threshold 0.995\\)"));
  bool recorded = false;
  for (const Event& e : Events()) {
    if (e.type == EventType::kStepFinished && e.label == "label excluded") {
      ASSERT_EQ(e.candidates.size(), 1u);
      EXPECT_EQ(e.candidates[0].source, "visual");
      EXPECT_EQ(e.candidates[0].x, 10);
      EXPECT_EQ(e.candidates[0].score, 1.0);
      recorded = true;
    }
  }
  EXPECT_TRUE(recorded);
}

// Finds the PID of a direct child of `parent` whose command name is `name`.
pid_t ChildNamed(pid_t parent, const std::string& name) {
  DIR* proc = opendir("/proc");
  pid_t found = -1;
  while (dirent* entry = readdir(proc)) {
    std::string stat = ReadFileOrEmpty(std::string("/proc/") + entry->d_name + "/stat");
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (comm == name && ppid == parent) found = std::stoi(entry->d_name);
  }
  closedir(proc);
  return found;
}

// A region that never holds still is what the app shows, not a broken rig: a test
// failure (exit 1) saying how to get a still region, never exit 4.
TEST_F(FunctionalTest, VisualCaptureOfARegionThatNeverSettlesIsATestFailure) {
  WriteFile(dir_.File("config.toml"),
            "[app]\nname = \"ticker\"\nbinary = \"/usr/bin/python3\"\nargs = [\"" +
                SourcePath("tests/data/apps/ticker.py") +
                "\"]\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n");
  RunResult result =
      RunCommand({BuiltBinary("cli/mosdat"), "visual", "--config", dir_.File("config.toml"), "--vm",
                  "local", "--capture", "--region", "0,0,340,80", "--timeout", "3", "--out",
                  dir_.File("refs/ticker.png")});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("the region did not stay still for"));
  EXPECT_THAT(result.err, HasSubstr("--exclude the moving part"));
  EXPECT_FALSE(fs::exists(dir_.File("refs/ticker.png")));
}

TEST_F(FunctionalTest, KillingXvncMidRunIsAnInfrastructureErrorAndKeepsEarlierEvents) {
  WriteScenario(R"(name: long-wait
steps:
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait_for: {any: [screen_changes: {region: {x: 600, y: 600, width: 10, height: 10}}], timeout: 60}
    label: wait for something that never happens
)");
  // Without retries: this test is about the first attempt's infrastructure error.
  std::vector<std::string> argv = Command();
  argv.push_back("--retries=0");
  absl::StatusOr<Process> mosdat = Process::Spawn({.argv = argv,
                                                   .env = CurrentEnvironment(),
                                                   .stdout_path = dir_.File("out"),
                                                   .stderr_path = dir_.File("err"),
                                                   .new_process_group = false});
  ASSERT_TRUE(mosdat.ok()) << mosdat.status();
  // Wait (polling) until the long wait_for has started, then kill the X server.
  ASSERT_TRUE(WaitForInEvents("wait for something")) << ReadFileOrEmpty(dir_.File("err"));
  pid_t xvnc = ChildNamed(mosdat->pid(), "Xvnc");
  ASSERT_GT(xvnc, 0);
  std::vector<Event> before_kill = Events();
  ASSERT_EQ(kill(xvnc, SIGKILL), 0);

  std::optional<ExitStatus> status = mosdat->Wait(absl::Seconds(90));
  ASSERT_TRUE(status.has_value()) << "mosdat did not finish after Xvnc died";
  std::string out = ReadFileOrEmpty(dir_.File("out"));
  EXPECT_EQ(status->exit_code, 4) << out << ReadFileOrEmpty(dir_.File("err"));
  EXPECT_THAT(out, HasSubstr("error   fixture on local"));

  std::vector<Event> after = Events();
  ASSERT_GT(after.size(), before_kill.size());
  for (size_t i = 0; i < before_kill.size(); ++i) {
    EXPECT_EQ(ToJsonLine(after[i]), ToJsonLine(before_kill[i])) << "event " << i + 1 << " changed";
  }
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].seq, i + 1);
  EXPECT_EQ(after.back().type, EventType::kJobFinished);
  EXPECT_EQ(after.back().verdict, JobVerdict::kError);
  EXPECT_THAT(ReadFileOrEmpty(JobDir() + "/junit.xml"), HasSubstr("errors=\"1\""));
}

TEST_F(FunctionalTest, ABrokenScenarioIsAConfigErrorBeforeAnyDesktopStarts) {
  WriteScenario("name: broken\nsteps:\n  - clik: {x: 1, y: 2}\n");
  RunResult result = RunCommand(Command());
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("scenario.yaml:3:5: steps[0].clik: unknown step type"));
  EXPECT_FALSE(fs::exists(dir_.File("results")));
}

TEST_F(FunctionalTest, AnUnknownTestIsAUsageError) {
  WriteScenario(kPassingScenario);
  std::vector<std::string> command = Command();
  command.insert(command.end(), {"--test", "nope"});
  RunResult result = RunCommand(command);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  // The same words as `mosdat preflight`, which now runs first.
  EXPECT_THAT(result.err, HasSubstr("mosdat functional: --test \"nope\": no [[test]] is named so "
                                    "([[test]] names: fixture), and no scenario file nope.yaml "
                                    "was found for VM \"local\" (looked at: "));
  EXPECT_FALSE(fs::exists(dir_.File("results")));
}

// The original mOSdat's `--test NAME`: no [[test]] is named so, and NAME.yaml in the
// tests folder (here the original's default, shared/scenarios/functional next to the
// config, in the `linux` sub-folder) runs — the coordinator finds the same file among
// the files sent with the run.
// --record: the job's screen as a WebM that plays (ffprobe decodes and counts its
// frames), the screen after each step as a strip, both linked from trace.html.
TEST_F(FunctionalTest, ARecordedRunKeepsAVideoThatPlaysAndItsKeyMoments) {
  WriteScenario(R"(name: recorded
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
  - click: {x: 100, y: 40}
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 5}
  - click: {x: 100, y: 40}
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 5}
)");
  std::vector<std::string> command = Command();
  command.insert(command.end(), {"--record", "--fps", "10"});
  RunResult result = RunCommand(command, {}, kRunTimeout);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const std::string video = JobDir() + "/recording.webm";
  ASSERT_TRUE(fs::exists(video)) << result.out;
  RunResult probe = RunCommand({"ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                                "-show_entries", "stream=nb_read_frames,width,height,codec_name",
                                "-of", "default=noprint_wrappers=1", video});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_THAT(probe.out, HasSubstr("codec_name=vp8"));
  EXPECT_THAT(probe.out, HasSubstr("width=1280"));
  int frames = 0;
  for (absl::string_view line : absl::StrSplit(probe.out, '\n')) {
    if (absl::ConsumePrefix(&line, "nb_read_frames=")) {
      ASSERT_TRUE(absl::SimpleAtoi(line, &frames));
    }
  }
  // The first frame, the two toggles' repaints and the closing frame at least.
  EXPECT_GE(frames, 3) << probe.out;
  absl::StatusOr<Frame> strip = DecodePng(ReadFileOrEmpty(JobDir() + "/recording-strip.png"));
  ASSERT_TRUE(strip.ok()) << strip.status();
  // Five steps: a row of four thumbnails (320 wide, 4 px apart), then one more row.
  EXPECT_EQ(strip->width, 4 * 320 + 3 * 4);
  EXPECT_EQ(strip->height, 2 * 200 + 4);
  EXPECT_THAT(ReadFileOrEmpty(JobDir() + "/trace.html"),
              HasSubstr("<video controls src=\"recording.webm\""));
  bool logged = false;
  for (const Event& e : Events()) {
    if (e.type == EventType::kLog && absl::StrContains(e.text, "key moments")) logged = true;
  }
  EXPECT_TRUE(logged);
}

TEST_F(FunctionalTest, RecordingWithoutFfmpegIsRefusedBeforeAnythingStarts) {
  WriteScenario("name: r\nsteps:\n  - key: a\n");
  TempDir empty_path;
  std::vector<std::string> command = Command();
  command.push_back("--record");
  RunResult result = RunCommand(command, {{"PATH", empty_path.path()}});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("--record needs ffmpeg, which is not installed here"));
  EXPECT_FALSE(fs::exists(dir_.File("results/functional")));
}

TEST_F(FunctionalTest, ATestNameWithoutATestRunsTheScenarioFileOfTheTestsFolder) {
  WriteScenario(kPassingScenario);
  const fs::path linux_dir = fs::path(dir_.path()) / "shared/scenarios/functional/linux";
  fs::create_directories(linux_dir);
  WriteFile((linux_dir / "quick.yaml").string(),
            "name: quick\nsteps:\n"
            "  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, "
            "for: 0.3}]}\n"
            "    label: window drawn\n"
            "  - key: escape\n");
  std::vector<std::string> command = Command();
  command.insert(command.end(), {"--test", "quick"});
  RunResult result = RunCommand(command, {}, kRunTimeout);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("pass    quick on local"));
  std::vector<Event> events = Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().verdict, JobVerdict::kPass);
  int finished = 0;
  for (const Event& e : events) {
    if (e.type != EventType::kStepFinished) continue;
    ++finished;
    EXPECT_THAT(e.source_location, HasSubstr((linux_dir / "quick.yaml").string() + ":"));
  }
  EXPECT_EQ(finished, 2);
}

// The same run across three processes: mosdat-coordinator, mosdat-agent (owning the
// local VM) and the CLI, talking gRPC over loopback TCP with tokens.
TEST_F(FunctionalTest, RunsAcrossSeparateCoordinatorAndAgentProcesses) {
  WriteScenario(kPassingScenario);
  const std::map<std::string, std::string>& env = kServiceEnv;
  ServiceProcess coordinator(CoordinatorArgv(dir_.File("results")), env);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();

  // Without an agent that owns the VM, the run is refused as an infrastructure problem.
  RunResult orphan = RunCommand(RemoteCommand(coordinator.grpc_address()), env);
  EXPECT_EQ(orphan.exit_code, 4) << orphan.err;
  EXPECT_THAT(orphan.err, HasSubstr("no live agent drives VM \"local\""));

  ServiceProcess agent(AgentArgv(coordinator.grpc_address(), {"--agent-id=host-a"}), env);
  ASSERT_TRUE(agent.Start()) << agent.stderr_text();

  RunResult result = RunCommand(RemoteCommand(coordinator.grpc_address()), env);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err << agent.stderr_text();
  EXPECT_THAT(result.out, HasSubstr("pass    fixture on local"));
  ASSERT_FALSE(JobDir().empty());
  EXPECT_EQ(Events().back().verdict, JobVerdict::kPass);

  std::string metrics = HttpGet(coordinator.metrics_port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("mosdat_jobs_finished_total{verdict=\"pass\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("mosdat_coordinator_live_agents 1"));

  // A wrong token is refused before anything runs.
  RunResult intruder = RunCommand(RemoteCommand(coordinator.grpc_address()),
                                  {{"MOSDAT_COORDINATOR_TOKEN", "guess"}});
  EXPECT_EQ(intruder.exit_code, 4);
  EXPECT_THAT(intruder.err, HasSubstr("wrong token"));

  EXPECT_EQ(agent.Terminate(), 0) << agent.stderr_text();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
}

// Leases across real processes: an agent busy with a job for longer than several lease
// timeouts keeps it (its heartbeats run beside the job); an agent that stops (SIGSTOP)
// loses it, the attempt ends as an infrastructure error saying so, and the job runs
// again on another agent that drives the VM, so the CLI gets its answer.
TEST_F(FunctionalTest, ABusyAgentKeepsItsLeaseAndAStoppedOneLosesItsJobToAnother) {
  WriteScenario(R"(name: long
steps:
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait: 4
  - checkpoint: after the long step
)");
  const std::map<std::string, std::string>& env = kServiceEnv;
  std::vector<std::string> argv = CoordinatorArgv(dir_.File("results"));
  argv.push_back("--lease-timeout=1.5");
  argv.push_back("--heartbeat-interval=0.2");
  ServiceProcess coordinator(argv, env);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  ServiceProcess a(AgentArgv(coordinator.grpc_address(), {"--agent-id=host-a"}), env);
  ASSERT_TRUE(a.Start()) << a.stderr_text();

  RunResult busy = RunCommand(RemoteCommand(coordinator.grpc_address()), env);
  EXPECT_EQ(busy.exit_code, 0) << busy.out << busy.err << a.stderr_text();
  EXPECT_THAT(busy.out, ::testing::ContainsRegex("pass    fixture on local +[0-9.]+s  1\n"));
  fs::remove_all(dir_.File("results") + "/functional");

  std::vector<std::string> command = RemoteCommand(coordinator.grpc_address());
  std::map<std::string, std::string> cli_env = CurrentEnvironment();
  cli_env.insert(env.begin(), env.end());
  absl::StatusOr<Process> cli = Process::Spawn({.argv = command,
                                                .env = cli_env,
                                                .stdout_path = dir_.File("out"),
                                                .stderr_path = dir_.File("err")});
  ASSERT_TRUE(cli.ok()) << cli.status();
  // Once the job is under way on host-a, host-a stops answering.
  ASSERT_TRUE(WaitForInEvents("press the toggle")) << ReadFileOrEmpty(dir_.File("err"));
  ASSERT_EQ(kill(a.pid(), SIGSTOP), 0);
  ServiceProcess b(AgentArgv(coordinator.grpc_address(), {"--agent-id=host-b"}), env);
  ASSERT_TRUE(b.Start()) << b.stderr_text();

  std::optional<ExitStatus> status = cli->Wait(absl::Seconds(120));
  kill(a.pid(), SIGCONT);
  ASSERT_TRUE(status.has_value()) << "the CLI never got an answer";
  const std::string out = ReadFileOrEmpty(dir_.File("out"));
  EXPECT_EQ(status->exit_code, 0) << out << ReadFileOrEmpty(dir_.File("err"));
  EXPECT_THAT(out, HasSubstr("attempt 2 of 2 on agent host-b"));
  EXPECT_THAT(out, ::testing::ContainsRegex("pass    fixture on local +[0-9.]+s  2\n"));
  EXPECT_THAT(out, HasSubstr("attempt 1 on host-a: error (lease lost: agent \"host-a\""));
  absl::StatusOr<std::vector<Event>> second = ReadEventLog(JobDir() + "/attempt-2/events.jsonl");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->back().verdict, JobVerdict::kPass);
  EXPECT_EQ(Events().back().verdict, JobVerdict::kError) << "attempt 1 ends with the reason";
  EXPECT_THAT(ReadFileOrEmpty(JobDir() + "/junit.xml"), HasSubstr("(attempt 2 of 2)"));

  EXPECT_EQ(b.Terminate(), 0) << b.stderr_text();
  a.Terminate();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
}

// The run commands against a real coordinator and agent: `run --detach` prints the run
// id, `cancel` stops the running job at its next step (its cleanup runs), `watch`
// follows the run to its end (exit 4: a cancelled run is not a pass), and `runs` lists
// it; the embedded history of this results directory lists the embedded run too.
TEST_F(FunctionalTest, DetachWatchCancelAndTheRunHistory) {
  WriteScenario(R"(name: cancellable
steps:
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait: 60
    label: a long wait
cleanup:
  - key: escape
    label: tidy up
)");
  const std::map<std::string, std::string>& env = kServiceEnv;
  ServiceProcess coordinator(CoordinatorArgv(dir_.File("results")), env);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  ServiceProcess agent(AgentArgv(coordinator.grpc_address(), {"--agent-id=host-a"}), env);
  ASSERT_TRUE(agent.Start()) << agent.stderr_text();
  const std::vector<std::string> connection = {"--coordinator", coordinator.grpc_address(),
                                               "--token", "env:MOSDAT_COORDINATOR_TOKEN"};
  auto mosdat = [&](std::vector<std::string> args) {
    args.insert(args.begin(), BuiltBinary("cli/mosdat"));
    args.insert(args.end(), connection.begin(), connection.end());
    return RunCommand(args, env);
  };

  RunResult detached = mosdat({"run", "--config", dir_.File("config.toml"), "--detach"});
  ASSERT_EQ(detached.exit_code, 0) << detached.out << detached.err;
  const std::string run_id(absl::StripAsciiWhitespace(detached.out));
  ASSERT_FALSE(run_id.empty());
  ASSERT_TRUE(WaitForInEvents("a long wait")) << agent.stderr_text();

  RunResult cancel = mosdat({"cancel", run_id});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_THAT(cancel.out, HasSubstr("1 running job(s) stopping"));
  RunResult watch = mosdat({"watch", run_id});
  EXPECT_EQ(watch.exit_code, 4) << watch.out << watch.err;
  EXPECT_THAT(watch.out, HasSubstr("summary (cancelled)"));
  EXPECT_THAT(watch.out, HasSubstr("cancelled: cancelled by a user"));
  std::vector<Event> events = Events();
  bool cleaned_up = false;
  for (const Event& e : events) {
    cleaned_up |= e.type == EventType::kStepFinished && e.cleanup && e.label == "tidy up";
  }
  EXPECT_TRUE(cleaned_up) << "the cleanup step ran";
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().verdict, JobVerdict::kError);

  RunResult runs = mosdat({"runs", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  nlohmann::json listed = nlohmann::json::parse(runs.out);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["run"], run_id);
  EXPECT_EQ(listed[0]["cancelled"], true);
  RunResult unknown = mosdat({"watch", "no-such-run"});
  EXPECT_NE(unknown.exit_code, 0) << unknown.err;
  EXPECT_THAT(unknown.err, HasSubstr("no run \"no-such-run\""));

  EXPECT_EQ(agent.Terminate(), 0) << agent.stderr_text();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
}

// A coordinator on another machine keeps the evidence there; the CLI copies it home:
// `functional` and `watch` under their --results, every file as the coordinator wrote
// it, and the summary points at the copy. --leave-evidence copies nothing.
TEST_F(FunctionalTest, TheEvidenceOfACoordinatorOnAnotherMachineIsCopiedHere) {
  WriteScenario(kPassingScenario);
  ElsewhereDeployment deployment(dir_.File("coordinator-host"));
  ASSERT_EQ(deployment.error, "");
  auto mosdat = [&](std::vector<std::string> args) {
    args.insert(args.begin(), BuiltBinary("cli/mosdat"));
    for (const std::string& flag : deployment.Connection()) args.push_back(flag);
    return RunCommand(args, kServiceEnv, std::chrono::seconds(180));
  };

  RunResult run = mosdat({"functional", "--config", dir_.File("config.toml"), "--results",
                          dir_.File("here"), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << deployment.coordinator->stderr_text();
  nlohmann::json summary = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << run.out;
  const std::string run_id = summary["run"];
  const std::string remote = deployment.remote_results() + "/functional/" + run_id;
  EXPECT_FALSE(fs::exists(remote)) << "the coordinator's files are visible here";
  // What the coordinator wrote, seen through its own mount namespace.
  const std::string theirs = absl::StrCat("/proc/", deployment.coordinator->pid(), "/root", remote);
  std::map<std::string, std::string> written;
  for (const auto& entry : fs::recursive_directory_iterator(theirs)) {
    if (!entry.is_regular_file()) continue;
    written[entry.path().lexically_relative(theirs).string()] = ReadFileOrEmpty(entry.path());
  }
  ASSERT_FALSE(written.empty());
  EXPECT_TRUE(written.contains("local/events.jsonl")) << ::testing::PrintToString(written.size());
  EXPECT_TRUE(written.contains("local/junit.xml"));
  auto copied = [&](const std::string& root) {
    std::map<std::string, std::string> files;
    const std::string dir = root + "/functional/" + run_id;
    std::error_code error;
    for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
         it.increment(error)) {
      // The copy's marker is this machine's, not the coordinator's.
      if (it->is_regular_file() && it->path().filename() != kEvidenceCopyMarker) {
        files[it->path().lexically_relative(dir).string()] = ReadFileOrEmpty(it->path());
      }
    }
    return files;
  };
  EXPECT_TRUE(copied(dir_.File("here")) == written) << "the copy differs from the original";
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("evidence: ", written.size(), " file(s)")));
  const std::string local_dir = dir_.File("here") + "/functional/" + run_id;
  EXPECT_EQ(summary["results"], local_dir) << run.out;

  RunResult watched = mosdat({"watch", run_id, "--results", dir_.File("again")});
  EXPECT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  EXPECT_TRUE(copied(dir_.File("again")) == written);
  EXPECT_THAT(watched.out, HasSubstr(dir_.File("again") + "/functional/" + run_id));

  RunResult left =
      mosdat({"watch", run_id, "--results", dir_.File("not-here"), "--leave-evidence"});
  EXPECT_EQ(left.exit_code, 0) << left.out << left.err;
  EXPECT_FALSE(fs::exists(dir_.File("not-here")));
  EXPECT_THAT(left.out, HasSubstr(remote));

  // Evidence the coordinator lost: a warning, the verdict stands, the earlier copy stays.
  fs::remove_all(theirs);
  RunResult lost = mosdat({"watch", run_id, "--results", dir_.File("again")});
  EXPECT_EQ(lost.exit_code, 0) << lost.out << lost.err;
  EXPECT_THAT(lost.err, HasSubstr("warning: the evidence stays on the coordinator's machine"));
  EXPECT_THAT(lost.err, HasSubstr("is no longer on the coordinator"));
  EXPECT_TRUE(copied(dir_.File("again")) == written);
  EXPECT_EQ(deployment.agent->Terminate(), 0) << deployment.agent->stderr_text();
  EXPECT_EQ(deployment.coordinator->Terminate(), 0) << deployment.coordinator->stderr_text();
}

TEST_F(FunctionalTest, EmbeddedRunsAreKeptInTheResultsDirectorysHistory) {
  WriteScenario(kPassingScenario);
  RunResult result = RunCommand(Command());
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  RunResult runs =
      RunCommand({BuiltBinary("cli/mosdat"), "runs", "--json", "--results", dir_.File("results")});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  nlohmann::json listed = nlohmann::json::parse(runs.out);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["verdict"], "pass");
  const std::string run_id = listed[0]["run"];
  RunResult watch =
      RunCommand({BuiltBinary("cli/mosdat"), "watch", run_id, "--results", dir_.File("results")});
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_THAT(watch.out, HasSubstr("pass    fixture on local"));
  RunResult nothing =
      RunCommand({BuiltBinary("cli/mosdat"), "runs", "--results", dir_.File("elsewhere")});
  EXPECT_NE(nothing.exit_code, 0) << nothing.out;
  EXPECT_THAT(nothing.err, HasSubstr("no run history in"));
}

TEST_F(FunctionalTest, AReferenceSetOfSeveralMegabytesTravelsInChunksToARemoteAgent) {
  // Five noise images (~0.9 MB of PNG each: noise does not compress) and the toggle:
  // more than gRPC's 4 MB message limit, which a submission in one message hit.
  std::mt19937 random(7);
  std::string scenario = "name: big-references\nsteps:\n";
  size_t total = 0;
  for (int i = 0; i < 5; ++i) {
    Frame noise{.width = 640, .height = 480};
    noise.rgb.resize(640 * 480 * 3);
    for (uint8_t& byte : noise.rgb) byte = static_cast<uint8_t>(random());
    std::string png = *EncodePng(noise);
    total += png.size();
    WriteFile(dir_.File(absl::StrCat("refs-noise", i, ".png")), png);
    absl::StrAppend(&scenario, "  - if_visible: {target: {visual: {reference: refs-noise", i,
                    ".png, threshold: 0.99}}, then: [{key: escape}]}\n    timeout: 1\n");
  }
  ASSERT_GT(total, 4u << 20);
  scenario += "  - checkpoint: all references travelled\n";
  WriteScenario(scenario);

  RunResult preflight = RunCommand(
      {BuiltBinary("cli/mosdat"), "preflight", "--json", "--config", dir_.File("config.toml")});
  ASSERT_EQ(preflight.exit_code, 0) << preflight.out << preflight.err;
  EXPECT_GT(nlohmann::json::parse(preflight.out)["job_files_bytes"].get<size_t>(), total);

  const std::map<std::string, std::string>& env = kServiceEnv;
  ServiceProcess coordinator(CoordinatorArgv(dir_.File("results")), env);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  ServiceProcess agent(AgentArgv(coordinator.grpc_address(), {"--agent-id=host-a"}), env);
  ASSERT_TRUE(agent.Start()) << agent.stderr_text();

  RunResult result = RunCommand(RemoteCommand(coordinator.grpc_address()), env);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err << agent.stderr_text();
  EXPECT_THAT(result.out, HasSubstr("pass    fixture on local"));
  // Every image reached the agent: each check ran (and found nothing), none was missing.
  int checked = 0;
  for (const Event& e : Events()) {
    if (e.type == EventType::kStepFinished && e.step_kind == "if_visible") {
      EXPECT_EQ(e.status, StepStatus::kPassed) << e.reason;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5);
  EXPECT_EQ(agent.Terminate(), 0) << agent.stderr_text();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
}

TEST_F(FunctionalTest, WhatPreflightFindsStopsTheRunBeforeAnythingStarts) {
  WriteScenario("name: t\nsteps:\n  - key: enter\n  - visual: {reference: nowhere.png}\n");
  RunResult result = RunCommand(Command());
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("scenario.yaml:4:5: reference image"));
  EXPECT_THAT(result.err, HasSubstr("nothing was started"));
  EXPECT_FALSE(fs::exists(dir_.File("results")));
}

}  // namespace
}  // namespace mosdat::testing

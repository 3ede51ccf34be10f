// VLM steps end to end: `mosdat functional` on the real local desktop and the fixture
// app (tests/data/apps/fixed_layout.py: toggle centred at (100,40), entry at (170,98)),
// with the config's [vlm] pointing at tests/data/vlm_standin.py — a STAND-IN for a
// real VLM endpoint, which cannot run here. The stand-in validates each request (model,
// PNG image part, JSON schema) and answers as grounding models do; a prompt's words pick
// the answer ("at X,Y" places the element, "absent", "garbage", "[yes]"...). The
// embedded vlm-gateway (with its cache) sits between the agent and the stand-in, as in
// a deployment. The cross-check, accept_any, follow-up questions, wait_for / if_visible
// on verify, the evidence (every call with the screenshot the model saw, every
// candidate), gateway failures and a missing [vlm] are covered here; `mosdat replay`
// re-asks the recorded calls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/vlm_standin.h"
#include "vlm-gateway/png_header.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class VlmStepsTest : public ::testing::Test {
 protected:
  // Runs `scenario_yaml` against the fixture app; `model` empty = no [vlm] table.
  FunctionalRun Run(const std::string& scenario_yaml, const std::string& model) {
    std::string vlm;
    if (!model.empty()) {
      vlm = absl::StrCat("[vlm]\nbase_url = \"", standin_.base_url(), "\"\nmodel = \"", model,
                         "\"\ncache_dir = \"", dir_.File("vlm-cache"), "\"\ntimeout = 20\n");
    }
    return RunFunctional(WriteFixtureConfig(dir_, scenario_yaml, vlm), "fixture", dir_);
  }

  StandIn standin_;
  TempDir dir_;
};

constexpr char kWaitForApp[] = R"(
  - wait_for: {all: [{text: Toggle me}], timeout: 30}
)";

TEST_F(VlmStepsTest, LocalizeClicksTypesAndChecksWithEveryCallRecorded) {
  FunctionalRun run = Run(std::string("name: vlm\nsteps:") + kWaitForApp + R"(
  - localize: 'the "Toggle me" button at 100,40'
    label: click the toggle
  - wait_for: {all: [{atspi: {role: toggle button, name: Toggle me, states: [checked]}}], timeout: 5}
  - localize:
      prompt: the text entry at 170,98
      then_type: vlm typed
      then_key: ctrl+b
      verify: "Does the entry show the typed text? [yes]"
      verify_not: "Is an error shown?"
  - wait_for: {all: [{atspi: {role: text, index: 0, text: vlm typed}}], timeout: 5}
  - verify: "Is the toggle pressed? [yes]"
  - verify_not: "Is an error dialog shown?"
  - wait_for: {any: [{verify: "Is the typed text visible? [yes]"}], timeout: 10}
  - if_visible:
      target: {verify: "Is a dialog open?"}
      then:
        - key: ctrl+q
      else:
        - checkpoint: no dialog
  - localize: {prompt: an absent widget, accept_any: ['the "Toggle me" button at 100,40'], click: false}
    label: second prompt
  - localize: {prompt: an absent cookie banner, if_visible: true}
)",
                          kUiTars);
  ASSERT_EQ(run.exit_code, 0) << Dump(run);

  std::vector<const Event*> localize = Finished(run, "localize");
  ASSERT_EQ(localize.size(), 4u) << Dump(run);
  EXPECT_EQ(localize[3]->status, StepStatus::kPassed);
  EXPECT_TRUE(LogSays(run,
                      "localize: not visible (\"an absent cookie banner\": the model did not "
                      "find it); if_visible, so nothing was done"))
      << Dump(run);
  // The model's point, mapped from 0..1000 to the framebuffer, and OCR confirming it.
  const Event& toggle = *localize[0];
  ASSERT_EQ(toggle.vlm_calls.size(), 1u);
  EXPECT_EQ(toggle.vlm_calls[0].kind, "localize");
  EXPECT_EQ(toggle.vlm_calls[0].model, kUiTars);
  EXPECT_TRUE(toggle.vlm_calls[0].answer);
  EXPECT_NEAR(toggle.vlm_calls[0].x, 100, 1);
  EXPECT_NEAR(toggle.vlm_calls[0].y, 40, 1);
  ASSERT_EQ(toggle.candidates.size(), 2u) << Dump(run);
  EXPECT_EQ(toggle.candidates[0].source, "vlm");
  EXPECT_EQ(toggle.candidates[0].score, 0.87);
  EXPECT_EQ(toggle.candidates[1].source, "ocr");
  EXPECT_THAT(toggle.candidates[1].description, HasSubstr("confirms the model's point"));
  // The image the model saw is in the result directory, at the screen's size.
  std::string png = ReadFileOrEmpty(run.job_dir + "/" + toggle.vlm_calls[0].screenshot);
  absl::StatusOr<PngSize> size = ReadPngSize(png);
  ASSERT_TRUE(size.ok()) << toggle.vlm_calls[0].screenshot << ": " << size.status();
  EXPECT_EQ(size->width, 1280);
  EXPECT_EQ(size->height, 800);

  // then_type and then_key reached the app; the follow-up questions were asked after.
  const Event& entry = *localize[1];
  EXPECT_EQ(entry.status, StepStatus::kPassed);
  ASSERT_EQ(entry.vlm_calls.size(), 3u) << Dump(run);
  EXPECT_EQ(entry.vlm_calls[1].kind, "verify");
  EXPECT_TRUE(entry.vlm_calls[1].answer);
  EXPECT_FALSE(entry.vlm_calls[2].answer);
  EXPECT_NE(entry.vlm_calls[1].screenshot, entry.vlm_calls[0].screenshot)
      << "the follow-up looks at the screen after the action";
  EXPECT_TRUE(LogSays(run, "if_visible: verify does not hold; running else")) << Dump(run);

  // accept_any: the first prompt was not found, the alternative was.
  const Event& second = *localize[2];
  ASSERT_EQ(second.vlm_calls.size(), 2u);
  EXPECT_FALSE(second.vlm_calls[0].answer);
  EXPECT_TRUE(second.vlm_calls[1].answer);

  std::vector<const Event*> verify = Finished(run, "verify");
  ASSERT_EQ(verify.size(), 1u);
  ASSERT_EQ(verify[0]->vlm_calls.size(), 1u);
  EXPECT_TRUE(verify[0]->vlm_calls[0].answer);
  EXPECT_EQ(verify[0]->vlm_calls[0].reason, "The dialog shows the requested state.");
  // Every request the gateway sent passed the stand-in's validation.
  EXPECT_EQ(standin_.ChatRequests(), standin_.ValidChatRequests());
}

TEST_F(VlmStepsTest, DisagreementsAndNoAnswersFailWithTheEvidenceAndGatewayErrorsAreErrors) {
  FunctionalRun run = Run(std::string("name: vlm failures\nsteps:") + kWaitForApp + R"(
  - localize: 'the "Toggle me" button at 900,600'
    label: OCR reads the label elsewhere
    timeout: 3
    must_pass: false
  - localize: {prompt: "the toggle at 900,600", cross_check: {atspi: {role: toggle button, name: Toggle me}}}
    label: the accessible object is elsewhere
    timeout: 3
    must_pass: false
  - localize: {prompt: an absent widget, accept_any: [another absent thing]}
    timeout: 2
    must_pass: false
  - verify: "Is the window red?"
    must_pass: false
  - localize: {prompt: 'the "Toggle me" button at 100,40', verify: "Did a dialog open?"}
    label: the action never shows the expected result
    timeout: 3
    must_pass: false
  - localize: the garbage button
)",
                          kQwen);
  // The garbage answer is an infrastructure error: the run's verdict is "error".
  ASSERT_EQ(run.exit_code, 4) << Dump(run);
  std::vector<const Event*> localize = Finished(run, "localize");
  ASSERT_EQ(localize.size(), 5u) << Dump(run);

  // The model's point (mapped from Qwen's resized pixels) against OCR's reading.
  EXPECT_EQ(localize[0]->status, StepStatus::kFailed);
  EXPECT_THAT(localize[0]->reason,
              ::testing::ContainsRegex("the model's point \\(9[0-9][0-9],6[0-9][0-9]\\) for "
                                       "\"the \\\\?\"Toggle me\\\\?\" button at 900,600\" is not "
                                       "where OCR reads \"Toggle me\": \\([0-9]+,[0-9]+ "));
  bool ocr_candidate = false;
  for (const LocatorCandidate& c : localize[0]->candidates) {
    if (c.source == "ocr" && c.description.find("away from") != std::string::npos) {
      ocr_candidate = true;
    }
  }
  EXPECT_TRUE(ocr_candidate) << Dump(run);

  EXPECT_EQ(localize[1]->status, StepStatus::kFailed);
  EXPECT_THAT(localize[1]->reason, HasSubstr("is not on toggle button \"Toggle me\" at (20,20"));

  EXPECT_EQ(localize[2]->status, StepStatus::kFailed);
  EXPECT_THAT(localize[2]->reason,
              HasSubstr("\"an absent widget\": the model did not find it; \"another absent "
                        "thing\": the model did not find it"));

  std::vector<const Event*> verify = Finished(run, "verify");
  ASSERT_EQ(verify.size(), 1u);
  EXPECT_EQ(verify[0]->status, StepStatus::kFailed);
  EXPECT_EQ(verify[0]->reason,
            "\"Is the window red?\": the model answered no (expected yes): Nothing like that is "
            "visible.");

  // A follow-up question never answered as expected is a test failure when the step's
  // time runs out, even though the last look may be cut short.
  EXPECT_EQ(localize[3]->status, StepStatus::kFailed) << Dump(run);
  EXPECT_THAT(localize[3]->reason, ::testing::StartsWith("after acting at (1"));
  EXPECT_THAT(localize[3]->reason, HasSubstr("\"Did a dialog open?\": no"));

  EXPECT_EQ(localize[4]->status, StepStatus::kError);
  EXPECT_THAT(localize[4]->reason, HasSubstr("vlm-gateway: "));
  EXPECT_THAT(localize[4]->reason, HasSubstr("JSON"));
}

// `mosdat replay` asks the recorded questions again on the recorded screenshots.
TEST_F(VlmStepsTest, ReplayAsksTheRecordedQuestionsAgainAndReportsChangedAnswers) {
  FunctionalRun run = Run(std::string("name: replay\nsteps:") + kWaitForApp + R"(
  - localize: 'the "Toggle me" button at 100,40'
  - verify: "Is the toggle pressed? [yes]"
)",
                          kUiTars);
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  const int asked = standin_.ChatRequests();
  auto replay = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {BuiltBinary("cli/mosdat"), "replay", run.job_dir, "--config",
                                     dir_.File("config.toml")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, {}, kRunTimeout);
  };

  RunResult same = replay({});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_THAT(same.out,
              ::testing::ContainsRegex(
                  "\\[local\\] step 2 localize \"the \"Toggle me\" button at 100,40\" "
                  "\\([0-9]+-step02-vlm.png\\): was \\(100,40\\), now \\(100,40\\) — same"));
  EXPECT_THAT(same.out, HasSubstr("step 3 verify \"Is the toggle pressed? [yes]\""));
  EXPECT_THAT(same.out, HasSubstr("2 question(s) asked again: 2 same, 0 changed"));
  // The model itself was asked (no cache), on the recorded images.
  EXPECT_EQ(standin_.ChatRequests(), asked + 2);

  // A past run whose model said "no": the new answer differs.
  std::string events = ReadFileOrEmpty(run.job_dir + "/events.jsonl");
  size_t at = events.find("\"answer\":true,\"cache_hit\":false,\"kind\":\"verify\"");
  ASSERT_NE(at, std::string::npos) << events;
  events.replace(at, 13, "\"answer\":false");
  // A run cut short by a crash can end in a torn line: skipped, said, the rest counts.
  std::ofstream(run.job_dir + "/events.jsonl") << events << "{\"job\":\"torn";
  RunResult changed = replay({"--json"});
  EXPECT_EQ(changed.exit_code, 1) << changed.out << changed.err;
  EXPECT_THAT(changed.err, ::testing::ContainsRegex("events.jsonl:[0-9]+: skipped: "));
  nlohmann::json report = nlohmann::json::parse(changed.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << changed.out;
  EXPECT_EQ(report["same"], 1);
  EXPECT_EQ(report["changed"], 1);
  EXPECT_EQ(report["questions"][1]["kind"], "verify");
  EXPECT_EQ(report["questions"][1]["was"]["answer"], false);
  EXPECT_EQ(report["questions"][1]["now"]["answer"], true);

  // Screenshot names in events.jsonl are untrusted: only plain .png names inside the
  // result directory are read.
  std::string escaping = events;
  size_t name = escaping.find("-step02-vlm.png", escaping.find("\"vlm\":["));
  ASSERT_NE(name, std::string::npos);
  size_t begin = escaping.rfind('"', name) + 1;
  escaping.replace(begin, name + 15 - begin, "../../../etc/passwd");
  std::ofstream(run.job_dir + "/events.jsonl") << escaping;
  RunResult escaped = replay({});
  EXPECT_EQ(escaped.exit_code, 4) << escaped.out << escaped.err;
  EXPECT_THAT(escaped.out, HasSubstr("ERROR: the screenshot name \"../../../etc/passwd\" is "
                                     "not a plain .png file name"));
  std::ofstream(run.job_dir + "/events.jsonl") << events;

  // A lost screenshot cannot be asked about: said, and the exit code says so.
  for (const auto& entry : fs::directory_iterator(run.job_dir)) {
    if (entry.path().string().ends_with("-vlm.png")) fs::remove(entry.path());
  }
  RunResult lost = replay({});
  EXPECT_EQ(lost.exit_code, 4) << lost.out << lost.err;
  EXPECT_THAT(lost.out, HasSubstr("ERROR: cannot read the screenshot"));

  RunResult nothing = RunCommand({BuiltBinary("cli/mosdat"), "replay", dir_.File("vlm-cache"),
                                  "--config", dir_.File("config.toml")});
  EXPECT_EQ(nothing.exit_code, 3);
  EXPECT_THAT(nothing.err, HasSubstr("no events.jsonl at or under"));
}

// The same screens in a second run are answered by the gateway's cache, not the model.
TEST_F(VlmStepsTest, ARepeatedRunIsAnsweredFromTheCache) {
  const std::string scenario = std::string("name: cached\nsteps:") + kWaitForApp + R"(
  - localize: 'the "Toggle me" button at 100,40'
  - verify: "Is the toggle pressed? [yes]"
)";
  FunctionalRun first = Run(scenario, kUiTars);
  ASSERT_EQ(first.exit_code, 0) << Dump(first);
  const int asked = standin_.ChatRequests();
  TempDir second_results;
  FunctionalRun second = RunFunctional(dir_.File("config.toml"), "fixture", second_results);
  ASSERT_EQ(second.exit_code, 0) << Dump(second);
  // The image each question was asked on in the first run, to tell a miss on a screen
  // that changed between runs from a cache that failed to answer.
  std::map<std::string, std::string> first_images;
  for (const char* kind : {"localize", "verify"}) {
    for (const Event* step : Finished(first, kind)) {
      for (const VlmCall& call : step->vlm_calls) {
        first_images[call.kind + call.prompt] =
            ReadFileOrEmpty(first.job_dir + "/" + call.screenshot);
      }
    }
  }
  int calls = 0;
  for (const char* kind : {"localize", "verify"}) {
    for (const Event* step : Finished(second, kind)) {
      for (const VlmCall& call : step->vlm_calls) {
        ++calls;
        const bool same_image = first_images[call.kind + call.prompt] ==
                                ReadFileOrEmpty(second.job_dir + "/" + call.screenshot);
        EXPECT_TRUE(call.cache_hit)
            << call.kind << " \"" << call.prompt << "\" on "
            << (same_image ? "the same screen" : "a screen that differs from the first run's");
      }
    }
  }
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(standin_.ChatRequests(), asked);
}

// Across hosts: mosdat-agent asks a separate mosdat-vlm-gateway (--vlm-gateway, with
// its token); the config itself has no [vlm].
TEST_F(VlmStepsTest, AnAgentProcessAsksAStandaloneGatewayWithItsToken) {
  WriteFixtureConfig(
      dir_, absl::StrCat("name: across\nsteps:", kWaitForApp,
                         "  - localize: 'the \"Toggle me\" button at 100,40'\n"
                         "  - wait_for: {any: [{verify: \"Is the toggle pressed? [yes]\"}], "
                         "timeout: 10}\n"));
  const std::map<std::string, std::string> env = {{"MOSDAT_COORDINATOR_TOKEN", "coord-1"},
                                                  {kAgentTokenVariable, "agent-cred-1"},
                                                  {"MOSDAT_AGENT_TOKEN", "agent-2"},
                                                  {"MOSDAT_GATEWAY_TOKEN", "gateway-3"}};
  ServiceProcess gateway({BuiltBinary("vlm-gateway/mosdat-vlm-gateway"),
                          "--token=env:MOSDAT_GATEWAY_TOKEN", "--base-url=" + standin_.base_url(),
                          std::string("--model=") + kQwen, "--cache-dir=" + dir_.File("cache")},
                         env);
  ASSERT_TRUE(gateway.Start()) << gateway.stderr_text();
  ServiceProcess coordinator(CoordinatorArgv(dir_.File("results")), env);
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  ServiceProcess agent(
      AgentArgv(coordinator.grpc_address(), {"--vlm-gateway=" + gateway.grpc_address(),
                                             "--vlm-gateway-token=env:MOSDAT_GATEWAY_TOKEN"}),
      env);
  ASSERT_TRUE(agent.Start()) << agent.stderr_text();

  RunResult result = RunCommand(
      {BuiltBinary("cli/mosdat"), "functional", "--config", dir_.File("config.toml"),
       "--coordinator", coordinator.grpc_address(), "--token", "env:MOSDAT_COORDINATOR_TOKEN"},
      env, kRunTimeout);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err << agent.stderr_text();
  EXPECT_THAT(result.out, HasSubstr("pass    fixture on local"));
  EXPECT_GE(standin_.ValidChatRequests(), 2);
  std::string metrics = HttpGet(gateway.metrics_port(), "/metrics");
  EXPECT_THAT(metrics, ::testing::ContainsRegex(
                           "mosdat_vlm_cache_misses_total\\{kind=\"localize\"\\} [1-9]"));

  // A wrong gateway token: the agent's VLM step is refused, as an infrastructure error.
  ServiceProcess intruder(
      {BuiltBinary("vnc-agent/mosdat-agent"), "--token=env:MOSDAT_AGENT_TOKEN",
       "--coordinator=" + coordinator.grpc_address(),
       "--coordinator-token=env:" + std::string(kAgentTokenVariable), "--vm=local",
       "--vlm-gateway=" + gateway.grpc_address(), "--vlm-gateway-token=env:WRONG"},
      {{"MOSDAT_COORDINATOR_TOKEN", "coord-1"},
       {kAgentTokenVariable, "agent-cred-1"},
       {"MOSDAT_AGENT_TOKEN", "agent-2"},
       {"WRONG", "guess"}});
  EXPECT_EQ(agent.Terminate(), 0) << agent.stderr_text();
  ASSERT_TRUE(intruder.Start()) << intruder.stderr_text();
  RunResult refused = RunCommand(
      {BuiltBinary("cli/mosdat"), "functional", "--config", dir_.File("config.toml"),
       "--coordinator", coordinator.grpc_address(), "--token", "env:MOSDAT_COORDINATOR_TOKEN"},
      env, kRunTimeout);
  EXPECT_EQ(refused.exit_code, 4) << refused.out << refused.err;
  EXPECT_THAT(refused.out + refused.err, HasSubstr("vlm-gateway: "));
  EXPECT_THAT(refused.out + refused.err, HasSubstr("token"));
  EXPECT_EQ(intruder.Terminate(), 0) << intruder.stderr_text();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
  EXPECT_EQ(gateway.Terminate(), 0) << gateway.stderr_text();
}

TEST_F(VlmStepsTest, WithoutAVlmPreflightSaysHowToConfigureOneBeforeAnythingStarts) {
  FunctionalRun run = Run(R"(name: no vlm
steps:
  - verify: "Is the app open? [yes]"
)",
                          "");
  // The embedded default has no gateway without [vlm]: a config error, caught by the
  // preflight `mosdat functional` runs first, with the step's place.
  ASSERT_EQ(run.exit_code, 3) << Dump(run);
  EXPECT_THAT(run.output, HasSubstr("scenario.yaml:3:5: verify needs a vision-language model: "
                                    "add a [vlm] table (base_url, model) to"));
  EXPECT_THAT(run.output, HasSubstr("nothing was started"));
  EXPECT_TRUE(run.events.empty());
  EXPECT_EQ(standin_.ChatRequests(), 0);
}

}  // namespace
}  // namespace mosdat::testing

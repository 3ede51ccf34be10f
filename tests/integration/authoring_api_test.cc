// `mosdat live` end to end: the real binary serves the authoring API over the embedded
// services, whose agent brings up a real local desktop (Xvnc, openbox) with
// gtk3-widget-factory for an authoring session. A client (httplib) opens the session,
// captures the screen, ticks a check button with a confirmed click, builds a draft from
// the step the action answers, validates and exports it — and `mosdat functional` runs
// the exported YAML to a pass. Then what must be refused: no token, a wrong token, a
// cookie login without its CSRF header, another login's session, bad JSON, a missing
// confirm, an unknown session and endpoint — each a clear 4xx, nothing executed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/frame.h"
#include "core/process.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/vlm_standin.h"

namespace mosdat::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kToken[] = "authoring-test-token-0123456789";

class AuthoringApiTest : public ::testing::Test {
 protected:
  // More of the config (a [vlm] table).
  virtual std::string ExtraConfig() { return ""; }

  void SetUp() override {
    config_ = dir_.File("live.toml");
    std::ofstream(config_) << ExtraConfig() << "[app]\nname = \"gtk3-widget-factory\"\n"
                           << "binary = \"/usr/bin/gtk3-widget-factory\"\n"
                           << "[app.env]\nGTK_THEME = \"Adwaita\"\n\n"
                           << "[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
                           << "geometry = \"1280x800\"\n\n"
                           << "[[test]]\nname = \"authored\"\nscenario = \"authored.yaml\"\n\n"
                           << "[report]\noutput_dir = \"" << dir_.File("results") << "\"\n";
    Environment env = CurrentEnvironment();
    env["MOSDAT_LIVE_TOKEN"] = kToken;
    absl::StatusOr<Process> live =
        Process::Spawn({.argv = {BuiltBinary("cli/mosdat"), "live", "--config", config_, "--listen",
                                 "127.0.0.1:0", "--token", "env:MOSDAT_LIVE_TOKEN"},
                        .env = env,
                        .stdout_path = dir_.File("live.out"),
                        .stderr_path = dir_.File("live.err")});
    ASSERT_TRUE(live.ok()) << live.status();
    live_.emplace(std::move(*live));
    // The server says where it listens once it does.
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (port_ == 0 && absl::Now() < deadline) {
      const std::string out = ReadFileOrEmpty(dir_.File("live.out"));
      const size_t at = out.find("http://127.0.0.1:");
      const size_t end = at == std::string::npos ? at : out.find('\n', at);
      if (end != std::string::npos &&
          !absl::SimpleAtoi(out.substr(at + 17, end - at - 17), &port_)) {
        port_ = 0;
      }
      if (port_ == 0) {
        ASSERT_FALSE(live_->Wait(absl::Milliseconds(50)).has_value())
            << ReadFileOrEmpty(dir_.File("live.err"));
      }
    }
    ASSERT_NE(port_, 0) << ReadFileOrEmpty(dir_.File("live.err"));
  }

  void TearDown() override {
    if (!live_) return;
    live_->Signal(SIGTERM);
    std::optional<ExitStatus> status = live_->Wait(absl::Seconds(30));
    EXPECT_TRUE(status.has_value());
  }

  // A call with the bearer token (or `headers` instead); the parsed JSON body, and the
  // HTTP status in *status.
  json Call(const std::string& method, const std::string& path, const std::string& body,
            int* status,
            httplib::Headers headers = {{"Authorization", std::string("Bearer ") + kToken}}) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(180, 0);
    httplib::Result result = method == "GET" ? client.Get(path, headers)
                                             : client.Post(path, headers, body, "application/json");
    if (!result) {
      *status = -1;
      return json();
    }
    *status = result->status;
    return json::parse(result->body, nullptr, false);
  }
  json Post(const std::string& path, const json& body, int expect = 200) {
    int status = 0;
    json answer = Call("POST", path, body.dump(), &status);
    EXPECT_EQ(status, expect) << path << " " << answer.dump();
    return answer;
  }

  // The frame a capture answered.
  Frame Screen(const std::string& session) {
    json capture = Post("/api/author/capture", {{"session_id", session}});
    std::string png;
    EXPECT_TRUE(absl::Base64Unescape(capture.value("png_base64", ""), &png));
    absl::StatusOr<Frame> frame = DecodePng(png);
    EXPECT_TRUE(frame.ok()) << frame.status();
    return frame.ok() ? *frame : Frame{};
  }

  TempDir dir_;
  std::string config_;
  std::optional<Process> live_;
  int port_ = 0;
};

// The check button the pixels scenario ticks (scenarios/gtk3-widget-factory-pixels.yaml).
constexpr Rect kCheck{17, 397, 22, 22};

bool CheckDiffers(const Frame& a, const Frame& b) {
  return a.width != b.width || DifferenceRatio(a, b, kCheck) > 0.05;
}

TEST_F(AuthoringApiTest, ASessionActsAndItsExportRunsAsAScenario) {
  int status = 0;
  json vms = Call("GET", "/api/author/vms", "", &status);
  ASSERT_EQ(status, 200) << vms.dump();
  ASSERT_EQ(vms["vms"].size(), 1u);
  EXPECT_EQ(vms["vms"][0]["name"], "local");

  json opened = Post("/api/author/session", {{"vm", "local"}});
  const std::string session = opened.value("session_id", "");
  ASSERT_FALSE(session.empty()) << opened.dump();
  EXPECT_EQ(opened["width"], 1280);
  EXPECT_EQ(opened["height"], 800);

  // The window is drawn once its check button stops changing.
  Frame before;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30); absl::Now() < deadline;) {
    Frame frame = Screen(session);
    if (before.width > 0 && !CheckDiffers(before, frame)) break;
    before = frame;
  }
  ASSERT_EQ(before.width, 1280);

  // Without confirm, nothing happens.
  json refused = Post("/api/author/action",
                      {{"session_id", session}, {"action", "click"}, {"x", 27}, {"y", 407}}, 400);
  EXPECT_THAT(refused.value("error", ""), HasSubstr("\"confirm\": true"));
  EXPECT_FALSE(CheckDiffers(before, Screen(session)));

  json clicked = Post(
      "/api/author/action",
      {{"session_id", session}, {"action", "click"}, {"x", 27}, {"y", 407}, {"confirm", true}});
  EXPECT_GT(clicked.value("input_seq", 0), 0);
  EXPECT_EQ(clicked["step"], json({{"click", {{"x", 27}, {"y", 407}}}}));
  bool ticked = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); !ticked && absl::Now() < deadline;) {
    ticked = CheckDiffers(before, Screen(session));
  }
  EXPECT_TRUE(ticked) << "the click did not tick the check button";

  // The draft: wait for the window, the step the click answered, and its effect.
  json region = {
      {"x", kCheck.x}, {"y", kCheck.y}, {"width", kCheck.width}, {"height", kCheck.height}};
  Post("/api/author/step", {{"session_id", session},
                            {"step",
                             {{"wait_for",
                               {{"all", {{{"screen_stable", {{"region", region}, {"for", 0.5}}}}}},
                                {"timeout", 30}}}}}});
  Post("/api/author/step", {{"session_id", session}, {"step", clicked["step"]}});
  json steps = Post(
      "/api/author/step",
      {{"session_id", session},
       {"step",
        {{"wait_for", {{"any", {{{"screen_changes", {{"region", region}}}}}}, {"timeout", 10}}}}}});
  EXPECT_EQ(steps["steps"].size(), 3u);
  json valid = Post("/api/author/validate", {{"session_id", session}, {"name", "authored"}});
  EXPECT_EQ(valid["ok"], true) << valid.dump();

  json exported =
      Call("GET", "/api/author/export?session=" + session + "&name=authored", "", &status);
  ASSERT_EQ(status, 200) << exported.dump();
  std::ofstream(dir_.File("authored.yaml")) << exported.value("yaml", "");
  Post("/api/author/close", {{"session_id", session}});
  json gone = Post("/api/author/capture", {{"session_id", session}}, 404);
  EXPECT_THAT(gone.value("error", ""), HasSubstr("no authoring session"));

  RunResult run = RunCommand(
      {BuiltBinary("cli/mosdat"), "functional", "--config", config_, "--test", "authored"}, {},
      std::chrono::seconds(180));
  EXPECT_EQ(run.exit_code, 0) << exported.value("yaml", "") << run.out << run.err;
}

// Steps that need the guest (shell, wait, launch) run through the agent's session like a
// job's; describe names what is at a point (AT-SPI and OCR); replay runs the draft.
TEST_F(AuthoringApiTest, GuestStepsDescribeAndReplayRunInTheSession) {
  json opened = Post("/api/author/session", {{"vm", "local"}});
  const std::string session = opened.value("session_id", "");
  ASSERT_FALSE(session.empty()) << opened.dump();
  const std::string marker = dir_.File("shell-marker");

  json refused =
      Post("/api/author/action",
           {{"session_id", session}, {"action", "shell"}, {"command", "touch " + marker}}, 400);
  EXPECT_FALSE(std::filesystem::exists(marker));
  json shell = Post("/api/author/action", {{"session_id", session},
                                           {"action", "shell"},
                                           {"command", "echo authored > " + marker},
                                           {"confirm", true}});
  EXPECT_EQ(shell["passed"], true) << shell.dump();
  EXPECT_EQ(shell["step"], json({{"shell", "echo authored > " + marker}}));
  EXPECT_EQ(ReadFileOrEmpty(marker), "authored\n");
  json wait =
      Post("/api/author/action",
           {{"session_id", session}, {"action", "wait"}, {"seconds", 0.2}, {"confirm", true}});
  EXPECT_EQ(wait["passed"], true) << wait.dump();
  Post("/api/author/action",
       {{"session_id", session}, {"action", "wait"}, {"seconds", 9999}, {"confirm", true}}, 400);

  // A step that fails is a verdict, not an error of the API.
  json failed = Post("/api/author/run",
                     {{"session_id", session}, {"step", {{"shell", "exit 3"}}}, {"confirm", true}});
  EXPECT_EQ(failed["passed"], false) << failed.dump();
  EXPECT_EQ(failed["verdict"], "fail");
  EXPECT_FALSE(failed.value("reason", "").empty());
  Post("/api/author/run", {{"session_id", session}, {"step", {{"shell", "true"}}}}, 400);
  json unparsable =
      Post("/api/author/run",
           {{"session_id", session}, {"step", {{"shel", "true"}}}, {"confirm", true}}, 400);
  EXPECT_THAT(unparsable.value("error", ""), HasSubstr("shell"));  // the suggestion

  // What is at the label of the second check button: OCR reads it, AT-SPI names it.
  json described = Post("/api/author/describe", {{"session_id", session}, {"x", 75}, {"y", 407}});
  EXPECT_EQ(described.value("word", json::object()).value("text", ""), "checkbutton")
      << described.dump();
  EXPECT_THAT(described["accessible"].dump(), HasSubstr("checkbutton")) << described.dump();
  Post("/api/author/describe", {{"session_id", session}, {"x", 5000}, {"y", 1}}, 400);

  // The draft replays from its first step.
  const std::string lines = dir_.File("replayed");
  Post("/api/author/step",
       {{"session_id", session},
        {"steps", {{{"shell", "echo one >> " + lines}}, {{"shell", "echo two >> " + lines}}}}});
  Post("/api/author/replay", {{"session_id", session}}, 400);  // no confirm
  json replay = Post("/api/author/replay", {{"session_id", session}, {"confirm", true}});
  EXPECT_EQ(replay["passed"], true) << replay.dump();
  EXPECT_EQ(ReadFileOrEmpty(lines), "one\ntwo\n");

  // Without a [vlm] table, the model cannot be asked: the server says so (5xx), it does
  // not answer "not found".
  json localize = Post("/api/author/vlm/localize",
                       {{"session_id", session}, {"prompt", "the second check button"}}, 502);
  EXPECT_THAT(localize.value("error", ""), HasSubstr("vlm"));
  Post("/api/author/close", {{"session_id", session}});
}

TEST_F(AuthoringApiTest, WhatIsNotAllowedIsRefusedAndNothingRuns) {
  int status = 0;
  json answer = Call("GET", "/api/author/vms", "", &status, {});
  EXPECT_EQ(status, 401);
  EXPECT_EQ(answer["ok"], false);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("log in"));
  answer = Call("GET", "/api/author/vms", "", &status, {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(status, 401);
  EXPECT_THAT(answer.dump(), ::testing::Not(HasSubstr(kToken)));

  answer = Call("POST", "/api/author/session", "{not json", &status);
  EXPECT_EQ(status, 400);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("JSON object"));
  answer = Call("POST", "/api/author/session", "{}", &status);
  EXPECT_EQ(status, 400);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("\"vm\""));
  answer = Call("POST", "/api/author/session", json{{"vm", "nope"}}.dump(), &status);
  EXPECT_EQ(status, 404);
  answer = Call("POST", "/api/author/capture", json{{"session_id", "0000"}}.dump(), &status);
  EXPECT_EQ(status, 404);
  answer = Call("GET", "/api/author/nothing", "", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(answer["error"], "no such endpoint");

  // A browser login: its cookie, and the CSRF token its POSTs must carry.
  httplib::Client client("127.0.0.1", port_);
  httplib::Result wrong =
      client.Post("/login", json{{"token", "wrong"}}.dump(), "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  httplib::Result login = client.Post("/login", json{{"token", kToken}}.dump(), "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200);
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
  const std::string csrf = json::parse(login->body).value("csrf_token", "");
  ASSERT_FALSE(csrf.empty());
  const std::string cookie_pair = cookie.substr(0, cookie.find(';'));

  json bearer_session = Post("/api/author/session", {{"vm", "local"}});
  const std::string session = bearer_session.value("session_id", "");
  ASSERT_FALSE(session.empty());
  answer = Call("POST", "/api/author/capture", json{{"session_id", session}}.dump(), &status,
                {{"Cookie", cookie_pair}});
  EXPECT_EQ(status, 403);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("X-CSRF-Token"));
  answer = Call("POST", "/api/author/capture", json{{"session_id", session}}.dump(), &status,
                {{"Cookie", cookie_pair}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(status, 403);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("belongs to someone else"));
  answer = Call("GET", "/api/author/vms", "", &status, {{"Cookie", cookie_pair}});
  EXPECT_EQ(status, 200);

  for (const json& bad :
       {json{{"session_id", session}, {"action", "click"}, {"x", 1}, {"y", 1}, {"confirm", "yes"}},
        json{{"session_id", session}, {"action", "shout"}, {"confirm", true}},
        json{{"session_id", session}, {"action", "click"}, {"confirm", true}},
        json{{"session_id", session}, {"action", "type"}, {"confirm", true}}}) {
    Post("/api/author/action", bad, 400);
  }
  json step = Post("/api/author/step", {{"session_id", session}, {"step", json::array()}}, 400);
  EXPECT_THAT(step.value("error", ""), HasSubstr("keyed by its kind"));
  json invalid =
      Post("/api/author/step", {{"session_id", session}, {"step", {{"clik", {{"x", 1}}}}}});
  json problems = Post("/api/author/validate", {{"session_id", session}});
  EXPECT_EQ(problems["ok"], false);
  EXPECT_THAT(problems["problems"].dump(), HasSubstr("clik"));
  answer = Call("GET", "/api/author/export?session=" + session + "&name=../x", "", &status);
  EXPECT_EQ(status, 400);
  Post("/api/author/close", {{"session_id", session}});
}

// The model's questions through the API, with the config's [vlm] pointing at a STAND-IN
// for a VLM endpoint (tests/data/vlm_standin.py: none can run here); the embedded
// vlm-gateway sits between, as in a deployment. The prompt's words choose the answer.
class AuthoringVlmTest : public AuthoringApiTest {
 protected:
  std::string ExtraConfig() override {
    return "[vlm]\nbase_url = \"" + standin_.base_url() + "\"\nmodel = \"" + kQwen + "\"\n\n";
  }
  StandIn standin_;
};

TEST_F(AuthoringVlmTest, LocalizeAndVerifyAnswerWithoutActing) {
  json opened = Post("/api/author/session", {{"vm", "local"}});
  const std::string session = opened.value("session_id", "");
  ASSERT_FALSE(session.empty()) << opened.dump();
  json found =
      Post("/api/author/vlm/localize",
           {{"session_id", session}, {"prompt", "the check button at 27,407 in 1280x800"}});
  EXPECT_EQ(found["found"], true) << found.dump();
  EXPECT_NEAR(found.value("x", 0), 27, 3) << found.dump();
  EXPECT_NEAR(found.value("y", 0), 407, 3) << found.dump();
  EXPECT_EQ(found["step"], json({{"localize", "the check button at 27,407 in 1280x800"}}));
  json absent =
      Post("/api/author/vlm/localize", {{"session_id", session}, {"prompt", "a unicorn, absent"}});
  EXPECT_EQ(absent["found"], false) << absent.dump();
  EXPECT_THAT(absent["events"].dump(), HasSubstr("the model did not find it"));

  json yes = Post("/api/author/vlm/verify",
                  {{"session_id", session}, {"prompt", "is the window drawn? [yes]"}});
  EXPECT_EQ(yes["answer"], true) << yes.dump();
  json no = Post("/api/author/vlm/verify",
                 {{"session_id", session}, {"prompt", "is a dialog open? [no]"}});
  EXPECT_EQ(no["answer"], false) << no.dump();
  EXPECT_EQ(standin_.Stats().value("rejected", -1), 0);  // every request was valid
  Post("/api/author/close", {{"session_id", session}});
}

// Mistakes on the command line are told before anything is served: exit 2 for the
// command line, 3 for the config.
TEST(LiveCommandTest, BadArgumentsAreRefusedBeforeServing) {
  TempDir dir;
  const std::string good = dir.File("good.toml");
  std::ofstream(good) << "[app]\nname = \"x\"\nbinary = \"/bin/true\"\n";
  const std::string broken = dir.File("broken.toml");
  std::ofstream(broken) << "[app]\nname = 5\n";
  const std::string mosdat = BuiltBinary("cli/mosdat");
  EXPECT_EQ(RunCommand({mosdat, "live"}).exit_code, 2);
  RunResult bad_config = RunCommand({mosdat, "live", "--config", broken});
  EXPECT_EQ(bad_config.exit_code, 3);
  EXPECT_THAT(bad_config.err, HasSubstr("broken.toml:2:"));
  RunResult bad_listen = RunCommand({mosdat, "live", "--config", good, "--listen", "nowhere"});
  EXPECT_EQ(bad_listen.exit_code, 2);
  EXPECT_THAT(bad_listen.err, HasSubstr("--listen nowhere"));
  RunResult bad_token =
      RunCommand({mosdat, "live", "--config", good, "--token", "env:MOSDAT_SURELY_UNSET_9"});
  EXPECT_EQ(bad_token.exit_code, 2);
  EXPECT_THAT(bad_token.err, HasSubstr("MOSDAT_SURELY_UNSET_9"));
}

}  // namespace
}  // namespace mosdat::testing

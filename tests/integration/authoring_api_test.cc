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

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/frame.h"
#include "core/process.h"
#include "tests/integration/live_fixture.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/vlm_standin.h"

namespace mosdat::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class AuthoringApiTest : public LiveServerTest {};

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

  // The job's trace viewer is beside its evidence, with the click drawn where it went;
  // `mosdat trace` makes a standalone copy, `mosdat dashboard` the history site.
  std::string job_dir;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir_.File("results/functional"))) {
    if (entry.path().filename() == "trace.html") job_dir = entry.path().parent_path().string();
  }
  ASSERT_FALSE(job_dir.empty()) << "no trace.html under " << dir_.File("results");
  const std::string trace = ReadFileOrEmpty(job_dir + "/trace.html");
  EXPECT_THAT(trace, HasSubstr("click at 27, 407"));
  EXPECT_THAT(trace, HasSubstr("authored on local"));
  EXPECT_TRUE(std::filesystem::exists(job_dir + "/job.json"));
  EXPECT_TRUE(std::filesystem::exists(job_dir + "/attempt.json"));
  RunResult standalone = RunCommand(
      {BuiltBinary("cli/mosdat"), "trace", job_dir, "--out", dir_.File("standalone.html")});
  EXPECT_EQ(standalone.exit_code, 0) << standalone.err;
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("standalone.html")), HasSubstr("data:image/png;base64,"));
  RunResult site = RunCommand({BuiltBinary("cli/mosdat"), "dashboard", "--results",
                               dir_.File("results"), "--out", dir_.File("site")});
  EXPECT_EQ(site.exit_code, 0) << site.err;
  const std::string index = ReadFileOrEmpty(dir_.File("site/index.html"));
  EXPECT_THAT(index, HasSubstr("<td>authored</td><td>local</td><td>1</td><td class=\"rate\">100%"));
  EXPECT_THAT(index, HasSubstr("/trace.html"));
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
  // The step to click it names it (an atspi query that picks that very check button,
  // not one of its look-alikes), and AT-SPI find agrees on where it is.
  const json click = described["steps"]["click"];
  ASSERT_TRUE(click.contains("atspi")) << described.dump();
  EXPECT_EQ(click["atspi"].value("name", ""), "checkbutton");
  json found = Post("/api/author/atspi/find", {{"session_id", session}, {"query", click["atspi"]}});
  const json box = found["object"].value("box", json::object());
  EXPECT_LE(box.value("x", 9999), 75) << found.dump();
  EXPECT_GT(box.value("x", 0) + box.value("width", 0), 75) << found.dump();
  EXPECT_LE(box.value("y", 9999), 407) << found.dump();
  EXPECT_GT(box.value("y", 0) + box.value("height", 0), 407) << found.dump();
  EXPECT_EQ(found["step"], click);
  json missing = Post("/api/author/atspi/find",
                      {{"session_id", session}, {"query", {{"name", "no-such-widget"}}}}, 404);
  EXPECT_FALSE(missing.value("error", "").empty());
  Post("/api/author/atspi/find", {{"session_id", session}, {"query", {{"bogus", 1}}}}, 400);
  Post("/api/author/atspi/find", {{"session_id", session}, {"query", "checkbutton"}}, 400);

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

// The workbench page is served to anyone (it holds no secret and logs in with the
// token) under a policy that keeps it from being framed or loading anything else; the
// screen streams as server-sent events, a new frame after an input.
TEST_F(AuthoringApiTest, ThePageIsServedAndTheScreenStreams) {
  httplib::Client client("127.0.0.1", port_);
  httplib::Result page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("Author Workbench"));
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"),
              HasSubstr("frame-ancestors 'none'"));
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");

  int status = 0;
  json me = Call("GET", "/api/whoami", "", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(me["principal"], "bearer");
  Call("GET", "/api/whoami", "", &status, {});
  EXPECT_EQ(status, 401);

  json opened = Post("/api/author/session", {{"vm", "local"}});
  const std::string session = opened.value("session_id", "");
  ASSERT_FALSE(session.empty()) << opened.dump();
  Call("GET", "/api/author/stream?session=" + session, "", &status, {});
  EXPECT_EQ(status, 401);

  // Reads the stream on its own thread, counting frame events and their sequence.
  std::mutex mutex;
  std::vector<uint64_t> frames;
  std::string pending;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    httplib::Client stream("127.0.0.1", port_);
    stream.set_read_timeout(60, 0);
    stream.Get(
        "/api/author/stream?session=" + session,
        {{"Authorization", std::string("Bearer ") + kToken}}, [&](const char* data, size_t length) {
          std::lock_guard lock(mutex);
          pending.append(data, length);
          for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
            const std::string event = pending.substr(0, end);
            pending.erase(0, end + 2);
            const size_t at = event.find("data: ");
            if (event.rfind("event: frame", 0) != 0 || at == std::string::npos) continue;
            json frame = json::parse(event.substr(at + 6), nullptr, false);
            std::string png;
            if (frame.is_object() && absl::Base64Unescape(frame.value("png_base64", ""), &png) &&
                DecodePng(png).ok()) {
              frames.push_back(frame.value("frame_seq", uint64_t{0}));
            }
          }
          return !stop.load();
        });
  });
  auto frame_count = [&] {
    std::lock_guard lock(mutex);
    return frames.size();
  };
  auto wait_for_frames = [&](size_t count) {
    for (absl::Time deadline = absl::Now() + absl::Seconds(30);
         frame_count() < count && absl::Now() < deadline;) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return frame_count() >= count;
  };
  EXPECT_TRUE(wait_for_frames(1)) << "no first frame";
  // The factory's spinners keep the screen changing; a click changes it for sure.
  const size_t seen = frame_count();
  Post("/api/author/action",
       {{"session_id", session}, {"action", "click"}, {"x", 27}, {"y", 407}, {"confirm", true}});
  EXPECT_TRUE(wait_for_frames(seen + 1)) << "no frame after the click";
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(std::is_sorted(frames.begin(), frames.end()));
    EXPECT_EQ(std::adjacent_find(frames.begin(), frames.end()), frames.end()) << "a frame twice";
  }
  // Closing the session ends the stream.
  Post("/api/author/close", {{"session_id", session}});
  stop = true;
  reader.join();
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
  // Nesting deep enough to overflow a stack if copied: refused, and the server lives on.
  answer = Call(
      "POST", "/api/author/run",
      "{\"confirm\":true,\"steps\":" + std::string(200000, '[') + std::string(200000, ']') + "}",
      &status);
  EXPECT_EQ(status, 400);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("nests too deeply"));
  // A chunked body cannot be bounded by the server's limit: refused before it is read.
  {
    signal(SIGPIPE, SIG_IGN);
    httplib::Client client("127.0.0.1", port_);
    httplib::Result chunked = client.Post(
        "/api/author/session", {{"Authorization", std::string("Bearer ") + kToken}},
        [](size_t, httplib::DataSink& sink) {
          sink.write("{}", 2);
          sink.done();
          return true;
        },
        "application/json");
    // (The refusal may come before the client has written the chunk: then the write
    // fails, which must not kill the test binary.)
    if (chunked) {
      EXPECT_EQ(chunked->status, 411);
      EXPECT_THAT(chunked->body, HasSubstr("Content-Length"));
    }
    EXPECT_EQ(Call("GET", "/api/author/vms", "", &status)["ok"], true);  // still serving
  }
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
  // Not from the URL, where it would stay in histories and logs.
  httplib::Result in_url = client.Post(std::string("/login?token=") + kToken, "", "text/plain");
  ASSERT_TRUE(in_url);
  EXPECT_EQ(in_url->status, 401);
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
  // After a reload the page asks for its CSRF token again.
  answer = Call("GET", "/api/whoami", "", &status, {{"Cookie", cookie_pair}});
  EXPECT_EQ(status, 200);
  EXPECT_EQ(answer.value("csrf_token", ""), csrf);

  for (const json& bad :
       {json{{"session_id", session}, {"action", "click"}, {"x", 1}, {"y", 1}, {"confirm", "yes"}},
        json{{"session_id", session}, {"action", "shout"}, {"confirm", true}},
        json{{"session_id", session}, {"action", "click"}, {"confirm", true}},
        json{{"session_id", session}, {"action", "type"}, {"confirm", true}},
        json{{"session_id", session},
             {"action", "scroll"},
             {"x", 1},
             {"y", 1},
             {"dy", 1000000},
             {"confirm", true}},
        json{{"session_id", session},
             {"action", "click"},
             {"x", 1},
             {"y", 1},
             {"semantic", "yes"},
             {"confirm", true}}}) {
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

// `mosdat author`: the same flow as an agent drives it, verb by verb, each answer one
// line of JSON and an exit code.
TEST_F(AuthoringApiTest, TheAuthorCommandDrivesASessionVerbByVerb) {
  const std::map<std::string, std::string> env = {{"MOSDAT_LIVE_TOKEN", kToken}};
  const std::string url = "http://127.0.0.1:" + std::to_string(port_);
  auto author = [&](std::vector<std::string> verb, int expect = 0) {
    std::vector<std::string> argv = {BuiltBinary("cli/mosdat"), "author", "--url", url};
    argv.insert(argv.end(), verb.begin(), verb.end());
    RunResult run = RunCommand(argv, env, std::chrono::seconds(120));
    EXPECT_EQ(run.exit_code, expect) << verb[0] << ": " << run.out << run.err;
    EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 1) << run.out;  // one line
    json answer = json::parse(run.out, nullptr, false);
    EXPECT_FALSE(answer.is_discarded()) << run.out;
    return answer;
  };
  json doctor = author({"doctor"});
  EXPECT_EQ(doctor["token_accepted"], true);
  json started = author({"start", "--vm", "local"});
  const std::string session = started.value("session_id", "");
  ASSERT_FALSE(session.empty()) << started.dump();
  json captured = author({"capture", "--session", session, "--output", dir_.File("screen.png")});
  EXPECT_EQ(captured["output"], dir_.File("screen.png"));
  absl::StatusOr<Frame> png = DecodePng(ReadFileOrEmpty(dir_.File("screen.png")));
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->width, 1280);
  json described = author({"describe", "--session", session, "--x", "75", "--y", "407"});
  EXPECT_EQ(described.value("word", json::object()).value("text", ""), "checkbutton");
  json clicked = author({"click", "--session", session, "--x", "27", "--y", "407"});
  EXPECT_EQ(clicked["step"], json({{"click", {{"x", 27}, {"y", 407}}}}));
  author({"key", "--session", session, "--key", "Tab"});
  author({"step", "--session", session, "--json", clicked["step"].dump()});
  author({"step", "--session", session, "--json", "{\"shel\": 1}"});
  json invalid = author({"validate", "--session", session, "--name", "agent-flow"});
  EXPECT_EQ(invalid["ok"], false);
  author({"step", "--session", session, "--json", "[" + clicked["step"].dump() + "]"});
  json valid = author({"validate", "--session", session, "--name", "agent-flow"});
  EXPECT_EQ(valid["ok"], true) << valid.dump();
  author({"export", "--session", session, "--name", "agent-flow", "--output",
          dir_.File("agent-flow.yaml")});
  const std::string exported = ReadFileOrEmpty(dir_.File("agent-flow.yaml"));
  EXPECT_THAT(exported, HasSubstr("click:"));
  EXPECT_THAT(exported, HasSubstr("x: 27"));
  EXPECT_THAT(exported, HasSubstr("y: 407"));
  // Mistakes: a missing flag (2), another's or a closed session (2), no server (4).
  author({"click", "--session", session, "--x", "1"}, 2);
  author({"close", "--session", session});
  author({"capture", "--session", session}, 2);
  RunResult unreachable =
      RunCommand({BuiltBinary("cli/mosdat"), "author", "--url", "http://127.0.0.1:1", "vms"}, env);
  EXPECT_EQ(unreachable.exit_code, 4) << unreachable.out;
  EXPECT_THAT(unreachable.out, HasSubstr("cannot reach the live server"));
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

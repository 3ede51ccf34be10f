// `mosdat mcp` driven by the official MCP TypeScript SDK (tests/mcp/drive.mjs, from npm)
// the way a coding agent drives it: the 2025-11-25 client (@modelcontextprotocol/sdk)
// and the stateless 2026-07-28 one (@modelcontextprotocol/client), over stdio and over
// Streamable HTTP, on a real local desktop running gtk3-widget-factory. The model's
// answers come from a STAND-IN for a VLM endpoint (tests/data/vlm_standin.py: none can
// run here). The HTTP transport's refusals are checked with plain HTTP calls.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/integration/live_fixture.h"
#include "tests/integration/vlm_standin.h"

namespace mosdat::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class McpTest : public LiveServerTest {
 protected:
  std::string ExtraConfig() override {
    return "[vlm]\nbase_url = \"" + standin_.base_url() + "\"\nmodel = \"" + kQwen + "\"\n\n";
  }
  // The fixture's server is `mosdat mcp` on Streamable HTTP.
  std::vector<std::string> ServerArgs(const std::string& config) override {
    return {"mcp",
            "--config",
            config,
            "--http",
            "127.0.0.1:0",
            "--token",
            "env:MOSDAT_LIVE_TOKEN",
            "--allow-origin",
            "https://agent.example/"};
  }

  // drive.mjs with the SDK's client on `transport`; its report (the last line it
  // printed) in *report.
  RunResult Drive(const std::string& sdk, const std::string& transport, const std::string& flow,
                  json* report) {
    EXPECT_TRUE(std::filesystem::exists(SourcePath("tests/mcp/node_modules/@modelcontextprotocol")))
        << "run deploy/install-deps.sh (npm ci in tests/mcp)";
    const json command = {BuiltBinary("cli/mosdat"), "mcp", "--config", config_};
    RunResult run = RunCommand({"node", SourcePath("tests/mcp/drive.mjs")},
                               {{"MCP_SDK", sdk},
                                {"MCP_TRANSPORT", transport},
                                {"MCP_FLOW", flow},
                                {"MCP_COMMAND", command.dump()},
                                {"MCP_URL", Url()},
                                {"MCP_TOKEN", kToken},
                                {"MCP_EXPORT", dir_.File("authored.yaml")}},
                               std::chrono::seconds(280));
    std::string last_line;
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) last_line = line;
    }
    *report = json::parse(last_line, nullptr, false);
    if (!report->is_object()) *report = json::object();
    return run;
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

  // The exported draft runs as a scenario of the config.
  void ExpectTheExportRuns() {
    const std::string yaml = ReadFileOrEmpty(dir_.File("authored.yaml"));
    EXPECT_THAT(yaml, HasSubstr("checkbutton"));
    RunResult run = RunCommand(
        {BuiltBinary("cli/mosdat"), "functional", "--config", config_, "--test", "authored"}, {},
        std::chrono::seconds(180));
    EXPECT_EQ(run.exit_code, 0) << yaml << run.out << run.err;
  }

  StandIn standin_;
};

TEST_F(McpTest, TheLegacyClientOverStdioAuthorsAScenarioEndToEnd) {
  json report;
  RunResult run = Drive("legacy", "stdio", "full", &report);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(report["server"]["name"], "mosdat") << run.out;
  EXPECT_EQ(report["vms"], json::array({"local"}));
  EXPECT_EQ(report["capture"], json({{"width", 1280}, {"height", 800}}));
  EXPECT_THAT(report["step"].dump(), HasSubstr("checkbutton"));  // clicked by its target
  EXPECT_NEAR(report["localized"].value("x", 0), 27, 3);
  EXPECT_EQ(standin_.Stats().value("rejected", -1), 0);
  ExpectTheExportRuns();
}

TEST_F(McpTest, TheStatelessClientOverHttpAuthorsAScenarioEndToEnd) {
  json report;
  RunResult run = Drive("modern", "http", "full", &report);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(report["era"], "modern");
  EXPECT_EQ(report["capture"], json({{"width", 1280}, {"height", 800}}));
  EXPECT_THAT(report["step"].dump(), HasSubstr("checkbutton"));
  ExpectTheExportRuns();
}

TEST_F(McpTest, EachClientAlsoSpeaksOverTheOtherTransport) {
  json report;
  RunResult modern = Drive("modern", "stdio", "light", &report);
  EXPECT_EQ(modern.exit_code, 0) << modern.out << modern.err;
  EXPECT_EQ(report["era"], "modern");
  EXPECT_EQ(report["vms"], json::array({"local"}));
  RunResult legacy = Drive("legacy", "http", "light", &report);
  EXPECT_EQ(legacy.exit_code, 0) << legacy.out << legacy.err;
  EXPECT_EQ(report["tools"].size(), 13u) << legacy.out;
}

TEST_F(McpTest, TheHttpTransportRefusesWhatItMust) {
  // httplib's client writes without MSG_NOSIGNAL: a server that answers a body it will
  // not take before reading it must fail the write, not kill the test binary.
  signal(SIGPIPE, SIG_IGN);
  httplib::Client client("127.0.0.1", port_);
  const std::string tools_list =
      json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}}.dump();
  const httplib::Headers bearer = {{"Authorization", std::string("Bearer ") + kToken}};
  auto post = [&](httplib::Headers headers, const std::string& body,
                  const std::string& type = "application/json") {
    httplib::Result result = client.Post("/mcp", headers, body, type);
    return result ? std::make_pair(result->status, json::parse(result->body, nullptr, false))
                  : std::make_pair(-1, json());
  };
  // Acting on a VM needs the token.
  EXPECT_EQ(post({}, tools_list).first, 401);
  EXPECT_EQ(post({{"Authorization", "Bearer wrong"}}, tools_list).first, 401);
  // A page of another site is refused even with the token; this server's own origin is not.
  httplib::Headers foreign = bearer;
  foreign.emplace("Origin", "https://evil.example");
  EXPECT_EQ(post(foreign, tools_list).first, 403);
  httplib::Headers own = bearer;
  own.emplace("Origin", "http://127.0.0.1:" + std::to_string(port_));
  auto [status, answer] = post(own, tools_list);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(answer["result"]["tools"].size(), 13u) << answer.dump();
  // Not JSON, not a JSON body, too large.
  auto [parse_status, parse_error] = post(bearer, "{not json");
  EXPECT_EQ(parse_status, 400);
  EXPECT_EQ(parse_error["error"]["code"], -32700);
  EXPECT_EQ(post(bearer, tools_list, "text/plain").first, 415);
  // Too large: answered 413, or cut off while it is still being sent; never taken.
  const int too_large = post(bearer, "[" + std::string(9 << 20, ' ') + "]").first;
  EXPECT_TRUE(too_large == 413 || too_large == -1) << too_large;
  // No streams and no sessions.
  httplib::Result get = client.Get("/mcp", bearer);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  // A 2026-07-28 request whose headers do not match its body.
  const json modern = {{"jsonrpc", "2.0"},
                       {"id", 2},
                       {"method", "tools/call"},
                       {"params",
                        {{"name", "list_vms"},
                         {"_meta",
                          {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                           {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}};
  httplib::Headers headers = bearer;
  headers.emplace("MCP-Protocol-Version", "2026-07-28");
  headers.emplace("Mcp-Method", "tools/call");
  headers.emplace("Mcp-Name", "close_session");
  auto [mismatch_status, mismatch] = post(headers, modern.dump());
  EXPECT_EQ(mismatch_status, 400);
  EXPECT_EQ(mismatch["error"]["code"], -32020) << mismatch.dump();
  EXPECT_EQ(mismatch["id"], 2);
  // A 2026-07-28 request naming a version this server does not speak.
  json unsupported = modern;
  unsupported["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
  httplib::Headers future = bearer;
  future.emplace("MCP-Protocol-Version", "2099-01-01");
  future.emplace("Mcp-Method", "tools/call");
  future.emplace("Mcp-Name", "list_vms");
  auto [unsupported_status, unsupported_answer] = post(future, unsupported.dump());
  EXPECT_EQ(unsupported_status, 400);
  EXPECT_EQ(unsupported_answer["error"]["code"], -32022) << unsupported_answer.dump();
  EXPECT_EQ(unsupported_answer["error"]["data"]["supported"][0], "2026-07-28");

  // The loopback origins of this server, and the one --allow-origin names (its trailing
  // slash or not), are let in.
  for (const std::string& origin :
       {"http://localhost:" + std::to_string(port_), "http://[::1]:" + std::to_string(port_),
        std::string("https://agent.example")}) {
    httplib::Headers allowed = bearer;
    allowed.emplace("Origin", origin);
    EXPECT_EQ(post(allowed, tools_list).first, 200) << origin;
  }
  // An answer the client cannot take; DELETE (no sessions to end).
  httplib::Headers html = bearer;
  html.emplace("Accept", "text/html");
  EXPECT_EQ(post(html, tools_list).first, 406);
  httplib::Result deleted = client.Delete("/mcp", bearer);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 405);
  // A chunked body is refused before it is read (httplib could not bound it), and so is
  // one that nests deeper than any message; the server answers on.
  httplib::Result chunked = client.Post(
      "/mcp", bearer,
      [&](size_t, httplib::DataSink& sink) {
        sink.write(tools_list.data(), tools_list.size());
        sink.done();
        return true;
      },
      "application/json");
  // (The refusal may come before the client has written the chunk: then the write fails.)
  EXPECT_TRUE(!chunked || chunked->status == 411) << chunked->status;
  const std::string deep = R"({"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"x":)" +
                           std::string(300000, '[') + std::string(300000, ']') + "}}";
  auto [deep_status, deep_answer] = post(bearer, deep);
  EXPECT_EQ(deep_status, 400);
  EXPECT_EQ(deep_answer["error"]["code"], -32700);
  EXPECT_EQ(post(bearer, tools_list).first, 200);
}

// On stdio, standard output carries the protocol and nothing else, and the server ends
// when its input does.
TEST_F(McpTest, StdioCarriesOnlyTheProtocolAndEndsWithItsInput) {
  const std::string input = dir_.File("requests.jsonl");
  std::ofstream(input)
      << R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
      << "\n"
      << R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      << "\n"
      << "this line is not JSON\n"
      << R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_vms"}})"
      << "\n"
      << R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"open_session","arguments":{"vm":"local"}}})"
      << "\n"
      << R"({"jsonrpc":"2.0","id":4,"method":"ping"})"
      << "\n";
  absl::StatusOr<Process> mcp =
      Process::Spawn({.argv = {BuiltBinary("cli/mosdat"), "mcp", "--config", config_},
                      .env = CurrentEnvironment(),
                      .stdin_path = input,
                      .stdout_path = dir_.File("mcp.out"),
                      .stderr_path = dir_.File("mcp.err")});
  ASSERT_TRUE(mcp.ok()) << mcp.status();
  std::optional<ExitStatus> status = mcp->Wait(absl::Seconds(120));
  ASSERT_TRUE(status.has_value()) << "mosdat mcp did not end with its input";
  EXPECT_EQ(status->exit_code, 0) << ReadFileOrEmpty(dir_.File("mcp.err"));
  std::istringstream lines(ReadFileOrEmpty(dir_.File("mcp.out")));
  // By id (tool calls are answered when done, not in order); the parse error has none.
  std::map<std::string, json> replies;
  for (std::string line; std::getline(lines, line);) {
    json reply = json::parse(line, nullptr, false);
    ASSERT_FALSE(reply.is_discarded()) << "not a protocol message on stdout: " << line;
    const std::string id = reply.value("id", json()).dump();
    replies[id] = std::move(reply);
  }
  ASSERT_EQ(replies.size(), 5u) << ReadFileOrEmpty(dir_.File("mcp.out"));
  EXPECT_EQ(replies["1"]["result"]["serverInfo"]["name"], "mosdat");
  EXPECT_EQ(replies["null"]["error"]["code"], -32700);
  EXPECT_THAT(replies["2"]["result"]["content"][0]["text"].get<std::string>(), HasSubstr("local"));
  EXPECT_FALSE(replies["3"]["result"].value("isError", false)) << replies["3"].dump();
  EXPECT_EQ(replies["4"]["result"], json::object());
}

// The processes `mosdat mcp` starts (the desktop, the app) do not hold the client's
// stdout: they could write into the protocol, and would keep the pipe open after the
// server ends.
TEST_F(McpTest, ChildrenDoNotInheritTheProtocolStream) {
  const std::string fifo = dir_.File("stdin.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // Opened read-write (so the server's open does not wait for a writer) and
  // close-on-exec (so the server does not hold a writer itself): closing it is the end
  // of the server's input.
  const int writer = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  absl::StatusOr<Process> mcp =
      Process::Spawn({.argv = {BuiltBinary("cli/mosdat"), "mcp", "--config", config_},
                      .env = CurrentEnvironment(),
                      .stdin_path = fifo,
                      .stdout_path = dir_.File("mcp.out"),
                      .stderr_path = dir_.File("mcp.err")});
  ASSERT_TRUE(mcp.ok()) << mcp.status();
  const std::string requests =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"open_session","arguments":{"vm":"local"}}})"
      "\n";
  ASSERT_EQ(write(writer, requests.data(), requests.size()), static_cast<ssize_t>(requests.size()));
  // Once the session is open, its desktop runs.
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (ReadFileOrEmpty(dir_.File("mcp.out")).find("\"id\":2") == std::string::npos &&
         absl::Now() < deadline) {
    ASSERT_FALSE(mcp->Wait(absl::Milliseconds(50)).has_value())
        << ReadFileOrEmpty(dir_.File("mcp.err"));
  }
  ASSERT_THAT(ReadFileOrEmpty(dir_.File("mcp.out")), HasSubstr("session_id"))
      << ReadFileOrEmpty(dir_.File("mcp.err"));
  // No descendant of the server has mcp.out open.
  const std::string out = std::filesystem::canonical(dir_.File("mcp.out")).string();
  int descendants = 0;
  for (pid_t pid : Descendants(mcp->pid())) {
    ++descendants;
    std::error_code error;
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
      std::error_code unreadable;
      EXPECT_NE(std::filesystem::read_symlink(fd.path(), unreadable).string(), out)
          << "process " << pid << " holds the protocol stream as fd " << fd.path().filename();
    }
  }
  EXPECT_GT(descendants, 0) << "the session started no process";
  close(writer);
  std::optional<ExitStatus> status = mcp->Wait(absl::Seconds(60));
  ASSERT_TRUE(status.has_value()) << "mosdat mcp did not end with its input";
  EXPECT_EQ(status->exit_code, 0);
}

TEST(McpCommandTest, BadArgumentsAreRefusedBeforeServing) {
  TempDir dir;
  const std::string good = dir.File("good.toml");
  std::ofstream(good) << "[app]\nname = \"x\"\nbinary = \"/bin/true\"\n";
  const std::string bad = dir.File("bad.toml");
  std::ofstream(bad) << "[app]\nname = 3\n";
  const std::string mosdat = BuiltBinary("cli/mosdat");
  RunResult neither = RunCommand({mosdat, "mcp"});
  EXPECT_EQ(neither.exit_code, 2) << neither.err;
  EXPECT_THAT(neither.err, HasSubstr("--config"));
  EXPECT_TRUE(neither.out.empty());
  RunResult both = RunCommand({mosdat, "mcp", "--config", good, "--url", "http://127.0.0.1:1"});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  RunResult config = RunCommand({mosdat, "mcp", "--config", bad});
  EXPECT_EQ(config.exit_code, 3) << config.err;
  EXPECT_THAT(config.err, HasSubstr("bad.toml:2"));
  RunResult address = RunCommand({mosdat, "mcp", "--config", good, "--http", "nowhere"});
  EXPECT_EQ(address.exit_code, 2) << address.err;
  EXPECT_THAT(address.err, HasSubstr("--http"));
  // A live server that is not there is said at the start, as an infrastructure error.
  RunResult unreachable = RunCommand(
      {mosdat, "mcp", "--url", "http://127.0.0.1:1", "--live-token", "env:MOSDAT_TEST_LIVE_TOKEN"},
      {{"MOSDAT_TEST_LIVE_TOKEN", "x"}});
  EXPECT_EQ(unreachable.exit_code, 4) << unreachable.err;
  EXPECT_THAT(unreachable.err, HasSubstr("cannot reach the live server"));
  RunResult token = RunCommand(
      {mosdat, "mcp", "--config", good, "--http", "127.0.0.1:0", "--token", "env:MOSDAT_NO_SUCH"});
  EXPECT_EQ(token.exit_code, 2) << token.err;
  EXPECT_THAT(token.err, HasSubstr("--token"));
}

}  // namespace
}  // namespace mosdat::testing

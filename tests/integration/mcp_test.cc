// `mosdat mcp` driven by the official MCP TypeScript SDK (tests/mcp/drive.mjs, from npm)
// the way a coding agent drives it: the 2025-11-25 client (@modelcontextprotocol/sdk)
// and the stateless 2026-07-28 one (@modelcontextprotocol/client), over stdio and over
// Streamable HTTP, on a real local desktop running gtk3-widget-factory. The model's
// answers come from a STAND-IN for a VLM endpoint (tests/data/vlm_standin.py: none can
// run here). The HTTP transport's refusals are checked with plain HTTP calls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
    return {"mcp", "--config", config, "--http", "127.0.0.1:0", "--token", "env:MOSDAT_LIVE_TOKEN"};
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
  EXPECT_EQ(post(bearer, "[" + std::string(9 << 20, ' ') + "]").first, 413);
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
  std::vector<json> replies;
  for (std::string line; std::getline(lines, line);) {
    json reply = json::parse(line, nullptr, false);
    ASSERT_FALSE(reply.is_discarded()) << "not a protocol message on stdout: " << line;
    replies.push_back(std::move(reply));
  }
  ASSERT_EQ(replies.size(), 5u) << ReadFileOrEmpty(dir_.File("mcp.out"));
  EXPECT_EQ(replies[0]["result"]["serverInfo"]["name"], "mosdat");
  EXPECT_EQ(replies[1]["error"]["code"], -32700);
  EXPECT_THAT(replies[2]["result"]["content"][0]["text"].get<std::string>(), HasSubstr("local"));
  EXPECT_FALSE(replies[3]["result"].value("isError", false)) << replies[3].dump();
  EXPECT_EQ(replies[4]["id"], 4);
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
  RunResult token = RunCommand(
      {mosdat, "mcp", "--config", good, "--http", "127.0.0.1:0", "--token", "env:MOSDAT_NO_SUCH"});
  EXPECT_EQ(token.exit_code, 2) << token.err;
  EXPECT_THAT(token.err, HasSubstr("--token"));
}

}  // namespace
}  // namespace mosdat::testing

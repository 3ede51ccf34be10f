// The MCP protocol of `mosdat mcp` without a transport or a VM: both eras, the HTTP
// header rules, the version errors, tool calls and malformed messages — each answered
// as the 2026-07-28 and 2025-11-25 specifications say.
#include "mcp/mcp_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <sstream>

#include "mcp/stdio_transport.h"
#include "mcp/tool_arguments.h"

namespace mosdat::mcp {
namespace {

using nlohmann::json;

constexpr char kVersionKey[] = "io.modelcontextprotocol/protocolVersion";
constexpr char kCapabilitiesKey[] = "io.modelcontextprotocol/clientCapabilities";

std::vector<Tool> TestTools() {
  std::vector<Tool> tools;
  tools.push_back({.name = "echo",
                   .title = "Echo",
                   .description = "says the text back",
                   .input_schema = {{"type", "object"},
                                    {"properties",
                                     {{"text", {{"type", "string"}}},
                                      {"times", {{"type", "integer"}, {"minimum", 1}}}}},
                                    {"required", {"text"}},
                                    {"additionalProperties", false}},
                   .read_only = true,
                   .call = [](const json& arguments) {
                     return ToolResult::Json({{"said", arguments["text"]}});
                   }});
  tools.push_back({.name = "broken",
                   .description = "reads a field the peer did not send",
                   .input_schema = {{"type", "object"}},
                   .call = [](const json& arguments) {
                     return ToolResult::Text(arguments.at("missing").get<std::string>());
                   }});
  return tools;
}

class McpServerTest : public ::testing::Test {
 protected:
  McpServer server_{{.name = "mosdat", .version = "0.1.0", .instructions = "test"}, TestTools()};

  static json ModernRequest(const std::string& method, json params = json::object(),
                            const std::string& version = kModernVersion) {
    params["_meta"] = {{kVersionKey, version}, {kCapabilitiesKey, json::object()}};
    return {{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}};
  }
  static json LegacyRequest(const std::string& method, json params = json::object()) {
    return {{"jsonrpc", "2.0"}, {"id", "a"}, {"method", method}, {"params", params}};
  }
  static HttpHeaders ModernHeaders(const std::string& method,
                                   std::optional<std::string> name = {}) {
    return {.protocol_version = kModernVersion, .method = method, .name = std::move(name)};
  }
  // The reply's message; a test failure (not a crash) when there is none.
  static json Message(const Reply& reply) {
    if (!reply.message) {
      ADD_FAILURE() << "no reply message";
      return json::object();
    }
    return *reply.message;
  }
  static int ErrorCode(const Reply& reply) {
    return reply.message ? reply.message->value("error", json::object()).value("code", 0) : 0;
  }
};

TEST_F(McpServerTest, DiscoverNeedsNoHandshakeAndNamesEveryVersion) {
  LegacyConnection connection;
  Reply reply = server_.HandleStdio(ModernRequest("server/discover"), connection);
  ASSERT_TRUE(reply.message);
  const json result = Message(reply)["result"];
  EXPECT_EQ(Message(reply)["id"], 7);
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["supportedVersions"][0], kModernVersion);
  EXPECT_TRUE(result["supportedVersions"].size() >= 2);
  EXPECT_TRUE(result["capabilities"].contains("tools"));
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mosdat");
  EXPECT_TRUE(result["ttlMs"].is_number_integer());
  EXPECT_EQ(result["cacheScope"], "public");
  EXPECT_TRUE(connection.version.empty());  // stateless: nothing remembered
}

TEST_F(McpServerTest, ModernToolsListCarriesResultTypeAndCaching) {
  LegacyConnection connection;
  Reply reply = server_.HandleStdio(ModernRequest("tools/list"), connection);
  const json result = Message(reply)["result"];
  EXPECT_EQ(result["resultType"], "complete");
  ASSERT_EQ(result["tools"].size(), 2u);
  EXPECT_EQ(result["tools"][0]["name"], "echo");
  EXPECT_EQ(result["tools"][0]["inputSchema"]["type"], "object");
  EXPECT_EQ(result["tools"][0]["annotations"]["readOnlyHint"], true);
  EXPECT_TRUE(result.contains("ttlMs"));
  EXPECT_TRUE(result.contains("cacheScope"));
}

TEST_F(McpServerTest, AnUnsupportedModernVersionListsTheSupportedOnes) {
  LegacyConnection connection;
  Reply reply = server_.HandleStdio(ModernRequest("tools/list", {}, "2099-01-01"), connection);
  EXPECT_EQ(ErrorCode(reply), kUnsupportedProtocolVersion);
  EXPECT_EQ(reply.http_status, 400);
  const json data = Message(reply)["error"]["data"];
  EXPECT_EQ(data["requested"], "2099-01-01");
  EXPECT_EQ(data["supported"][0], kModernVersion);
  EXPECT_EQ(Message(reply)["id"], 7);  // the client matches the error by its id
}

TEST_F(McpServerTest, ALegacyVersionInMetaSaysItNeedsInitialize) {
  LegacyConnection connection;
  Reply reply = server_.HandleStdio(ModernRequest("tools/list", {}, "2025-11-25"), connection);
  EXPECT_EQ(ErrorCode(reply), kUnsupportedProtocolVersion);
  EXPECT_NE(Message(reply)["error"]["message"].get<std::string>().find("after initialize"),
            std::string::npos);
}

TEST_F(McpServerTest, AModernRequestWithoutCapabilitiesIsInvalidParams) {
  LegacyConnection connection;
  json request = ModernRequest("tools/list");
  request["params"]["_meta"].erase(kCapabilitiesKey);
  Reply reply = server_.HandleStdio(request, connection);
  EXPECT_EQ(ErrorCode(reply), kInvalidParams);
  EXPECT_EQ(reply.http_status, 400);
}

TEST_F(McpServerTest, LegacyHandshakeOnStdio) {
  LegacyConnection connection;
  // Before initialize, a request without the modern fields cannot be placed.
  // A ping is answered before initialize (the legacy lifecycle allows it).
  EXPECT_EQ(Message(server_.HandleStdio(LegacyRequest("ping"), connection))["result"],
            json::object());
  Reply early = server_.HandleStdio(LegacyRequest("tools/list"), connection);
  EXPECT_EQ(ErrorCode(early), kInvalidRequest);
  EXPECT_NE(Message(early)["error"]["message"].get<std::string>().find("initialize"),
            std::string::npos);

  Reply init = server_.HandleStdio(
      LegacyRequest("initialize", {{"protocolVersion", "2025-06-18"},
                                   {"capabilities", json::object()},
                                   {"clientInfo", {{"name", "t"}, {"version", "1"}}}}),
      connection);
  const json result = Message(init)["result"];
  EXPECT_EQ(result["protocolVersion"], "2025-06-18");  // one of ours: echoed
  EXPECT_EQ(result["serverInfo"]["name"], "mosdat");
  EXPECT_TRUE(result["capabilities"].contains("tools"));
  EXPECT_FALSE(result.contains("resultType"));
  EXPECT_EQ(connection.version, "2025-06-18");

  Reply initialized = server_.HandleStdio(
      {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, connection);
  EXPECT_FALSE(initialized.message);
  Reply ping = server_.HandleStdio(LegacyRequest("ping"), connection);
  EXPECT_EQ(Message(ping)["result"], json::object());
  Reply list = server_.HandleStdio(LegacyRequest("tools/list"), connection);
  EXPECT_EQ(Message(list)["result"]["tools"].size(), 2u);
  EXPECT_FALSE(Message(list)["result"].contains("resultType"));
}

TEST_F(McpServerTest, InitializeWithAVersionWeDoNotSpeakGetsOurNewestLegacyOne) {
  LegacyConnection connection;
  Reply init = server_.HandleStdio(LegacyRequest("initialize", {{"protocolVersion", "2024-10-07"}}),
                                   connection);
  EXPECT_EQ(Message(init)["result"]["protocolVersion"], "2025-11-25");
}

TEST_F(McpServerTest, HttpModernRequestsMustCarryMatchingHeaders) {
  // No MCP-Protocol-Version header.
  Reply missing = server_.HandleHttp(ModernRequest("tools/list"), {.method = "tools/list"});
  EXPECT_EQ(ErrorCode(missing), kHeaderMismatch);
  EXPECT_EQ(missing.http_status, 400);
  // Mcp-Method says another method.
  Reply method = server_.HandleHttp(ModernRequest("tools/list"), ModernHeaders("tools/call"));
  EXPECT_EQ(ErrorCode(method), kHeaderMismatch);
  // tools/call needs Mcp-Name, equal to the tool's name, plain or base64.
  json call = ModernRequest("tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}});
  EXPECT_EQ(ErrorCode(server_.HandleHttp(call, ModernHeaders("tools/call"))), kHeaderMismatch);
  EXPECT_EQ(ErrorCode(server_.HandleHttp(call, ModernHeaders("tools/call", "other"))),
            kHeaderMismatch);
  Reply plain = server_.HandleHttp(call, ModernHeaders("tools/call", "echo"));
  EXPECT_EQ(Message(plain)["result"]["structuredContent"]["said"], "hi");
  Reply encoded = server_.HandleHttp(call, ModernHeaders("tools/call", "=?base64?ZWNobw==?="));
  EXPECT_EQ(Message(encoded)["result"]["resultType"], "complete");
  // An unknown method in the modern era: 404.
  Reply unknown =
      server_.HandleHttp(ModernRequest("resources/list"), ModernHeaders("resources/list"));
  EXPECT_EQ(ErrorCode(unknown), kMethodNotFound);
  EXPECT_EQ(unknown.http_status, 404);
}

TEST_F(McpServerTest, HttpLegacyRequestsAreStatelessByTheirHeader) {
  // No header: 2025-03-26, as the legacy transport says.
  Reply none = server_.HandleHttp(LegacyRequest("tools/list"), {});
  EXPECT_EQ(Message(none)["result"]["tools"].size(), 2u);
  Reply named = server_.HandleHttp(LegacyRequest("tools/list"), {.protocol_version = "2025-11-25"});
  EXPECT_EQ(Message(named)["result"]["tools"].size(), 2u);
  Reply unknown =
      server_.HandleHttp(LegacyRequest("tools/list"), {.protocol_version = "1999-01-01"});
  EXPECT_EQ(ErrorCode(unknown), kUnsupportedProtocolVersion);
  EXPECT_EQ(unknown.http_status, 400);
  // The modern version in the header without the modern fields in the body.
  Reply modern =
      server_.HandleHttp(LegacyRequest("tools/list"), {.protocol_version = kModernVersion});
  EXPECT_EQ(ErrorCode(modern), kInvalidParams);
  EXPECT_EQ(modern.http_status, 400);
  // Notifications and a client's responses are accepted without a body.
  Reply note =
      server_.HandleHttp({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, {});
  EXPECT_FALSE(note.message);
  EXPECT_EQ(note.http_status, 202);
  Reply response =
      server_.HandleHttp({{"jsonrpc", "2.0"}, {"id", 3}, {"result", json::object()}}, {});
  EXPECT_EQ(response.http_status, 202);
}

TEST_F(McpServerTest, ToolCallsAnswerToolErrorsInTheResult) {
  LegacyConnection connection;
  auto call = [&](json params) {
    return server_.HandleStdio(ModernRequest("tools/call", std::move(params)), connection);
  };
  // An unknown tool is a protocol error.
  EXPECT_EQ(ErrorCode(call({{"name", "nope"}})), kInvalidParams);
  EXPECT_EQ(ErrorCode(call({{"arguments", json::object()}})), kInvalidParams);
  // Arguments that do not fit the schema: the tool's error, naming the argument.
  for (const json& arguments :
       {json::object(), json{{"text", 3}}, json{{"text", "a"}, {"times", 0}},
        json{{"text", "a"}, {"colour", "red"}}}) {
    Reply reply = call({{"name", "echo"}, {"arguments", arguments}});
    const json result = Message(reply)["result"];
    EXPECT_EQ(result["isError"], true) << arguments;
    EXPECT_NE(result["content"][0]["text"].get<std::string>().find("invalid arguments for echo"),
              std::string::npos);
  }
  // A tool that trips over its peer's answer fails, the server goes on.
  Reply broken = call({{"name", "broken"}});
  EXPECT_EQ(Message(broken)["result"]["isError"], true);
  Reply ok = call({{"name", "echo"}, {"arguments", {{"text", "hi"}}}});
  const json result = Message(ok)["result"];
  EXPECT_FALSE(result.contains("isError"));
  EXPECT_EQ(result["content"][0]["type"], "text");
  EXPECT_EQ(json::parse(result["content"][0]["text"].get<std::string>())["said"], "hi");
  EXPECT_EQ(result["structuredContent"]["said"], "hi");
}

TEST_F(McpServerTest, MalformedMessagesAreInvalidRequests) {
  LegacyConnection connection;
  for (const json& message :
       {json::array({LegacyRequest("ping")}), json("text"), json{{"id", 1}, {"method", "ping"}},
        json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}},
        json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 5}},
        json{{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}},
        json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}, {"params", json::array()}},
        json{{"jsonrpc", "2.0"}, {"id", 1}}}) {
    Reply reply = server_.HandleStdio(message, connection);
    EXPECT_EQ(ErrorCode(reply), kInvalidRequest) << message;
    EXPECT_EQ(reply.http_status, 400) << message;
  }
}

TEST(McpStdioTest, OneReplyALineAndBadLinesAreParseErrors) {
  McpServer server({.name = "mosdat", .version = "0"}, {});
  std::string oversized(kMaxMessageBytes + 10, 'x');
  std::istringstream in(
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
      "\"2025-11-25\"}}\r\n"
      "\n   \n"
      "not json\n" +
      oversized +
      "\n"
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");  // no newline at the end
  std::ostringstream out;
  ServeStdio(server, in, out);
  std::istringstream lines(out.str());
  std::vector<json> replies;
  for (std::string line; std::getline(lines, line);) replies.push_back(json::parse(line));
  ASSERT_EQ(replies.size(), 4u) << out.str();
  EXPECT_EQ(replies[0]["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(replies[1]["error"]["code"], kParseError);
  EXPECT_EQ(replies[2]["error"]["code"], kParseError);
  EXPECT_EQ(replies[3]["id"], 2);
  EXPECT_EQ(replies[3]["result"], json::object());
}

// A tool that waits for another tool's call: answered in order, one at a time, the
// first would time out before the second ran.
std::vector<Tool> WaitingTools(std::shared_future<void> released, std::promise<void>* release) {
  std::vector<Tool> tools;
  tools.push_back(
      {.name = "slow", .input_schema = {{"type", "object"}}, .call = [released](const json&) {
         const bool came = released.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
         return ToolResult::Text(came ? "released" : "timed out");
       }});
  tools.push_back(
      {.name = "release", .input_schema = {{"type", "object"}}, .call = [release](const json&) {
         release->set_value();
         return ToolResult::Text("done");
       }});
  return tools;
}

const std::string kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})"
    "\n";

std::string Call(int id, const std::string& tool) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":")" + tool + R"("}})" + "\n";
}

std::vector<json> Replies(const std::string& out) {
  std::istringstream lines(out);
  std::vector<json> replies;
  for (std::string line; std::getline(lines, line);) replies.push_back(json::parse(line));
  return replies;
}

TEST(McpStdioTest, ALongCallHoldsNeitherAPingNorTheNextCall) {
  std::promise<void> release;
  McpServer server({.name = "mosdat", .version = "0"},
                   WaitingTools(release.get_future().share(), &release));
  std::istringstream in(kInitialize + Call(2, "slow") +
                        R"({"jsonrpc":"2.0","id":3,"method":"ping"})" + "\n" + Call(4, "release"));
  std::ostringstream out;
  ServeStdio(server, in, out);  // returns once every call is answered
  std::vector<json> replies = Replies(out.str());
  ASSERT_EQ(replies.size(), 4u) << out.str();
  std::vector<json> ids;
  for (const json& reply : replies) ids.push_back(reply["id"]);
  // The ping is not held by the slow call, and the release ran while it waited.
  EXPECT_LT(std::find(ids.begin(), ids.end(), 3), std::find(ids.begin(), ids.end(), 2));
  for (const json& reply : replies) {
    if (reply["id"] == 2) {
      EXPECT_EQ(reply["result"]["content"][0]["text"], "released");
    }
  }
}

TEST(McpStdioTest, ACancelledCallGetsNoAnswer) {
  std::promise<void> release;
  McpServer server({.name = "mosdat", .version = "0"},
                   WaitingTools(release.get_future().share(), &release));
  std::istringstream in(
      kInitialize + Call(2, "slow") +
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"user"}})"
      "\n" +
      Call(3, "release"));
  std::ostringstream out;
  ServeStdio(server, in, out);
  std::vector<json> replies = Replies(out.str());
  ASSERT_EQ(replies.size(), 2u) << out.str();
  EXPECT_EQ(replies[0]["id"], 1);
  EXPECT_EQ(replies[1]["id"], 3);
}

TEST(McpToolArgumentsTest, NamesTheArgumentThatDoesNotFit) {
  const json schema = {{"type", "object"},
                       {"properties",
                        {{"action", {{"type", "string"}, {"enum", {"click", "type"}}}},
                         {"states", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                         {"x", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10}}}}},
                       {"required", {"action"}},
                       {"additionalProperties", false}};
  EXPECT_TRUE(CheckArguments(schema, {{"action", "click"}, {"x", 3}, {"states", {"a"}}}).ok());
  auto message = [&](const json& arguments) {
    return std::string(CheckArguments(schema, arguments).message());
  };
  EXPECT_EQ(message(json::array()), "the arguments must be an object, got array");
  EXPECT_EQ(message(json::object()), "action: required");
  EXPECT_EQ(message({{"action", "drag"}}), "action: \"drag\" is not one of [\"click\",\"type\"]");
  EXPECT_EQ(message({{"action", "click"}, {"x", "3"}}), "x: expected an integer, got string");
  EXPECT_EQ(message({{"action", "click"}, {"x", 11}}), "x: above the maximum 10");
  EXPECT_EQ(message({{"action", "click"}, {"states", {"a", 2}}}),
            "states[1]: expected a string, got number");
  EXPECT_EQ(message({{"action", "click"}, {"y", 1}}),
            "y: not an argument of this tool (known: action, states, x)");
}

}  // namespace
}  // namespace mosdat::mcp

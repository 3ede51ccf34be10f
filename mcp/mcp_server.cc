#include "mcp/mcp_server.h"

#include <algorithm>
#include <exception>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "mcp/tool_arguments.h"

namespace mosdat::mcp {

using nlohmann::json;

namespace {

constexpr char kMetaVersion[] = "io.modelcontextprotocol/protocolVersion";
constexpr char kMetaCapabilities[] = "io.modelcontextprotocol/clientCapabilities";
constexpr char kMetaServerInfo[] = "io.modelcontextprotocol/serverInfo";
// What a legacy HTTP request without MCP-Protocol-Version speaks (the 2025 transports).
constexpr char kLegacyDefaultVersion[] = "2025-03-26";
// How long a client may keep a tools/list or server/discover answer: the tools of a
// running server do not change.
constexpr int kCacheTtlMs = 3600 * 1000;

bool IsLegacy(const std::string& version) {
  const auto& versions = SupportedVersions();
  return version != kModernVersion &&
         std::find(versions.begin(), versions.end(), version) != versions.end();
}

json ErrorMessage(const json& id, int code, const std::string& message, json data = nullptr) {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

Reply Error(const json& id, int code, const std::string& message, int http_status = 200,
            json data = nullptr) {
  return {ErrorMessage(id, code, message, std::move(data)), http_status};
}

Reply Result(const json& id, json result) {
  return {json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}, 200};
}

// -32022, listing what is served. `message` defaults to naming the version.
Reply UnsupportedVersion(const json& id, const std::string& requested, std::string message = "") {
  if (message.empty()) message = "Unsupported protocol version: " + requested;
  return Error(id, kUnsupportedProtocolVersion, message, 400,
               {{"supported", SupportedVersions()}, {"requested", requested}});
}

// An Mcp-Name value: plain, or =?base64?...?= for names a header cannot carry.
std::string DecodeHeaderValue(const std::string& value) {
  if (absl::StartsWith(value, "=?base64?") && absl::EndsWith(value, "?=") && value.size() >= 11) {
    std::string decoded;
    if (absl::Base64Unescape(value.substr(9, value.size() - 11), &decoded)) return decoded;
  }
  return value;
}

}  // namespace

const std::vector<std::string>& SupportedVersions() {
  static const std::vector<std::string> versions = {kModernVersion, "2025-11-25", "2025-06-18",
                                                    "2025-03-26"};
  return versions;
}

// A request, read: its id, method and params (an object, possibly empty).
struct McpServer::Request {
  json id;
  std::string method;
  json params;
};

McpServer::McpServer(ServerInfo info, std::vector<Tool> tools)
    : info_(std::move(info)), tools_(std::move(tools)) {
  for (size_t i = 0; i < tools_.size(); ++i) by_name_[tools_[i].name] = i;
}

Reply McpServer::ParseError(const std::string& what) {
  return Error(nullptr, kParseError, "Parse error: " + what, 400);
}

Reply McpServer::HandleStdio(const json& message, LegacyConnection& connection) {
  return Handle(message, &connection, nullptr);
}

Reply McpServer::HandleHttp(const json& message, const HttpHeaders& headers) {
  return Handle(message, nullptr, &headers);
}

Reply McpServer::Handle(const json& message, LegacyConnection* stdio, const HttpHeaders* http) {
  if (message.is_array()) {
    return Error(nullptr, kInvalidRequest, "Invalid Request: batches are not supported", 400);
  }
  if (!message.is_object() || message.value("jsonrpc", json()) != "2.0") {
    return Error(nullptr, kInvalidRequest, "Invalid Request: not a JSON-RPC 2.0 message", 400);
  }
  if (!message.contains("method")) {
    // A client's response (we send no requests) or something that is not a message.
    if (message.contains("id") && (message.contains("result") || message.contains("error"))) {
      return {std::nullopt, 202};
    }
    return Error(message.value("id", json()), kInvalidRequest, "Invalid Request: no \"method\"",
                 400);
  }
  const json& method = message["method"];
  const json id = message.value("id", json());
  if (!method.is_string()) {
    return Error(id, kInvalidRequest, "Invalid Request: \"method\" must be a string", 400);
  }
  if (message.contains("params") && !message["params"].is_object()) {
    return Error(id, kInvalidRequest, "Invalid Request: \"params\" must be an object", 400);
  }
  if (!message.contains("id")) {
    // A notification: initialized, cancelled (the stdio transport drops a cancelled
    // call's answer; over HTTP the client closes its request), progress.
    return {std::nullopt, 202};
  }
  if (!id.is_string() && !id.is_number_integer()) {
    return Error(nullptr, kInvalidRequest, "Invalid Request: \"id\" must be a string or an integer",
                 400);
  }
  Request request{id, method.get<std::string>(), message.value("params", json::object())};

  const json meta = request.params.value("_meta", json());
  if (request.method != "initialize" && meta.is_object() && meta.contains(kMetaVersion)) {
    return Modern(request, http);
  }
  if (request.method == "initialize") return Initialize(request, stdio);
  if (http != nullptr) {
    // A legacy client over HTTP names its version in the header after initialize.
    const std::string version = http->protocol_version.value_or(kLegacyDefaultVersion);
    if (version == kModernVersion) {
      return Error(id, kInvalidParams,
                   "Invalid params: MCP-Protocol-Version is " + version + " but _meta has no \"" +
                       kMetaVersion + "\"",
                   400);
    }
    if (!IsLegacy(version)) return UnsupportedVersion(id, version);
    return Legacy(request);
  }
  // A ping is answered before initialize too (the legacy lifecycle allows it).
  if (request.method == "ping") return Result(id, json::object());
  if (stdio->version.empty()) {
    return Error(id, kInvalidRequest,
                 std::string("Invalid Request: send initialize first (protocol 2025-11-25), or "
                             "carry _meta \"") +
                     kMetaVersion + "\": \"" + kModernVersion + "\" and \"" + kMetaCapabilities +
                     "\" in every request (protocol " + kModernVersion + ")",
                 400);
  }
  return Legacy(request);
}

Reply McpServer::Modern(const Request& request, const HttpHeaders* http) {
  const json& meta = request.params["_meta"];
  const json& version = meta[kMetaVersion];
  if (!version.is_string()) {
    return Error(request.id, kInvalidParams,
                 std::string("Invalid params: _meta \"") + kMetaVersion + "\" must be a string",
                 400);
  }
  if (version != kModernVersion) {
    const std::string requested = version.get<std::string>();
    // A legacy version is served, but not per request: its client opens with initialize.
    return UnsupportedVersion(request.id, requested,
                              IsLegacy(requested)
                                  ? "Unsupported protocol version in _meta: " + requested +
                                        " is served after initialize; per request, this server "
                                        "speaks " +
                                        kModernVersion
                                  : "");
  }
  if (!meta.contains(kMetaCapabilities) || !meta[kMetaCapabilities].is_object()) {
    return Error(
        request.id, kInvalidParams,
        std::string("Invalid params: _meta \"") + kMetaCapabilities + "\" (an object) is required",
        400);
  }
  if (http != nullptr) {
    // The headers let an intermediary route without reading the body: they must agree.
    auto mismatch = [&](const std::string& what) {
      return Error(request.id, kHeaderMismatch, "Header mismatch: " + what, 400);
    };
    if (http->protocol_version != version.get<std::string>()) {
      return mismatch("MCP-Protocol-Version must be " + version.get<std::string>());
    }
    if (http->method != request.method) return mismatch("Mcp-Method must be " + request.method);
    if (request.method == "tools/call") {
      const std::string name = request.params.value("name", json()).is_string()
                                   ? request.params["name"].get<std::string>()
                                   : "";
      if (!http->name || DecodeHeaderValue(*http->name) != name) {
        return mismatch("Mcp-Name must be the tool's name \"" + name + "\"");
      }
    }
  }
  Reply reply;
  if (request.method == "server/discover") {
    reply = Result(request.id, {{"supportedVersions", SupportedVersions()},
                                {"capabilities", {{"tools", json::object()}}},
                                {"instructions", info_.instructions},
                                {"ttlMs", kCacheTtlMs},
                                {"cacheScope", "public"}});
  } else if (request.method == "tools/list") {
    reply = ListTools(request, true);
  } else if (request.method == "tools/call") {
    reply = CallTool(request);
  } else {
    return Error(request.id, kMethodNotFound, "Method not found: " + request.method, 404);
  }
  if (reply.message && reply.message->contains("result")) {
    json& result = (*reply.message)["result"];
    result["resultType"] = "complete";
    result["_meta"][kMetaServerInfo] = ServerInfoJson();
  }
  return reply;
}

Reply McpServer::Initialize(const Request& request, LegacyConnection* stdio) {
  const json requested = request.params.value("protocolVersion", json());
  if (!requested.is_string()) {
    return Error(request.id, kInvalidParams, "Invalid params: \"protocolVersion\" is required");
  }
  // The client's version when it is one of ours, else our newest legacy one.
  std::string version = requested.get<std::string>();
  if (!IsLegacy(version)) version = SupportedVersions()[1];
  if (stdio != nullptr) stdio->version = version;
  json result = {{"protocolVersion", version},
                 {"capabilities", {{"tools", {{"listChanged", false}}}}},
                 {"serverInfo", ServerInfoJson()}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  return Result(request.id, std::move(result));
}

Reply McpServer::Legacy(const Request& request) {
  if (request.method == "ping") return Result(request.id, json::object());
  if (request.method == "tools/list") return ListTools(request, false);
  if (request.method == "tools/call") return CallTool(request);
  return Error(request.id, kMethodNotFound, "Method not found: " + request.method);
}

Reply McpServer::ListTools(const Request& request, bool modern) {
  // One page holds every tool: a cursor can only be one we never gave.
  if (request.params.contains("cursor") && !request.params["cursor"].is_null()) {
    return Error(request.id, kInvalidParams, "Invalid params: unknown cursor");
  }
  json tools = json::array();
  for (const Tool& tool : tools_) tools.push_back(tool.Describe());
  json result = {{"tools", std::move(tools)}};
  if (modern) {
    result["ttlMs"] = kCacheTtlMs;
    result["cacheScope"] = "public";
  }
  return Result(request.id, std::move(result));
}

Reply McpServer::CallTool(const Request& request) {
  const json& name = request.params.value("name", json());
  if (!name.is_string()) {
    return Error(request.id, kInvalidParams, "Invalid params: \"name\" (the tool's) is required");
  }
  auto found = by_name_.find(name.get<std::string>());
  if (found == by_name_.end()) {
    return Error(request.id, kInvalidParams, "Unknown tool: " + name.get<std::string>());
  }
  const Tool& tool = tools_[found->second];
  json arguments = request.params.value("arguments", json::object());
  if (arguments.is_null()) arguments = json::object();
  ToolResult outcome;
  if (absl::Status checked = CheckArguments(tool.input_schema, arguments); !checked.ok()) {
    outcome = ToolResult::Error("invalid arguments for " + tool.name + ": " +
                                std::string(checked.message()));
  } else {
    try {
      outcome = tool.call(arguments);
    } catch (const std::exception& e) {
      // A peer's answer of an unexpected shape: the tool failed, the server goes on.
      outcome = ToolResult::Error(tool.name + " failed: " + e.what());
    }
  }
  json result = {{"content", std::move(outcome.content)}};
  if (outcome.is_error) result["isError"] = true;
  if (outcome.structured.is_object()) result["structuredContent"] = std::move(outcome.structured);
  return Result(request.id, std::move(result));
}

json McpServer::ServerInfoJson() const {
  return {{"name", info_.name}, {"version", info_.version}};
}

}  // namespace mosdat::mcp

// The Model Context Protocol for a server of tools, in both of the protocol's eras, with
// no transport: a transport hands each message in and writes what comes back.
//  - 2026-07-28 (current): stateless. Every request carries its protocol version and the
//    client's capabilities in params._meta; server/discover says what the server speaks;
//    every result has "resultType": "complete".
//  - 2025-11-25, 2025-06-18, 2025-03-26 (legacy): an initialize handshake chooses the
//    version, for the stdio process; over HTTP each request names its version in the
//    MCP-Protocol-Version header (no header: 2025-03-26) and no session is kept.
// A request is served by the era it opens with: the modern _meta fields, or initialize.
// Only tools are offered (tools/list, tools/call); the server never sends requests.
#ifndef MOSDAT_MCP_MCP_SERVER_H_
#define MOSDAT_MCP_MCP_SERVER_H_

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mcp/tool.h"

namespace mosdat::mcp {

inline constexpr char kModernVersion[] = "2026-07-28";
// The largest message taken, on either transport: the live server takes request bodies
// of 1 MiB, and a message carries a tool's arguments with a little envelope.
inline constexpr size_t kMaxMessageBytes = (1 << 20) + (64 << 10);
// Every version served, newest first (the modern one, then the legacy ones).
const std::vector<std::string>& SupportedVersions();

// JSON-RPC and MCP error codes.
enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kHeaderMismatch = -32020,
  kUnsupportedProtocolVersion = -32022,
};

struct ServerInfo {
  std::string name;
  std::string version;
  std::string instructions;  // for the model: what the server is for, how to begin
};

// What one stdio connection remembers: the legacy version its initialize chose.
struct LegacyConnection {
  std::string version;  // "" until initialize
};

// The HTTP request headers the protocol reads (names lower-case; absent = nullopt).
struct HttpHeaders {
  std::optional<std::string> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string> method;            // Mcp-Method
  std::optional<std::string> name;              // Mcp-Name
};

struct Reply {
  std::optional<nlohmann::json> message;  // none for a notification or a client's response
  int http_status = 200;                  // for HTTP: 200, 202 (accepted, no body), 4xx
};

class McpServer {
 public:
  McpServer(ServerInfo info, std::vector<Tool> tools);

  // One message from a stdio client (its connection's state in `connection`).
  Reply HandleStdio(const nlohmann::json& message, LegacyConnection& connection);
  // One message POSTed over Streamable HTTP, with its headers.
  Reply HandleHttp(const nlohmann::json& message, const HttpHeaders& headers);

  // A reply for a message that could not be read at all (HTTP 400).
  static Reply ParseError(const std::string& what);

 private:
  struct Request;
  Reply Handle(const nlohmann::json& message, LegacyConnection* stdio, const HttpHeaders* http);
  Reply Modern(const Request& request, const HttpHeaders* http);
  // A request of the legacy era, whichever of its versions (they differ in nothing a
  // tools-only server answers).
  Reply Legacy(const Request& request);
  Reply Initialize(const Request& request, LegacyConnection* stdio);
  // tools/list (with the modern era's cache hints when `modern`) and tools/call: the
  // result, or an error reply.
  Reply ListTools(const Request& request, bool modern);
  Reply CallTool(const Request& request);
  nlohmann::json ServerInfoJson() const;

  ServerInfo info_;
  std::vector<Tool> tools_;
  std::map<std::string, size_t> by_name_;
};

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_MCP_SERVER_H_

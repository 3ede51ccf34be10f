// The Streamable HTTP transport: one endpoint (POST /mcp) taking one JSON-RPC message
// per request and answering it as application/json (202 with no body for a
// notification); GET and DELETE are 405, since the server opens no streams and keeps no
// sessions (an Mcp-Session-Id is neither issued nor needed). Every call needs the bearer
// token (the tools act on VMs); a browser page of another origin is refused (403) so a
// site cannot drive a local server through the user's browser. Listens on loopback
// unless told otherwise; bodies are bounded.
#ifndef MOSDAT_MCP_HTTP_TRANSPORT_H_
#define MOSDAT_MCP_HTTP_TRANSPORT_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "live/http_listener.h"
#include "mcp/mcp_server.h"

namespace mosdat::mcp {

struct HttpTransportOptions {
  std::string listen = "127.0.0.1:8083";  // host:port; port 0 = any free one
  std::string token;                      // required
  // Origins allowed besides this server's own loopback ones (http://localhost:PORT,
  // http://127.0.0.1:PORT, http://[::1]:PORT), e.g. "https://agent.example".
  std::vector<std::string> allowed_origins;
  size_t max_body_bytes = kMaxMessageBytes;
};

inline constexpr char kMcpPath[] = "/mcp";

class HttpTransport {
 public:
  // Serves `server` (which must outlive this). InvalidArgument for a bad address or an
  // empty token, Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Start(McpServer& server,
                                                              HttpTransportOptions options);
  ~HttpTransport();

  std::string url() const;  // the endpoint: http://host:port/mcp

 private:
  HttpTransport(McpServer& server, HttpTransportOptions options)
      : server_(server), options_(std::move(options)) {}
  // Origin, token and a body that can be bounded, checked before the body is read;
  // false after answering the refusal.
  bool Admit(const httplib::Request& request, httplib::Response& response) const;
  void Post(const httplib::Request& request, httplib::Response& response);
  // `origin` is this server's own (on `port`) or one of allowed_origins.
  bool OriginAllowed(const std::string& origin, int port) const;

  McpServer& server_;
  HttpTransportOptions options_;
  httplib::Server http_;
  std::unique_ptr<HttpListener> listener_;  // declared last: it stops first
};

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_HTTP_TRANSPORT_H_

#include "mcp/http_transport.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/json_depth.h"
#include "live/http_auth.h"

namespace mosdat::mcp {
namespace {

using nlohmann::json;

std::optional<std::string> Header(const httplib::Request& request, const char* name) {
  if (!request.has_header(name)) return std::nullopt;
  return request.get_header_value(name);
}

void Send(httplib::Response& response, const Reply& reply) {
  response.status = reply.http_status;
  if (reply.message) {
    response.set_content(reply.message->dump(-1, ' ', false, json::error_handler_t::replace),
                         "application/json");
  }
}

// A JSON-RPC error for a request refused before it was read (no id known).
void Refuse(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(json{{"jsonrpc", "2.0"},
                            {"id", nullptr},
                            {"error", {{"code", kInvalidRequest}, {"message", message}}}}
                           .dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

// An origin as browsers send it: scheme://host[:port], without a trailing slash.
std::string NormalOrigin(std::string origin) {
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  return origin;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Start(McpServer& server,
                                                                    HttpTransportOptions options) {
  if (options.token.empty()) return absl::InvalidArgumentError("the MCP server needs a token");
  std::unique_ptr<HttpTransport> transport(new HttpTransport(server, std::move(options)));
  httplib::Server& http = transport->http_;
  http.set_payload_max_length(transport->options_.max_body_bytes);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  // Tool calls may take minutes: room for several at once beside quick refusals.
  http.new_task_queue = [] { return new httplib::ThreadPool(32); };
  HttpTransport* self = transport.get();
  // Who may call, before anything of the body is read.
  http.set_pre_routing_handler(
      [self](const httplib::Request& request, httplib::Response& response) {
        return self->Admit(request, response) ? httplib::Server::HandlerResponse::Unhandled
                                              : httplib::Server::HandlerResponse::Handled;
      });
  http.Post(kMcpPath, [self](const httplib::Request& request, httplib::Response& response) {
    self->Post(request, response);
  });
  auto not_allowed = [](const httplib::Request&, httplib::Response& response) {
    response.set_header("Allow", "POST");
    Refuse(response, 405,
           "this server opens no streams and keeps no sessions: POST each message to /mcp");
  };
  http.Get(kMcpPath, not_allowed);
  http.Delete(kMcpPath, not_allowed);
  http.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty()) return;
    Refuse(response, response.status,
           response.status == 404   ? "no such endpoint: the MCP endpoint is /mcp"
           : response.status == 413 ? "the message is too large"
                                    : absl::StrCat("HTTP ", response.status));
  });
  absl::StatusOr<std::unique_ptr<HttpListener>> listener =
      HttpListener::Start(http, transport->options_.listen);
  if (!listener.ok()) return listener.status();
  transport->listener_ = std::move(*listener);
  return transport;
}

HttpTransport::~HttpTransport() { listener_.reset(); }

std::string HttpTransport::url() const { return listener_->url() + kMcpPath; }

bool HttpTransport::OriginAllowed(const std::string& origin, int port_number) const {
  const std::string port = std::to_string(port_number);
  for (const char* host : {"localhost", "127.0.0.1", "[::1]"}) {
    if (origin == absl::StrCat("http://", host, ":", port)) return true;
  }
  for (const std::string& allowed : options_.allowed_origins) {
    if (NormalOrigin(origin) == NormalOrigin(allowed)) return true;
  }
  return false;
}

bool HttpTransport::Admit(const httplib::Request& request, httplib::Response& response) const {
  // A browser sends Origin; a page of another site must not reach the tools even when
  // it can reach the port.
  if (std::optional<std::string> origin = Header(request, "Origin");
      origin && !OriginAllowed(*origin, request.local_port)) {
    Refuse(response, 403, "origin " + *origin + " is not allowed");
    return false;
  }
  if (!HttpAuth::BearerMatches(request.get_header_value("Authorization"), options_.token)) {
    response.set_header("WWW-Authenticate", "Bearer");
    Refuse(response, 401,
           request.has_header("Authorization") ? "the bearer token is not this server's"
                                               : "Authorization: Bearer TOKEN is required");
    return false;
  }
  if (BodyUnbounded(request)) {
    Refuse(response, 411, "send the message with a Content-Length (chunked bodies are refused)");
    return false;
  }
  return true;
}

void HttpTransport::Post(const httplib::Request& request, httplib::Response& response) {
  const std::string content_type = absl::AsciiStrToLower(request.get_header_value("Content-Type"));
  if (!absl::StartsWith(content_type, "application/json")) {
    return Refuse(response, 415, "the body must be application/json");
  }
  const std::string accept = absl::AsciiStrToLower(request.get_header_value("Accept"));
  if (!accept.empty() && !absl::StrContains(accept, "application/json") &&
      !absl::StrContains(accept, "*/*")) {
    return Refuse(response, 406, "the answer is application/json: Accept must allow it");
  }
  json message = mosdat::ParsePeerJson(request.body);
  if (message.is_discarded()) {
    return Send(response, McpServer::ParseError("the body is not JSON (or nests too deeply)"));
  }
  Send(response,
       server_.HandleHttp(message, {.protocol_version = Header(request, "MCP-Protocol-Version"),
                                    .method = Header(request, "Mcp-Method"),
                                    .name = Header(request, "Mcp-Name")}));
}

}  // namespace mosdat::mcp

#include "live/http_json.h"

#include "absl/strings/str_cat.h"
#include "core/json_depth.h"

namespace mosdat {

using nlohmann::json;

void Answer(httplib::Response& response, int status, json body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

void Fail(httplib::Response& response, int status, const std::string& message) {
  Answer(response, status, {{"ok", false}, {"error", message}});
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 502;
    case absl::StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

void Fail(httplib::Response& response, const absl::Status& status) {
  Fail(response, HttpStatusOf(status), std::string(status.message()));
}

// The request's JSON object body; nullopt after answering 400.
std::optional<json> Body(const httplib::Request& request, httplib::Response& response) {
  json body =
      json::parse(request.body, nullptr, false);  // depth checked below, with its own message
  if (body.is_discarded() || !body.is_object()) {
    Fail(response, 400, "the body must be a JSON object");
    return std::nullopt;
  }
  if (!JsonDepthWithin(body)) {
    Fail(response, 400, "the body nests too deeply");
    return std::nullopt;
  }
  return body;
}

// A string field; "" after answering 400 when it is missing or not a string.
std::string Field(const json& body, const char* name, httplib::Response& response) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    Fail(response, 400, absl::StrCat("\"", name, "\" (a non-empty string) is required"));
    return "";
  }
  return it->get<std::string>();
}

std::optional<int> IntField(const json& body, const char* name, httplib::Response& response) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_number_integer()) {
    Fail(response, 400, absl::StrCat("\"", name, "\" (an integer) is required"));
    return std::nullopt;
  }
  const int64_t value = it->get<int64_t>();
  if (value < 0 || value > 100000) {
    Fail(response, 400, absl::StrCat("\"", name, "\" is out of range"));
    return std::nullopt;
  }
  return static_cast<int>(value);
}

httplib::Server::Handler GuardedHandler(HttpAuth& auth, PrincipalHandler handler) {
  return [&auth, handler](const httplib::Request& request, httplib::Response& response) {
    int status = 401;
    std::string why;
    std::optional<std::string> principal = auth.Check(request, &status, &why);
    if (!principal) return Fail(response, status, why);
    handler(*principal, request, response);
  };
}

constexpr char kPagePolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

void ServePage(std::string_view html, httplib::Response& response) {
  response.set_header("Content-Security-Policy", kPagePolicy);
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cache-Control", "no-store");
  response.set_content(std::string(html), "text/html; charset=utf-8");
}

}  // namespace mosdat

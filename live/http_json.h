// JSON over httplib, as every live endpoint answers: {"ok": true, ...} or {"ok": false,
// "error": "..."} with the HTTP status of the mistake; request bodies and fields read
// with a 400 that names what is wrong; handlers behind HttpAuth.
#ifndef MOSDAT_LIVE_HTTP_JSON_H_
#define MOSDAT_LIVE_HTTP_JSON_H_

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "live/http_auth.h"

namespace mosdat {

void Answer(httplib::Response& response, int status, nlohmann::json body);
void Fail(httplib::Response& response, int status, const std::string& message);
// 400 for the caller's mistakes, 401/403/404/429, 502 when a VM or a model cannot be
// reached, 501, else 500.
int HttpStatusOf(const absl::Status& status);
void Fail(httplib::Response& response, const absl::Status& status);

// The request's JSON object body; nullopt after answering 400.
std::optional<nlohmann::json> Body(const httplib::Request& request, httplib::Response& response);
// A non-empty string field; "" after answering 400 when it is missing or not a string.
std::string Field(const nlohmann::json& body, const char* name, httplib::Response& response);
// An integer field in 0..100000; nullopt after answering 400.
std::optional<int> IntField(const nlohmann::json& body, const char* name,
                            httplib::Response& response);

// A handler that runs only for an authenticated caller (its principal passed on);
// others get HttpAuth's 401 or 403.
using PrincipalHandler =
    std::function<void(const std::string&, const httplib::Request&, httplib::Response&)>;
httplib::Server::Handler GuardedHandler(HttpAuth& auth, PrincipalHandler handler);

// One of the server's own pages: it runs only its own inline script, talks only to
// this server, and is never framed (a framing page could steer a confirmed click).
void ServePage(std::string_view html, httplib::Response& response);

}  // namespace mosdat

#endif  // MOSDAT_LIVE_HTTP_JSON_H_

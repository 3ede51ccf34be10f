#include "live/http_auth.h"

#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/json_depth.h"

namespace mosdat {
namespace {

constexpr char kCookie[] = "mosdat_login";

std::string RandomHex(int words) {
  std::random_device random;
  std::string out;
  for (int i = 0; i < words; ++i) absl::StrAppendFormat(&out, "%08x", random());
  return out;
}

void JsonError(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(nlohmann::json{{"ok", false}, {"error", message}}.dump(),
                       "application/json");
}

}  // namespace

HttpAuth::HttpAuth(std::string token, absl::Duration login_ttl)
    : token_(std::move(token)), login_ttl_(login_ttl) {}

bool HttpAuth::ConstantTimeEquals(const std::string& a, const std::string& b) {
  unsigned char differ = a.size() == b.size() ? 0 : 1;
  const std::string& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    differ |= x ^ y;
  }
  return differ == 0;
}

std::optional<std::string> HttpAuth::LoginIdOf(const httplib::Request& request) {
  const std::string cookies = request.get_header_value("Cookie");
  for (absl::string_view part : absl::StrSplit(cookies, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, absl::StrCat(kCookie, "="))) return std::string(part);
  }
  return std::nullopt;
}

bool HttpAuth::BearerMatches(const std::string& authorization, const std::string& token) {
  absl::string_view value = authorization;
  // The scheme is case-insensitive (RFC 9110); the token is not.
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) return false;
  value.remove_prefix(7);
  return ConstantTimeEquals(std::string(absl::StripAsciiWhitespace(value)), token);
}

std::optional<std::string> HttpAuth::Check(const httplib::Request& request, int* status,
                                           std::string* why) {
  const std::string authorization = request.get_header_value("Authorization");
  if (!authorization.empty()) {
    if (!BearerMatches(authorization, token_)) {
      *status = 401;
      *why = "the Authorization header does not carry this server's token (Bearer TOKEN)";
      return std::nullopt;
    }
    return "bearer";
  }
  std::optional<std::string> id = LoginIdOf(request);
  if (!id) {
    *status = 401;
    *why = "log in first (POST /login) or send Authorization: Bearer TOKEN";
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  auto it = logins_.find(*id);
  if (it == logins_.end() || it->second.expires < absl::Now()) {
    if (it != logins_.end()) logins_.erase(it);
    *status = 401;
    *why = "the login expired or is unknown: log in again";
    return std::nullopt;
  }
  if (request.method != "GET" && request.method != "HEAD" &&
      !ConstantTimeEquals(request.get_header_value("X-CSRF-Token"), it->second.csrf)) {
    *status = 403;
    *why = "missing or wrong X-CSRF-Token header (the page sends the one its login got)";
    return std::nullopt;
  }
  return absl::StrCat("login:", it->first.substr(0, 8));
}

void HttpAuth::Login(const httplib::Request& request, httplib::Response& response) {
  // From the JSON body only: a token in the URL would stay in histories and logs.
  std::string given;
  nlohmann::json body = ParsePeerJson(request.body);
  if (body.is_object() && body.contains("token") && body["token"].is_string()) {
    given = body["token"].get<std::string>();
  }
  if (given.empty() || !ConstantTimeEquals(given, token_)) {
    JsonError(response, 401, "wrong token");
    return;
  }
  const std::string id = RandomHex(8);
  LoginState login{RandomHex(8), absl::Now() + login_ttl_};
  {
    std::lock_guard lock(mutex_);
    // Expired logins go when a new one comes.
    for (auto it = logins_.begin(); it != logins_.end();) {
      it = it->second.expires < absl::Now() ? logins_.erase(it) : std::next(it);
    }
    logins_[id] = login;
  }
  response.set_header(
      "Set-Cookie", absl::StrCat(kCookie, "=", id, "; Path=/; HttpOnly; SameSite=Strict; Max-Age=",
                                 absl::ToInt64Seconds(login_ttl_)));
  response.set_content(nlohmann::json{{"ok", true}, {"csrf_token", login.csrf}}.dump(),
                       "application/json");
}

void HttpAuth::Logout(const httplib::Request& request, httplib::Response& response) {
  if (std::optional<std::string> id = LoginIdOf(request)) {
    std::lock_guard lock(mutex_);
    logins_.erase(*id);
  }
  response.set_header("Set-Cookie", absl::StrCat(kCookie, "=; Path=/; Max-Age=0"));
  response.set_content(nlohmann::json{{"ok", true}}.dump(), "application/json");
}

std::string HttpAuth::CsrfTokenOf(const httplib::Request& request) {
  std::optional<std::string> id = LoginIdOf(request);
  if (!id) return "";
  std::lock_guard lock(mutex_);
  auto it = logins_.find(*id);
  return it == logins_.end() ? "" : it->second.csrf;
}

}  // namespace mosdat

// Who is calling the live server, and may they. Every /api/ call needs the server's
// token: as `Authorization: Bearer TOKEN` (agents, `mosdat author`), or through a
// browser login (POST /login with the token) that sets an HttpOnly session cookie.
// A cookie-authenticated POST must also carry the login's CSRF token in the
// X-CSRF-Token header (a page of another site can make the browser send the cookie, but
// cannot read the CSRF token). The principal names the caller: "bearer" for the token,
// "login:<id>" for a browser login; authoring sessions belong to their principal.
//
// Tokens are compared in constant time and never logged or echoed.
#ifndef MOSDAT_LIVE_HTTP_AUTH_H_
#define MOSDAT_LIVE_HTTP_AUTH_H_

#include <httplib.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace mosdat {

class HttpAuth {
 public:
  explicit HttpAuth(std::string token, absl::Duration login_ttl = absl::Hours(12));

  // The caller's principal, or nullopt (then `*why` says what is missing or wrong, for a
  // 401 or 403 answer, and `*status` is that code).
  std::optional<std::string> Check(const httplib::Request& request, int* status, std::string* why);

  // POST /login (JSON {"token"}): a new login with its cookies; 401 for a wrong token. POST /logout
  // ends the caller's login.
  void Login(const httplib::Request& request, httplib::Response& response);
  void Logout(const httplib::Request& request, httplib::Response& response);

  // The CSRF token of the request's login (for the page to send back), "" if none.
  std::string CsrfTokenOf(const httplib::Request& request);

  static bool ConstantTimeEquals(const std::string& a, const std::string& b);
  // Whether an Authorization header value carries `token` as a Bearer credential.
  static bool BearerMatches(const std::string& authorization, const std::string& token);

 private:
  struct LoginState {
    std::string csrf;
    absl::Time expires;
  };
  std::optional<std::string> LoginIdOf(const httplib::Request& request);

  const std::string token_;
  const absl::Duration login_ttl_;
  std::mutex mutex_;
  std::map<std::string, LoginState> logins_;  // login id (the cookie's value) → login
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_HTTP_AUTH_H_

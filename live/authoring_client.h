// A client of the authoring API (authoring_api.h) over HTTP with its bearer token: what
// `mosdat author` and `mosdat mcp` call. Every call opens its own connection, so one
// client may be used from several threads at once.
#ifndef MOSDAT_LIVE_AUTHORING_CLIENT_H_
#define MOSDAT_LIVE_AUTHORING_CLIENT_H_

#include <nlohmann/json.hpp>
#include <string>

namespace mosdat {

// The server's answer, and whose fault it is when it did not do the thing.
struct AuthoringAnswer {
  enum class Kind {
    kDone,     // 2xx: done (a step may still have failed: see Negative)
    kRefused,  // 4xx: the caller's mistake (bad field, no such session)
    // 5xx, no connection, an answer that is not JSON, or 401 (the token this client was
    // given is not the server's): the rig's fault, not the caller's.
    kUnreachable,
  };
  Kind kind = Kind::kUnreachable;
  int http_status = -1;  // -1 when there was no answer
  // The JSON object answered; {"ok": false, "error": "..."} when there was none.
  nlohmann::json body;

  bool done() const { return kind == Kind::kDone; }
  // Done, but the step did not pass, the model did not find it or answered no.
  bool Negative() const;
  std::string error() const { return body.value("error", std::string()); }
};

class AuthoringClient {
 public:
  // `url` is the live server's base (http://host:port); `token` its bearer token.
  AuthoringClient(std::string url, std::string token);

  AuthoringAnswer Get(const std::string& path) const;
  AuthoringAnswer Post(const std::string& path, const nlohmann::json& body) const;

 private:
  AuthoringAnswer Call(bool post, const std::string& path, const nlohmann::json& body) const;
  std::string url_;
  std::string token_;
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_AUTHORING_CLIENT_H_

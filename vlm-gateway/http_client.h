// One HTTP exchange with an OpenAI-compatible server (or another JSON API such as
// GitHub's), via libcurl. Transport failures
// are reported as what they are (could not connect, timed out, broken exchange) so the
// endpoint pool can decide between retrying, failing over and giving up. TLS is always
// verified. The API key is sent as "Authorization: Bearer" and never logged.
#ifndef MOSDAT_VLM_GATEWAY_HTTP_CLIENT_H_
#define MOSDAT_VLM_GATEWAY_HTTP_CLIENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mosdat {

enum class Transport {
  kOk,             // an HTTP response arrived (any status)
  kConnectFailed,  // refused, unreachable, name not resolved: nobody to retry against
  kTimedOut,       // no complete answer within the timeout
  kBroken,         // connected, then the exchange failed (reset, TLS, malformed HTTP)
};

struct HttpResult {
  Transport transport = Transport::kOk;
  std::string error;  // libcurl's explanation when transport != kOk
  long status = 0;    // HTTP status when transport == kOk
  std::string body;
  std::optional<absl::Duration> retry_after;  // 429/503 Retry-After in seconds, if sent
  // The response's headers, names in lower case (the last of a repeated one); at most
  // kMaxResponseHeaders, values cut at 1 KiB: a peer's headers are untrusted.
  std::map<std::string, std::string> headers;
  absl::Duration elapsed;
};

inline constexpr size_t kMaxResponseHeaders = 64;

struct HttpRequest {
  std::string method = "GET";  // "GET" | "POST"
  std::string url;
  std::string body;     // POST: JSON
  std::string api_key;  // empty = no Authorization header
  absl::Duration timeout = absl::Seconds(60);
  std::vector<std::string> headers;  // more request headers, "Name: value"
  std::string accept = "application/json";
  std::string user_agent = "mosdat-vlm-gateway/0.1";
  // A longer answer is a broken exchange (kBroken), not memory spent on a peer.
  size_t max_body_bytes = 64u << 20;
};

HttpResult PerformHttp(const HttpRequest& request);

// "{base}/{path}" with exactly one slash between them.
std::string JoinUrl(const std::string& base, const std::string& path);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_HTTP_CLIENT_H_

// The VLM endpoints of one gateway: base_url then fallback_base_urls, each with its own
// concurrency limit. A call goes to the first endpoint that is not cooling down after a
// failure; on that endpoint, HTTP 5xx, 429 and timeouts are retried `retries` times with
// exponential backoff (429/503 honour Retry-After); when they persist, or the endpoint
// cannot be reached at all, the call fails over to the next endpoint. Other 4xx answers
// (bad request, wrong key, unknown model) are the caller's or the config's problem:
// returned at once, never retried.
//
// When expected_model is set, each endpoint's model list is checked before its first
// chat call; a server that does not serve it fails the call with FAILED_PRECONDITION
// naming what it does serve.
#ifndef MOSDAT_VLM_GATEWAY_ENDPOINT_POOL_H_
#define MOSDAT_VLM_GATEWAY_ENDPOINT_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vlm-gateway/gateway_metrics.h"
#include "vlm-gateway/http_client.h"
#include "core/vlm_types.h"

namespace mosdat {

struct EndpointPoolOptions {
  std::vector<std::string> base_urls;          // in order of preference; at least one
  std::string api_key;                         // sent as a bearer token; never logged
  std::string expected_model;                  // empty = no model-list check
  absl::Duration timeout = absl::Seconds(60);  // per HTTP attempt
  int max_concurrency = 2;                     // per endpoint
  int retries = 2;                             // extra attempts per endpoint
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(8);
  // After failing, an endpoint is tried last for this long.
  absl::Duration cooldown = absl::Seconds(30);
};

class EndpointPool {
 public:
  // `metrics` may be null; it must outlive the pool.
  EndpointPool(EndpointPoolOptions options, GatewayMetrics* metrics);
  ~EndpointPool();

  struct ChatAnswer {
    std::string body;      // the 200 response
    std::string endpoint;  // the base URL that answered
    absl::Duration elapsed;
  };

  // POST {base}/chat/completions with `body`. Errors: FAILED_PRECONDITION (expected
  // model missing), INVALID_ARGUMENT / UNAUTHENTICATED / PERMISSION_DENIED / NOT_FOUND
  // for 4xx answers, DEADLINE_EXCEEDED when every endpoint timed out, UNAVAILABLE
  // otherwise; messages name each endpoint and what it did.
  absl::StatusOr<ChatAnswer> ChatCompletion(const std::string& body);

  // GET {base}/models from the first endpoint that answers.
  absl::StatusOr<ModelList> ListModels();

  const EndpointPoolOptions& options() const { return options_; }

 private:
  struct Endpoint;
  struct Attempted;

  // One endpoint, with retries. `fatal` is set when failing over would not help.
  absl::StatusOr<ChatAnswer> TryEndpoint(Endpoint& endpoint, const std::string& body, bool* fatal);
  absl::Status CheckExpectedModel(Endpoint& endpoint, bool* fatal);
  HttpResult Perform(Endpoint& endpoint, HttpRequest request);
  std::vector<Endpoint*> Order();

  EndpointPoolOptions options_;
  GatewayMetrics* metrics_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

// Parses a GET /models body ({"data": [{"id": ...}, ...]}, also Ollama's {"models":
// [{"name": ...}]}).
absl::StatusOr<std::vector<std::string>> ParseModelList(const std::string& body);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_ENDPOINT_POOL_H_

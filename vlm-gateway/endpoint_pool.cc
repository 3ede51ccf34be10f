#include "vlm-gateway/endpoint_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "vlm-gateway/answer_parser.h"

namespace mosdat {

struct EndpointPool::Endpoint {
  std::string base_url;
  absl::Mutex mu;
  int free_slots ABSL_GUARDED_BY(mu) = 0;
  absl::Time down_until ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  bool model_checked ABSL_GUARDED_BY(mu) = false;
};

namespace {

using Json = nlohmann::json;

std::string Seconds(absl::Duration d) { return absl::StrFormat("%g s", absl::ToDoubleSeconds(d)); }

// The server's own explanation: OpenAI {"error": {"message"}}, vLLM {"message"},
// FastAPI {"detail"}, or the body itself.
std::string ServerMessage(const std::string& body) {
  Json json = Json::parse(body, nullptr, false);
  if (json.is_object()) {
    if (auto error = json.find("error"); error != json.end()) {
      if (error->is_string()) return Excerpt(error->get<std::string>(), 300);
      if (error->is_object() && error->contains("message") && (*error)["message"].is_string()) {
        return Excerpt((*error)["message"].get<std::string>(), 300);
      }
    }
    for (const char* key : {"message", "detail"}) {
      if (json.contains(key) && json[key].is_string()) {
        return Excerpt(json[key].get<std::string>(), 300);
      }
    }
  }
  return body.empty() ? "(empty body)" : Excerpt(body, 300);
}

std::string Outcome(const HttpResult& result) {
  switch (result.transport) {
    case Transport::kOk:
      return absl::StrCat(result.status);
    case Transport::kConnectFailed:
      return "connect";
    case Transport::kTimedOut:
      return "timeout";
    case Transport::kBroken:
      return "broken";
  }
  return "broken";
}

// A 4xx answer: not retried, not failed over.
absl::Status ClientError(const std::string& url, const HttpResult& result) {
  std::string what =
      absl::StrCat(url, " answered HTTP ", result.status, ": ", ServerMessage(result.body));
  switch (result.status) {
    case 401:
      return absl::UnauthenticatedError(
          absl::StrCat(what, " (check [vlm].api_key: the server wants a valid key)"));
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat(what, " (check [vlm].api_key and the key's permissions)"));
    case 404:
      return absl::NotFoundError(absl::StrCat(
          what, " (check [vlm].base_url, which usually ends in /v1, and the model name)"));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(what,
                       " (the server refused the request; check [vlm].model and that "
                       "it accepts images and response_format json_schema)"));
  }
}

class Slot {
 public:
  Slot(absl::Mutex& mu, int& free) : mu_(mu), free_(free) {
    absl::MutexLock lock(&mu_, absl::Condition(
                                   +[](int* n) { return *n > 0; }, &free_));
    --free_;
  }
  ~Slot() {
    absl::MutexLock lock(&mu_);
    ++free_;
  }

 private:
  absl::Mutex& mu_;
  int& free_;
};

absl::Duration Backoff(const EndpointPoolOptions& options, int attempt,
                       std::optional<absl::Duration> retry_after) {
  absl::Duration delay = options.initial_backoff;
  for (int i = 1; i < attempt && delay < options.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options.max_backoff);
  thread_local std::mt19937 random(std::random_device{}());
  delay *= std::uniform_real_distribution<double>(0.8, 1.2)(random);
  if (retry_after) delay = std::max(delay, std::min(*retry_after, options.max_backoff));
  return delay;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseModelList(const std::string& body) {
  Json json = Json::parse(body, nullptr, false);
  std::vector<std::string> models;
  auto collect = [&](const char* list, const char* field) {
    if (!json.is_object() || !json.contains(list) || !json[list].is_array()) return false;
    for (const Json& entry : json[list]) {
      if (entry.is_object() && entry.contains(field) && entry[field].is_string()) {
        models.push_back(entry[field].get<std::string>());
      }
    }
    return true;
  };
  if (!collect("data", "id") && !collect("models", "name")) {
    return absl::InternalError(
        absl::StrCat("the model list is not {\"data\": [{\"id\": ...}]}: \"", Excerpt(body), "\""));
  }
  return models;
}

EndpointPool::EndpointPool(EndpointPoolOptions options, GatewayMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  for (const std::string& url : options_.base_urls) {
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->base_url = url;
    absl::MutexLock lock(&endpoint->mu);
    endpoint->free_slots = std::max(1, options_.max_concurrency);
    endpoints_.push_back(std::move(endpoint));
  }
}

EndpointPool::~EndpointPool() = default;

std::vector<EndpointPool::Endpoint*> EndpointPool::Order() {
  std::vector<Endpoint*> healthy;
  std::vector<Endpoint*> cooling;
  absl::Time now = absl::Now();
  for (const auto& endpoint : endpoints_) {
    absl::MutexLock lock(&endpoint->mu);
    (endpoint->down_until > now ? cooling : healthy).push_back(endpoint.get());
  }
  healthy.insert(healthy.end(), cooling.begin(), cooling.end());
  return healthy;
}

HttpResult EndpointPool::Perform(Endpoint& endpoint, HttpRequest request) {
  request.api_key = options_.api_key;
  request.timeout = options_.timeout;
  HttpResult result;
  {
    Slot slot(endpoint.mu, endpoint.free_slots);
    result = PerformHttp(request);
  }
  if (metrics_ != nullptr) metrics_->UpstreamAttempt(endpoint.base_url, Outcome(result));
  return result;
}

absl::Status EndpointPool::CheckExpectedModel(Endpoint& endpoint, bool* fatal) {
  if (options_.expected_model.empty()) return absl::OkStatus();
  {
    absl::MutexLock lock(&endpoint.mu);
    if (endpoint.model_checked) return absl::OkStatus();
  }
  std::string url = JoinUrl(endpoint.base_url, "models");
  HttpResult result = Perform(endpoint, {.method = "GET", .url = url});
  if (result.transport == Transport::kTimedOut) {
    return absl::DeadlineExceededError(absl::StrCat(url, " did not answer within ",
                                                    Seconds(options_.timeout), " ([vlm].timeout)"));
  }
  if (result.transport != Transport::kOk) {
    return absl::UnavailableError(absl::StrCat("cannot list models at ", url, ": ", result.error));
  }
  if (result.status >= 500) {
    return absl::UnavailableError(
        absl::StrCat(url, " answered HTTP ", result.status, ": ", ServerMessage(result.body)));
  }
  if (result.status != 200) {
    *fatal = true;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot check [vlm].expected_model \"", options_.expected_model, "\": ", url,
                     " answered HTTP ", result.status, ": ", ServerMessage(result.body),
                     " (fix base_url, or leave expected_model empty for servers without "
                     "a model list)"));
  }
  absl::StatusOr<std::vector<std::string>> models = ParseModelList(result.body);
  if (!models.ok()) {
    *fatal = true;
    return absl::FailedPreconditionError(absl::StrCat("cannot check [vlm].expected_model at ", url,
                                                      ": ", models.status().message()));
  }
  if (std::find(models->begin(), models->end(), options_.expected_model) == models->end()) {
    *fatal = true;
    std::vector<std::string> quoted;
    for (const std::string& m : *models) quoted.push_back(absl::StrCat("\"", m, "\""));
    return absl::FailedPreconditionError(absl::StrCat(
        endpoint.base_url, " does not serve [vlm].expected_model \"", options_.expected_model,
        "\"; it serves ", quoted.empty() ? "no models" : absl::StrJoin(quoted, ", "),
        ". Load that model on the server, or correct expected_model"));
  }
  absl::MutexLock lock(&endpoint.mu);
  endpoint.model_checked = true;
  return absl::OkStatus();
}

absl::StatusOr<EndpointPool::ChatAnswer> EndpointPool::TryEndpoint(Endpoint& endpoint,
                                                                   const std::string& body,
                                                                   bool* fatal) {
  if (absl::Status s = CheckExpectedModel(endpoint, fatal); !s.ok()) return s;
  const std::string url = JoinUrl(endpoint.base_url, "chat/completions");
  absl::Status last;
  int attempts = 0;
  std::optional<absl::Duration> retry_after;
  for (int attempt = 0; attempt <= options_.retries; ++attempt) {
    if (attempt > 0) absl::SleepFor(Backoff(options_, attempt, retry_after));
    ++attempts;
    HttpResult result = Perform(endpoint, {.method = "POST", .url = url, .body = body});
    retry_after = result.retry_after;
    if (result.transport == Transport::kOk && result.status >= 200 && result.status < 300) {
      return ChatAnswer{std::move(result.body), endpoint.base_url, result.elapsed};
    }
    switch (result.transport) {
      case Transport::kConnectFailed:
        // Nobody listens: retrying the same address only delays the failover.
        return absl::UnavailableError(absl::StrCat("cannot connect to ", url, ": ", result.error));
      case Transport::kTimedOut:
        last = absl::DeadlineExceededError(absl::StrCat(
            url, " did not answer within ", Seconds(options_.timeout), " ([vlm].timeout)"));
        continue;
      case Transport::kBroken:
        last =
            absl::UnavailableError(absl::StrCat("exchange with ", url, " failed: ", result.error));
        continue;
      case Transport::kOk:
        break;
    }
    if (result.status == 429) {
      last = absl::ResourceExhaustedError(
          absl::StrCat(url, " answered HTTP 429 (rate limited): ", ServerMessage(result.body)));
    } else if (result.status >= 500) {
      last = absl::UnavailableError(
          absl::StrCat(url, " answered HTTP ", result.status, ": ", ServerMessage(result.body)));
    } else if (result.status >= 400) {
      *fatal = true;
      return ClientError(url, result);
    } else {
      *fatal = true;
      return absl::FailedPreconditionError(absl::StrCat(
          url, " answered HTTP ", result.status,
          " instead of a chat completion (a redirect? set base_url to the final address)"));
    }
  }
  return absl::Status(last.code(), attempts > 1
                                       ? absl::StrCat(last.message(), " (", attempts, " attempts)")
                                       : std::string(last.message()));
}

absl::StatusOr<EndpointPool::ChatAnswer> EndpointPool::ChatCompletion(const std::string& body) {
  std::vector<std::string> failures;
  bool all_timed_out = true;
  for (Endpoint* endpoint : Order()) {
    bool fatal = false;
    absl::StatusOr<ChatAnswer> answer = TryEndpoint(*endpoint, body, &fatal);
    if (answer.ok()) {
      absl::MutexLock lock(&endpoint->mu);
      endpoint->down_until = absl::InfinitePast();
      return answer;
    }
    if (fatal) return answer.status();
    {
      absl::MutexLock lock(&endpoint->mu);
      endpoint->down_until = absl::Now() + options_.cooldown;
    }
    if (endpoints_.size() > 1) {
      spdlog::warn("VLM endpoint failed, trying the next one: {}",
                   std::string(answer.status().message()));
    }
    all_timed_out = all_timed_out && answer.status().code() == absl::StatusCode::kDeadlineExceeded;
    if (endpoints_.size() == 1) return answer.status();
    failures.push_back(std::string(answer.status().message()));
  }
  std::string message = absl::StrCat("every VLM endpoint failed: ", absl::StrJoin(failures, "; "));
  return all_timed_out ? absl::DeadlineExceededError(message) : absl::UnavailableError(message);
}

absl::StatusOr<ModelList> EndpointPool::ListModels() {
  std::vector<std::string> failures;
  for (Endpoint* endpoint : Order()) {
    std::string url = JoinUrl(endpoint->base_url, "models");
    HttpResult result = Perform(*endpoint, {.method = "GET", .url = url});
    if (result.transport == Transport::kOk && result.status == 200) {
      absl::StatusOr<std::vector<std::string>> models = ParseModelList(result.body);
      if (!models.ok()) return models.status();
      return ModelList{endpoint->base_url, std::move(*models)};
    }
    if (result.transport == Transport::kTimedOut) {
      failures.push_back(absl::StrCat(url, " did not answer within ", Seconds(options_.timeout)));
    } else if (result.transport != Transport::kOk) {
      failures.push_back(absl::StrCat(url, ": ", result.error));
    } else {
      failures.push_back(
          absl::StrCat(url, " answered HTTP ", result.status, ": ", ServerMessage(result.body)));
    }
  }
  return absl::UnavailableError(
      absl::StrCat("no VLM endpoint listed its models: ", absl::StrJoin(failures, "; ")));
}

}  // namespace mosdat

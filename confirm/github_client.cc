#include "confirm/github_client.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json_depth.h"
#include "core/utf8.h"
#include "vlm-gateway/http_client.h"

namespace mosdat {
namespace {

using nlohmann::json;

constexpr size_t kMaxTitleBytes = 1024;
constexpr size_t kMaxLabels = 100;
constexpr size_t kMaxAnswerBytes = 4u << 20;  // an issue with its body is far smaller

std::string Bounded(const std::string& text, size_t max_bytes) {
  return std::string(Utf8Prefix(ValidUtf8(text), max_bytes));
}

std::string Path(const IssueRef& ref) {
  return absl::StrCat("repos/", ref.owner, "/", ref.repo, "/issues/", ref.number);
}

HttpRequest GitHubRequest(const GitHubOptions& options, std::string method, std::string path) {
  HttpRequest request;
  request.method = std::move(method);
  request.url = JoinUrl(options.api_url, path);
  request.api_key = options.token;
  request.timeout = options.timeout;
  request.accept = "application/vnd.github+json";
  request.headers = {"X-GitHub-Api-Version: 2022-11-28"};
  request.user_agent = "mosdat/0.1 (+https://github.com/jeanfbrito/mOSdat)";
  request.max_body_bytes = kMaxAnswerBytes;
  return request;
}

// GitHub's own words for an error ("Not Found", "Bad credentials"), bounded.
std::string MessageOf(const HttpResult& result) {
  json body = ParsePeerJson(result.body);
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    return ShortenText(ValidUtf8(body["message"].get<std::string>()), 300);
  }
  return "";
}

// What an answer other than the expected one means, for `what` ("issue owner/repo#1").
absl::Status ErrorOf(const HttpResult& result, const GitHubOptions& options,
                     const std::string& what) {
  if (result.transport != Transport::kOk) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach GitHub at ", options.api_url, ": ", result.error));
  }
  const std::string message = MessageOf(result);
  const std::string says = message.empty() ? "" : absl::StrCat(" (GitHub says: ", message, ")");
  auto header = [&](const std::string& name) {
    auto it = result.headers.find(name);
    return it == result.headers.end() ? std::string() : it->second;
  };
  if ((result.status == 403 || result.status == 429) && header("x-ratelimit-remaining") == "0") {
    int64_t reset = 0;
    std::string when = "later";
    if (absl::SimpleAtoi(header("x-ratelimit-reset"), &reset) && reset > 0) {
      when = absl::StrCat("at ", absl::FormatTime("%H:%M:%S UTC", absl::FromUnixSeconds(reset),
                                                  absl::UTCTimeZone()));
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        "GitHub's rate limit is spent; it resets ", when,
        options.token.empty() ? ": give a token (--github-token env:GITHUB_TOKEN) for a higher one"
                              : "",
        says));
  }
  switch (result.status) {
    case 401:
      return absl::PermissionDeniedError(
          absl::StrCat("GitHub refused the token (401): check --github-token", says));
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat("GitHub does not allow this for ", what, " (403)", says));
    case 404:
      return absl::NotFoundError(
          absl::StrCat("GitHub has no ", what,
                       options.token.empty() ? " (or it is private: give a token)" : "", says));
    case 410:
      return absl::NotFoundError(absl::StrCat(what, " was deleted (410)", says));
    default:
      return absl::UnavailableError(
          absl::StrCat("GitHub answered HTTP ", result.status, " for ", what, says));
  }
}

std::string NowRfc3339() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

}  // namespace

absl::Status CheckApiUrl(const std::string& api_url) {
  if (absl::StartsWith(api_url, "https://") && api_url.size() > 8) return absl::OkStatus();
  for (std::string_view loopback :
       {"http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://[::1]:"}) {
    if (api_url.starts_with(loopback)) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--github-api \"", api_url,
      "\": use https:// (plain http only to a loopback address), so the token is never sent "
      "in the clear"));
}

absl::StatusOr<GitHubIssue> FetchIssue(const GitHubOptions& options, const IssueRef& ref) {
  if (absl::Status s = CheckApiUrl(options.api_url); !s.ok()) return s;
  const std::string what = absl::StrCat("issue ", ref.ToString());
  HttpResult result = PerformHttp(GitHubRequest(options, "GET", Path(ref)));
  if (result.transport != Transport::kOk || result.status != 200) {
    return ErrorOf(result, options, what);
  }
  json body = ParsePeerJson(result.body);
  if (!body.is_object()) {
    return absl::UnavailableError(
        absl::StrCat("GitHub's answer for ", what, " is not a JSON object"));
  }
  absl::StatusOr<GitHubIssue> issue = IssueFromJson(body, ref);
  if (!issue.ok()) {
    return absl::UnavailableError(
        absl::StrCat("GitHub's answer for ", what, " is not an issue: ", issue.status().message()));
  }
  issue->fetched_at = NowRfc3339();
  return issue;
}

absl::StatusOr<std::string> PostIssueComment(const GitHubOptions& options, const IssueRef& ref,
                                             const std::string& body) {
  if (absl::Status s = CheckApiUrl(options.api_url); !s.ok()) return s;
  if (options.token.empty()) {
    return absl::FailedPreconditionError(
        "posting a comment needs a GitHub token (--github-token env:GITHUB_TOKEN or file:PATH)");
  }
  HttpRequest request = GitHubRequest(options, "POST", Path(ref) + "/comments");
  request.body = json{{"body", body}}.dump(-1, ' ', false, json::error_handler_t::replace);
  HttpResult result = PerformHttp(request);
  const std::string what = absl::StrCat("a comment on ", ref.ToString());
  if (result.transport != Transport::kOk || result.status != 201) {
    return ErrorOf(result, options, what);
  }
  json answer = ParsePeerJson(result.body);
  if (!answer.is_object() || !answer.contains("html_url") || !answer["html_url"].is_string()) {
    return absl::UnavailableError("GitHub took the comment but its answer has no html_url");
  }
  return Bounded(answer["html_url"].get<std::string>(), 2048);
}

std::string IssueCachePath(const std::string& cache_dir, const IssueRef& ref) {
  return (std::filesystem::path(cache_dir) / ref.owner / ref.repo /
          absl::StrCat(ref.number, ".json"))
      .string();
}

json IssueToJson(const GitHubIssue& issue) {
  return json{{"number", issue.ref.number},
              {"repository", absl::StrCat(issue.ref.owner, "/", issue.ref.repo)},
              {"title", issue.title},
              {"body", issue.body},
              {"state", issue.state},
              {"html_url", issue.url},
              {"labels", issue.labels},
              {"pull_request", issue.pull_request},
              {"fetched_at", issue.fetched_at}};
}

absl::StatusOr<GitHubIssue> IssueFromJson(const json& j, const IssueRef& ref) {
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::string();
    if (!it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (!j.is_object()) return absl::DataLossError("not a JSON object");
  auto number = j.find("number");
  if (number == j.end() || !number->is_number_integer() || number->get<int64_t>() != ref.number) {
    return absl::DataLossError(absl::StrCat("its \"number\" is not ", ref.number));
  }
  GitHubIssue issue;
  issue.ref = ref;
  std::optional<std::string> title = text("title"), body = text("body"), state = text("state"),
                             url = text("html_url"), fetched = text("fetched_at");
  if (!title || title->empty()) return absl::DataLossError("it has no \"title\" text");
  if (!body || !state || !url || !fetched) {
    return absl::DataLossError("\"body\", \"state\", \"html_url\" must be texts");
  }
  issue.title = Bounded(*title, kMaxTitleBytes);
  issue.body = Bounded(*body, kMaxIssueBodyBytes);
  issue.state = Bounded(*state, 32);
  issue.url = Bounded(*url, 2048);
  issue.fetched_at = Bounded(*fetched, 64);
  // GitHub's labels are objects with a name; the cache keeps the names.
  auto labels = j.find("labels");
  if (labels != j.end() && labels->is_array()) {
    for (const json& label : *labels) {
      if (issue.labels.size() >= kMaxLabels) break;
      if (label.is_string()) {
        issue.labels.push_back(Bounded(label.get<std::string>(), 100));
      } else if (label.is_object() && label.contains("name") && label["name"].is_string()) {
        issue.labels.push_back(Bounded(label["name"].get<std::string>(), 100));
      }
    }
  }
  auto pull = j.find("pull_request");
  issue.pull_request =
      pull != j.end() && (pull->is_object() || (pull->is_boolean() && pull->get<bool>()));
  return issue;
}

}  // namespace mosdat

#include "tests/integration/github_standin.h"

#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mosdat::testing {

using nlohmann::json;

GitHubStandIn::GitHubStandIn(std::string token) : token_(std::move(token)) {
  auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    Handle(request, response);
  };
  server_.Get(".*", handler);
  server_.Post(".*", handler);
  absl::StatusOr<std::unique_ptr<HttpListener>> listener =
      HttpListener::Start(server_, "127.0.0.1:0");
  if (listener.ok()) listener_ = std::move(*listener);
}

GitHubStandIn::~GitHubStandIn() = default;

// A port no one listens on when the stand-in could not start: the test's calls fail.
std::string GitHubStandIn::api_url() const {
  return listener_ ? listener_->url() : "http://127.0.0.1:1";
}

void GitHubStandIn::AddIssue(const std::string& repo, int number, const std::string& title,
                             const std::string& body, const std::vector<std::string>& labels) {
  json label_objects = json::array();
  int id = 1000;
  for (const std::string& name : labels) {
    label_objects.push_back(
        {{"id", ++id}, {"name", name}, {"color", "d73a4a"}, {"default", false}});
  }
  std::lock_guard lock(mu_);
  issues_[absl::StrCat(repo, "#", number)] = {
      {"id", 5000 + number},
      {"number", number},
      {"title", title},
      {"body", body},
      {"state", "open"},
      {"labels", label_objects},
      {"user", {{"login", "reporter"}, {"id", 42}}},
      {"html_url", absl::StrCat("https://github.com/", repo, "/issues/", number)},
      {"url", absl::StrCat("https://api.github.com/repos/", repo, "/issues/", number)},
      {"comments", 0},
      {"created_at", "2026-11-01T10:00:00Z"}};
}

void GitHubStandIn::SpendRateLimit() {
  std::lock_guard lock(mu_);
  rate_limited_ = true;
}

int GitHubStandIn::invalid_requests() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(invalid_.size());
}

std::vector<std::string> GitHubStandIn::invalid_reasons() const {
  std::lock_guard lock(mu_);
  return invalid_;
}

int GitHubStandIn::issue_requests() const {
  std::lock_guard lock(mu_);
  return issue_requests_;
}

std::vector<std::string> GitHubStandIn::comments() const {
  std::lock_guard lock(mu_);
  return comments_;
}

void GitHubStandIn::Invalid(httplib::Response& response, const std::string& why) {
  invalid_.push_back(why);
  response.status = 400;
  response.set_content(json{{"message", why}}.dump(), "application/json");
}

void GitHubStandIn::Handle(const httplib::Request& request, httplib::Response& response) {
  std::lock_guard lock(mu_);
  auto message = [&](int status, const std::string& text) {
    response.status = status;
    response.set_content(
        json{{"message", text}, {"documentation_url", "https://docs.github.com/rest"}}.dump(),
        "application/json; charset=utf-8");
  };
  // What GitHub requires of every client.
  if (request.get_header_value("Accept") != "application/vnd.github+json") {
    return Invalid(response, "Accept is not application/vnd.github+json");
  }
  if (request.get_header_value("X-GitHub-Api-Version") != "2022-11-28") {
    return Invalid(response, "no X-GitHub-Api-Version: 2022-11-28");
  }
  if (request.get_header_value("User-Agent").empty()) {
    return Invalid(response, "no User-Agent (GitHub refuses requests without one)");
  }
  response.set_header("x-ratelimit-limit", "60");
  if (rate_limited_) {
    response.set_header("x-ratelimit-remaining", "0");
    response.set_header("x-ratelimit-reset",
                        absl::StrCat(absl::ToUnixSeconds(absl::Now() + absl::Minutes(30))));
    return message(403, "API rate limit exceeded for 127.0.0.1.");
  }
  response.set_header("x-ratelimit-remaining", "59");
  const std::string authorization = request.get_header_value("Authorization");
  const bool authenticated = !token_.empty() && authorization == "Bearer " + token_;
  if (!authorization.empty() && !authenticated) return message(401, "Bad credentials");

  static const std::regex kIssue(
      R"(^/repos/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/issues/([0-9]+)(/comments)?$)");
  std::smatch match;
  if (!std::regex_match(request.path, match, kIssue)) {
    return Invalid(response, "unexpected path " + request.path);
  }
  const std::string key = absl::StrCat(match[1].str(), "/", match[2].str(), "#", match[3].str());
  auto issue = issues_.find(key);
  const bool comments = match[4].matched;
  if (request.method == "GET" && !comments) {
    ++issue_requests_;
    if (issue == issues_.end()) return message(404, "Not Found");
    response.status = 200;
    response.set_content(issue->second.dump(), "application/json; charset=utf-8");
    return;
  }
  if (request.method == "POST" && comments) {
    if (!authenticated) return message(401, "Requires authentication");
    if (request.get_header_value("Content-Type") != "application/json") {
      return Invalid(response, "a comment's Content-Type is not application/json");
    }
    json body = json::parse(request.body, nullptr, false);
    if (!body.is_object() || body.size() != 1 || !body.contains("body") ||
        !body["body"].is_string() || body["body"].get<std::string>().empty()) {
      return Invalid(response, "a comment must be {\"body\": non-empty text}");
    }
    if (issue == issues_.end()) return message(404, "Not Found");
    comments_.push_back(body["body"].get<std::string>());
    const int id = 9000 + static_cast<int>(comments_.size());
    response.status = 201;
    response.set_content(
        json{{"id", id},
             {"body", body["body"]},
             {"html_url",
              absl::StrCat(issue->second["html_url"].get<std::string>(), "#issuecomment-", id)}}
            .dump(),
        "application/json; charset=utf-8");
    return;
  }
  Invalid(response, absl::StrCat("unexpected ", request.method, " ", request.path));
}

}  // namespace mosdat::testing

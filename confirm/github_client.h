// The GitHub REST calls `mosdat confirm` makes: read an issue (title, body, labels) and
// post a comment on it, with GitHub's headers and an optional token. GitHub is a peer:
// its answers are checked and bounded, its errors (404, 401, 403, the rate limit) become
// messages a person can act on. The token is sent only over TLS (or to loopback, where
// a test's stand-in listens) and never appears in a message.
#ifndef MOSDAT_CONFIRM_GITHUB_CLIENT_H_
#define MOSDAT_CONFIRM_GITHUB_CLIENT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "confirm/issue_ref.h"

namespace mosdat {

struct GitHubIssue {
  IssueRef ref;
  std::string title;
  std::string body;  // at most kMaxIssueBodyBytes, cut on a UTF-8 boundary
  std::string state;
  std::string url;  // html_url
  std::vector<std::string> labels;
  bool pull_request = false;
  std::string fetched_at;  // RFC 3339 UTC, when it came from GitHub
};

inline constexpr size_t kMaxIssueBodyBytes = 64 * 1024;

struct GitHubOptions {
  std::string api_url = "https://api.github.com";
  std::string token;  // resolved (never a reference); "" = anonymous
  absl::Duration timeout = absl::Seconds(30);
};

// InvalidArgument unless `api_url` is https://..., or http:// to a loopback address.
absl::Status CheckApiUrl(const std::string& api_url);

// GET /repos/{owner}/{repo}/issues/{number}. NotFound (no such issue, or private),
// PermissionDenied (token refused or not allowed), ResourceExhausted (rate limit, with
// when it resets), Unavailable (GitHub unreachable or its answer unreadable).
absl::StatusOr<GitHubIssue> FetchIssue(const GitHubOptions& options, const IssueRef& ref);

// POST /repos/{owner}/{repo}/issues/{number}/comments; the comment's html_url. Needs a
// token (FailedPrecondition without one); errors as FetchIssue's.
absl::StatusOr<std::string> PostIssueComment(const GitHubOptions& options, const IssueRef& ref,
                                             const std::string& body);

// The cache: <cache_dir>/<owner>/<repo>/<number>.json, written atomically.
std::string IssueCachePath(const std::string& cache_dir, const IssueRef& ref);
nlohmann::json IssueToJson(const GitHubIssue& issue);
// An issue read back from the cache (untrusted as any file): DataLoss when malformed.
absl::StatusOr<GitHubIssue> IssueFromJson(const nlohmann::json& json, const IssueRef& ref);

}  // namespace mosdat

#endif  // MOSDAT_CONFIRM_GITHUB_CLIENT_H_

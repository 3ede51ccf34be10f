// A STAND-IN for GitHub's REST API (github.com cannot be reached from tests): a real
// HTTP server on loopback, in the test process, answering the calls `mosdat confirm`
// makes the way GitHub does — issues with labels, comments, 404 with GitHub's message,
// 401 for a wrong token, and a spent rate limit (403 with x-ratelimit-remaining: 0 and
// its reset time). Every request is validated (path, Accept, X-GitHub-Api-Version,
// User-Agent, the Authorization header, the comment's JSON); an invalid one is
// answered 400 and counted, so a test can assert there were none.
#ifndef MOSDAT_TESTS_INTEGRATION_GITHUB_STANDIN_H_
#define MOSDAT_TESTS_INTEGRATION_GITHUB_STANDIN_H_

#include <httplib.h>

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "live/http_listener.h"

namespace mosdat::testing {

class GitHubStandIn {
 public:
  // `token`: the one token it accepts ("" = anonymous only).
  explicit GitHubStandIn(std::string token);
  ~GitHubStandIn();

  std::string api_url() const;  // http://127.0.0.1:PORT
  // Serves owner/repo#number with this title, body and labels.
  void AddIssue(const std::string& repo, int number, const std::string& title,
                const std::string& body, const std::vector<std::string>& labels);
  // Answers every later request 403 with a spent rate limit.
  void SpendRateLimit();

  int invalid_requests() const;
  std::vector<std::string> invalid_reasons() const;
  int issue_requests() const;
  // The bodies of the comments posted, in order.
  std::vector<std::string> comments() const;

 private:
  void Handle(const httplib::Request& request, httplib::Response& response);
  void Invalid(httplib::Response& response, const std::string& why);

  std::string token_;
  httplib::Server server_;
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> issues_;  // "owner/repo#N" → issue JSON
  bool rate_limited_ = false;
  std::vector<std::string> invalid_;
  int issue_requests_ = 0;
  std::vector<std::string> comments_;
  std::unique_ptr<HttpListener> listener_;  // declared last: it stops first
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_GITHUB_STANDIN_H_

#include "live/authoring_client.h"

#include <httplib.h>

#include "core/json_depth.h"

namespace mosdat {

using nlohmann::json;

bool AuthoringAnswer::Negative() const {
  if (!done()) return false;
  return body.value("passed", true) == false || body.value("found", true) == false ||
         body.value("answer", true) == false;
}

AuthoringClient::AuthoringClient(std::string url, std::string token)
    : url_(std::move(url)), token_(std::move(token)) {}

AuthoringAnswer AuthoringClient::Get(const std::string& path) const {
  return Call(false, path, nullptr);
}

AuthoringAnswer AuthoringClient::Post(const std::string& path, const json& body) const {
  return Call(true, path, body);
}

AuthoringAnswer AuthoringClient::Call(bool post, const std::string& path, const json& body) const {
  httplib::Client client(url_);
  client.set_read_timeout(600, 0);  // a replay or a launch may take minutes
  client.set_connection_timeout(10, 0);
  const httplib::Headers headers = {{"Authorization", "Bearer " + token_}};
  httplib::Result result = post ? client.Post(path, headers, body.dump(), "application/json")
                                : client.Get(path, headers);
  AuthoringAnswer answer;
  if (!result) {
    answer.body = {{"ok", false},
                   {"error", "cannot reach the live server at " + url_ + ": " +
                                 httplib::to_string(result.error())}};
    return answer;
  }
  answer.http_status = result->status;
  answer.body = ParsePeerJson(result->body);
  if (answer.body.is_discarded() || !answer.body.is_object()) {
    answer.body = {{"ok", false},
                   {"error", "the live server's answer (HTTP " + std::to_string(result->status) +
                                 ") is not a JSON object"}};
    return answer;
  }
  if (result->status >= 200 && result->status < 300) {
    answer.kind = AuthoringAnswer::Kind::kDone;
  } else if (result->status == 401) {
    answer.kind = AuthoringAnswer::Kind::kUnreachable;  // the rig's token, not the call
    answer.body["error"] = "the live server at " + url_ + " does not take this token: " +
                           answer.body.value("error", std::string());
  } else if (result->status >= 400 && result->status < 500) {
    answer.kind = AuthoringAnswer::Kind::kRefused;
  }
  return answer;
}

}  // namespace mosdat

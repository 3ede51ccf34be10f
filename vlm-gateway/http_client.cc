#include "vlm-gateway/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mosdat {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Body {
  std::string* text;
  size_t limit;
};

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<Body*>(out);
  if (body->text->size() + size * count > body->limit) return 0;  // libcurl stops: kBroken
  body->text->append(data, size * count);
  return size * count;
}

size_t ReadHeader(char* data, size_t size, size_t count, void* out) {
  auto* result = static_cast<HttpResult*>(out);
  absl::string_view line(data, size * count);
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return size * count;  // status line, end
  std::string name = absl::AsciiStrToLower(std::string(line.substr(0, colon)));
  std::string value(absl::StripAsciiWhitespace(std::string(line.substr(colon + 1))));
  if (value.size() > 1024) value.resize(1024);
  if (result->headers.size() < kMaxResponseHeaders || result->headers.contains(name)) {
    result->headers[name] = value;
  }
  double seconds = 0;
  if (name == "retry-after" && absl::SimpleAtod(value, &seconds) && seconds >= 0) {
    result->retry_after = absl::Seconds(seconds);
  }
  return size * count;
}

Transport Classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Transport::kOk;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Transport::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      return Transport::kTimedOut;
    default:
      return Transport::kBroken;
  }
}

}  // namespace

std::string JoinUrl(const std::string& base, const std::string& path) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  size_t start = 0;
  while (start < path.size() && path[start] == '/') ++start;
  return absl::StrCat(url, "/", path.substr(start));
}

HttpResult PerformHttp(const HttpRequest& request) {
  InitCurlOnce();
  HttpResult result;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    result.transport = Transport::kBroken;
    result.error = "libcurl could not create a handle";
    return result;
  }
  curl_slist* headers = nullptr;
  const std::string accept = absl::StrCat("Accept: ", request.accept);
  headers = curl_slist_append(headers, accept.c_str());
  for (const std::string& header : request.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  if (request.method == "POST") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    // No "100-continue" round trip for large image bodies.
    headers = curl_slist_append(headers, "Expect:");
  }
  std::string authorization;
  if (!request.api_key.empty()) {
    authorization = absl::StrCat("Authorization: Bearer ", request.api_key);
    headers = curl_slist_append(headers, authorization.c_str());
  }
  char error[CURL_ERROR_SIZE] = {0};
  long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(request.timeout));
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(timeout_ms, 10000));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  Body body{&result.body, request.max_body_bytes};
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, request.user_agent.c_str());
  // Redirects would resend the key to wherever they point; OpenAI servers do not need them.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  absl::Time start = absl::Now();
  CURLcode code = curl_easy_perform(curl);
  result.elapsed = absl::Now() - start;
  result.transport = Classify(code);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = error[0] != '\0' ? std::string(error) : curl_easy_strerror(code);
    if (code == CURLE_WRITE_ERROR) {
      result.error = absl::StrCat("the answer is longer than ", request.max_body_bytes, " bytes");
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

}  // namespace mosdat

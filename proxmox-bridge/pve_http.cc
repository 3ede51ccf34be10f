#include "proxmox-bridge/pve_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mosdat {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  bool overflowed = false;
};

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  auto* sink = static_cast<BodySink*>(out);
  if (sink->body->size() + size * count > kPveMaxBodyBytes) {
    sink->overflowed = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, size * count);
  return size * count;
}

// Keeps the reason phrase of the last status line ("HTTP/1.1 403 Permission check...").
size_t ReadStatusLine(char* data, size_t size, size_t count, void* out) {
  std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {
    size_t code = line.find(' ');
    size_t reason = code == std::string_view::npos ? code : line.find(' ', code + 1);
    std::string text = reason == std::string_view::npos ? "" : std::string(line.substr(reason + 1));
    absl::StripTrailingAsciiWhitespace(&text);
    *static_cast<std::string*>(out) = text.substr(0, 2000);
  }
  return size * count;
}

CURLcode InstallTrust(CURL*, void* ssl_context, void* request) {
  auto* self = static_cast<std::pair<const TlsTrust*, std::string*>*>(request);
  ApplyTlsTrust(static_cast<SSL_CTX*>(ssl_context), *self->first, self->second);
  return CURLE_OK;
}

PveHttpResponse::Transport Classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return PveHttpResponse::Transport::kOk;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return PveHttpResponse::Transport::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      return PveHttpResponse::Transport::kTimedOut;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
      return PveHttpResponse::Transport::kTlsRejected;
    default:
      return PveHttpResponse::Transport::kBroken;
  }
}

}  // namespace

std::string EncodePveParams(const PveParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    char* key = curl_easy_escape(nullptr, name.data(), static_cast<int>(name.size()));
    char* val = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
    absl::StrAppend(&out, key, "=", val);
    curl_free(key);
    curl_free(val);
  }
  return out;
}

PveHttpResponse PerformPveHttp(const PveHttpRequest& request) {
  InitCurlOnce();
  PveHttpResponse response;
  const absl::Time start = absl::Now();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    response.transport = PveHttpResponse::Transport::kBroken;
    response.error = "libcurl could not create a handle";
    return response;
  }
  std::string url =
      absl::StrCat("https://", request.host, ":", request.port, "/api2/json", request.path);
  const std::string form = EncodePveParams(request.params);
  const bool has_body = request.method == "POST" || request.method == "PUT";
  if (!has_body && !form.empty()) absl::StrAppend(&url, "?", form);

  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");
  for (const std::string& header : request.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  char error[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = std::max<long>(1, absl::ToInt64Milliseconds(request.timeout));
  std::pair<const TlsTrust*, std::string*> trust{&request.trust, &response.fingerprint_seen};

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(timeout_ms, 10000));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  BodySink sink{&response.body};
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadStatusLine);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.reason);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "mosdat-proxmox-bridge/0.1");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  // A pin names one certificate: it replaces the name check, which a self-signed PVE
  // certificate (issued for the node's name) fails when reached by address.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, request.trust.fingerprint.empty() ? 2L : 0L);
  if (!request.trust.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, request.trust.ca_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, InstallTrust);
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, &trust);
  // Connections are not reused across requests: every exchange is verified afresh.
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  if (has_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
  }

  CURLcode code = curl_easy_perform(curl);
  response.transport = Classify(code);
  if (sink.overflowed) {
    response.error = absl::StrCat("the answer is larger than ", kPveMaxBodyBytes, " bytes");
  } else if (code != CURLE_OK) {
    response.error = error[0] != '\0' ? error : curl_easy_strerror(code);
  }
  if (!request.trust.fingerprint.empty() && !response.fingerprint_seen.empty() &&
      response.fingerprint_seen != request.trust.fingerprint) {
    response.transport = PveHttpResponse::Transport::kTlsRejected;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  response.elapsed = absl::Now() - start;
  return response;
}

}  // namespace mosdat

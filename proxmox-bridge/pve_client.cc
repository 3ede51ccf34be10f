#include "proxmox-bridge/pve_client.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/absl_compat.h"
#include "core/json_depth.h"
#include "proxmox-bridge/pve_json.h"

namespace mosdat {
namespace {

using json = nlohmann::json;

// Segments that follow these names are ids, replaced by a placeholder in labels.
constexpr std::pair<std::string_view, std::string_view> kIdAfter[] = {
    {"nodes", "{node}"},        {"qemu", "{vmid}"}, {"lxc", "{vmid}"},       {"tasks", "{upid}"},
    {"snapshot", "{snapname}"}, {"pci", "{pciid}"}, {"storage", "{storage}"}};

bool IsTaskIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '@' || c == '!' ||
         c == '-' || c == '_' || c == '.' || c == '=';
}

std::string Truncated(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return absl::StrCat(Absl(text.substr(0, limit)), "…");
}

// PVE's message for a failed call: the body's "message" when it has one, else the
// status line's reason; then the per-parameter errors.
std::string PveMessageOf(const PveHttpResponse& response) {
  std::string message = response.reason;
  std::string errors;
  json body = ParsePeerJson(response.body);
  if (body.is_object()) {
    auto m = body.find("message");
    if (m != body.end() && m->is_string() && !m->get<std::string>().empty()) {
      message = m->get<std::string>();
      absl::StripTrailingAsciiWhitespace(&message);
    }
    auto e = body.find("errors");
    if (e != body.end() && e->is_object()) {
      std::vector<std::string> parts;
      for (const auto& [name, text] : e->items()) {
        if (parts.size() == 10) break;
        std::string value = text.is_string() ? text.get<std::string>() : text.dump();
        absl::StripTrailingAsciiWhitespace(&value);
        parts.push_back(absl::StrCat(Truncated(name, 64), ": ", Truncated(value, 300)));
      }
      errors = absl::StrJoin(parts, "; ");
    }
  }
  if (message.empty()) message = absl::StrCat("HTTP ", response.status);
  message = Truncated(message, 1000);
  return errors.empty() ? message : absl::StrCat(message, " (", errors, ")");
}

}  // namespace

std::string PveEndpointLabel(std::string_view path) {
  std::vector<std::string> segments = absl::StrSplit(Absl(path), '/');
  for (size_t i = 1; i < segments.size(); ++i) {
    for (const auto& [name, placeholder] : kIdAfter) {
      if (segments[i - 1] == name && !segments[i].empty()) {
        // "/cluster/resources" and "/nodes/{node}/tasks" keep their own names.
        segments[i] = std::string(placeholder);
        break;
      }
    }
  }
  return absl::StrJoin(segments, "/");
}

absl::StatusOr<std::string> NodeOfUpid(std::string_view upid) {
  std::vector<absl::string_view> parts = absl::StrSplit(Absl(upid), ':');
  if (upid.size() > 512 || parts.size() < 8 || parts[0] != "UPID" || parts[1].empty() ||
      !std::all_of(upid.begin(), upid.end(), IsTaskIdChar)) {
    return absl::InternalError(absl::StrCat("Proxmox VE answered with a malformed task id \"",
                                            Truncated(upid, 120), "\""));
  }
  return std::string(parts[1]);
}

absl::StatusOr<std::unique_ptr<PveClient>> PveClient::Create(PveClientOptions options) {
  if (options.host.empty()) return absl::InvalidArgumentError("no Proxmox VE host");
  const PveCredentials& c = options.credentials;
  if (c.user.empty() || (c.token_secret.empty() == c.password.empty())) {
    return absl::InvalidArgumentError(
        "Proxmox VE credentials need a user and exactly one of a token secret or a password");
  }
  if (!c.token_secret.empty() && !absl::StrContains(c.user, '!')) {
    return absl::InvalidArgumentError(
        absl::StrCat("an API token is named USER@REALM!TOKENID, not \"", c.user, "\""));
  }
  return std::unique_ptr<PveClient>(new PveClient(std::move(options)));
}

std::string PveClient::Origin() const {
  return absl::StrCat("https://", options_.host, ":", options_.port);
}

PveHttpResponse PveClient::Exchange(const PveHttpRequest& request) {
  PveHttpResponse response = PerformPveHttp(request);
  if (options_.on_call) {
    options_.on_call(
        {.method = request.method,
         .endpoint = PveEndpointLabel(request.path),
         .status = response.transport == PveHttpResponse::Transport::kOk ? response.status : 0,
         .elapsed = response.elapsed});
  }
  return response;
}

absl::Status PveClient::ErrorOf(const std::string& method, std::string_view path,
                                const PveHttpResponse& response) const {
  const std::string where = absl::StrCat(method, " ", Origin(), "/api2/json", Absl(path));
  using T = PveHttpResponse::Transport;
  switch (response.transport) {
    case T::kConnectFailed:
      return absl::UnavailableError(
          absl::StrCat("cannot reach Proxmox VE at ", Origin(), ": ", response.error,
                       ". Check [proxmox] host and port, and that pveproxy runs on the node"));
    case T::kTimedOut:
      return absl::DeadlineExceededError(
          absl::StrCat("Proxmox VE did not answer ", where, " within ",
                       absl::FormatDuration(options_.request_timeout), ": ", response.error));
    case T::kTlsRejected:
      if (!options_.trust.fingerprint.empty()) {
        return absl::UnavailableError(PinMismatchMessage(
            options_.host, options_.port, options_.trust, response.fingerprint_seen));
      }
      return absl::UnavailableError(absl::StrCat(
          "TLS verification of ", Origin(), " failed: ", response.error,
          ". Proxmox VE's own certificate is self-signed: pin it in [proxmox] with "
          "fingerprint = \"AA:BB:...\" (openssl s_client -connect ",
          options_.host, ":", options_.port,
          " </dev/null | openssl x509 -noout -fingerprint -sha256), or name its CA in ca_file"));
    case T::kBroken:
      return absl::UnavailableError(
          absl::StrCat("the exchange with Proxmox VE broke (", where, "): ", response.error));
    case T::kOk:
      break;
  }
  const std::string message = PveMessageOf(response);
  switch (response.status) {
    case 401:
      if (uses_token()) {
        return absl::UnauthenticatedError(absl::StrCat(
            "Proxmox VE refused the API token \"", user(), "\" (", message,
            "): check the token id and the secret its reference names, and that the token "
            "exists and has not expired (Datacenter → Permissions → API Tokens)"));
      }
      return absl::UnauthenticatedError(
          absl::StrCat("Proxmox VE refused the login of \"", user(), "\" (", message, ")"));
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat("Proxmox VE denied ", where, ": ", message, ". Give \"", user(),
                       "\" the privilege it names on that path",
                       uses_token() ? " (a token with privilege separation needs it itself: "
                                      "pveum acl modify PATH --tokens TOKENID --roles ROLE)"
                                    : ""));
    case 501:
      return absl::UnimplementedError(absl::StrCat("Proxmox VE does not know ", where, ": ",
                                                   message,
                                                   ". mOSdat needs Proxmox VE 8.x or 9.x"));
    case 596:
      return absl::UnavailableError(
          absl::StrCat("Proxmox VE could not reach the node for ", where, ": ", message,
                       ". The node is down or cut off from the cluster; check it in the GUI"));
    default:
      return absl::UnavailableError(
          absl::StrCat("Proxmox VE answered ", response.status, " to ", where, ": ", message));
  }
}

absl::Status PveClient::EnsureTicket(bool force) {
  absl::MutexLock lock(&mutex_);
  if (!force && !ticket_.empty() && absl::Now() - ticket_time_ < options_.ticket_renew_after) {
    return absl::OkStatus();
  }
  PveHttpRequest request{.method = "POST",
                         .host = options_.host,
                         .port = options_.port,
                         .path = "/access/ticket",
                         .params = {{"username", options_.credentials.user},
                                    {"password", options_.credentials.password}},
                         .trust = options_.trust,
                         .timeout = options_.request_timeout};
  PveHttpResponse response = Exchange(request);
  if (response.transport != PveHttpResponse::Transport::kOk || response.status != 200) {
    if (response.transport == PveHttpResponse::Transport::kOk && response.status == 401) {
      return absl::UnauthenticatedError(
          absl::StrCat("Proxmox VE refused the login of \"", user(), "\" (", PveMessageOf(response),
                       "): check the user, its realm (USER@pam or USER@pve) and the password its "
                       "reference names"));
    }
    return ErrorOf("POST", "/access/ticket", response);
  }
  json body = ParsePeerJson(response.body);
  const json* data = body.is_object() && body.contains("data") ? &body["data"] : nullptr;
  if (data == nullptr || PveString(*data, "ticket").empty() ||
      PveString(*data, "CSRFPreventionToken").empty()) {
    return absl::InternalError("Proxmox VE's login answer has no ticket and CSRFPreventionToken");
  }
  ticket_ = PveString(*data, "ticket");
  csrf_token_ = PveString(*data, "CSRFPreventionToken");
  ticket_time_ = absl::Now();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PveClient::AuthHeaders() {
  if (uses_token()) {
    return std::vector<std::string>{absl::StrCat("Authorization: PVEAPIToken=", user(), "=",
                                                 options_.credentials.token_secret)};
  }
  if (absl::Status s = EnsureTicket(false); !s.ok()) return s;
  absl::MutexLock lock(&mutex_);
  return std::vector<std::string>{absl::StrCat("Cookie: PVEAuthCookie=", ticket_),
                                  absl::StrCat("CSRFPreventionToken: ", csrf_token_)};
}

absl::StatusOr<json> PveClient::Call(std::string method, std::string_view path,
                                     const PveParams& params) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::vector<std::string>> headers = AuthHeaders();
    if (!headers.ok()) return headers.status();
    if (!uses_token() && method == "GET") headers->pop_back();  // CSRF only on writes
    PveHttpRequest request{.method = method,
                           .host = options_.host,
                           .port = options_.port,
                           .path = std::string(path),
                           .params = params,
                           .headers = *std::move(headers),
                           .trust = options_.trust,
                           .timeout = options_.request_timeout};
    PveHttpResponse response = Exchange(request);
    if (response.transport == PveHttpResponse::Transport::kOk && response.status == 401 &&
        !uses_token() && attempt == 0) {
      // The ticket expired or the node restarted: one fresh login, then the call again.
      if (absl::Status s = EnsureTicket(true); !s.ok()) return s;
      continue;
    }
    if (response.transport != PveHttpResponse::Transport::kOk || response.status != 200) {
      return ErrorOf(method, path, response);
    }
    json body = ParsePeerJson(response.body);
    if (!body.is_object() || !body.contains("data")) {
      return absl::InternalError(
          absl::StrCat("Proxmox VE's answer to ", method, " ", Absl(path),
                       " is not {\"data\": ...}: ", Truncated(response.body, 200)));
    }
    return std::move(body["data"]);
  }
}

absl::StatusOr<json> PveClient::Get(std::string_view path, const PveParams& params) {
  return Call("GET", path, params);
}
absl::StatusOr<json> PveClient::Post(std::string_view path, const PveParams& params) {
  return Call("POST", path, params);
}
absl::StatusOr<json> PveClient::Put(std::string_view path, const PveParams& params) {
  return Call("PUT", path, params);
}
absl::StatusOr<json> PveClient::Delete(std::string_view path, const PveParams& params) {
  return Call("DELETE", path, params);
}

absl::Status PveClient::WaitForTask(std::string_view upid, std::string_view what,
                                    absl::Time deadline, std::vector<std::string>* warnings) {
  absl::StatusOr<std::string> node = NodeOfUpid(upid);
  if (!node.ok()) return node.status();
  const std::string base = absl::StrCat("/nodes/", *node, "/tasks/", Absl(upid));
  const absl::Time start = absl::Now();
  absl::Status result = PollTask(base, upid, what, deadline, warnings);
  if (options_.on_task) {
    std::vector<absl::string_view> parts = absl::StrSplit(Absl(upid), ':');
    options_.on_task(parts.size() > 5 ? std::string(parts[5]) : "", absl::Now() - start,
                     result.ok());
  }
  return result;
}

absl::Status PveClient::PollTask(const std::string& base, std::string_view upid,
                                 std::string_view what, absl::Time deadline,
                                 std::vector<std::string>* warnings) {
  absl::Duration pause = absl::Milliseconds(50);
  for (;;) {
    absl::StatusOr<json> status = Get(base + "/status");
    if (!status.ok()) return status.status();
    if (!status->is_object()) {
      return absl::InternalError(
          absl::StrCat("the status of task ", Absl(upid), " is not an object"));
    }
    const std::string state = PveString(*status, "status", 64);
    if (state == "stopped") {
      const std::string exit = PveString(*status, "exitstatus", 1000);
      if (exit == "OK") return absl::OkStatus();
      if (absl::StartsWith(exit, "WARNINGS:")) {
        if (warnings != nullptr) {
          warnings->push_back(absl::StrCat(Absl(what), ": ", exit));
        }
        return absl::OkStatus();
      }
      std::string tail;
      absl::StatusOr<json> log = Get(base + "/log", {{"start", "0"}, {"limit", "1000"}});
      if (log.ok() && log->is_array()) {
        std::vector<std::string> lines;
        for (const json& line : *log) {
          if (line.is_object() && line.contains("t") && line["t"].is_string()) {
            lines.push_back(Truncated(line["t"].get<std::string>(), 300));
          }
        }
        if (lines.size() > 8) lines.erase(lines.begin(), lines.end() - 8);
        tail = absl::StrJoin(lines, " | ");
      }
      return absl::InternalError(absl::StrCat(
          "Proxmox VE task \"", Absl(what),
          "\" failed: ", exit.empty() ? "(no exit status)" : Truncated(exit, 300),
          tail.empty() ? "" : absl::StrCat(". Task log: ", tail), " (task ", Absl(upid), ")"));
    }
    if (state != "running") {
      return absl::InternalError(absl::StrCat("task ", Absl(upid), " has the unknown status \"",
                                              Truncated(state, 40), "\""));
    }
    if (absl::Now() + pause > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("Proxmox VE task \"", Absl(what),
                       "\" was still running at the deadline; it goes on "
                       "in Proxmox (task ",
                       Absl(upid), ")"));
    }
    absl::SleepFor(pause);  // polling a remote task: the pause is the poll interval
    pause = std::min(pause * 2, absl::Milliseconds(500));
  }
}

}  // namespace mosdat

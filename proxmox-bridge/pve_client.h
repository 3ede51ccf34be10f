// PveClient: the Proxmox VE REST API of one endpoint (a node or a cluster's address),
// https://HOST:PORT/api2/json. Logs in with an API token (`Authorization:
// PVEAPIToken=USER@REALM!TOKENID=SECRET`, no CSRF) or a password (POST /access/ticket,
// then the PVEAuthCookie cookie, plus CSRFPreventionToken on writes; the ticket is
// renewed before its 2 h life ends, and once more when PVE answers 401).
//
// Every failure is an infrastructure error (core/outcome.h) whose message carries PVE's
// own words (its status line, per-parameter `errors`) and what to fix. Thread-safe.
#ifndef MOSDAT_PROXMOX_BRIDGE_PVE_CLIENT_H_
#define MOSDAT_PROXMOX_BRIDGE_PVE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "proxmox-bridge/pve_http.h"
#include "proxmox-bridge/tls_trust.h"

namespace mosdat {

struct PveCredentials {
  // With token_secret: the token id USER@REALM!TOKENID; with password: USER@REALM.
  std::string user;
  std::string token_secret;
  std::string password;
};

// One API call as it went, for metrics and logs (never the credentials).
struct PveCallRecord {
  std::string method;
  std::string endpoint;  // the path with ids replaced: /nodes/{node}/qemu/{vmid}/config
  long status = 0;       // HTTP status; 0 = no answer
  absl::Duration elapsed;
};

struct PveClientOptions {
  std::string host;
  int port = 8006;
  TlsTrust trust;
  PveCredentials credentials;
  absl::Duration request_timeout = absl::Seconds(30);
  // Renew a ticket this long after it was issued (PVE's tickets live 2 h).
  absl::Duration ticket_renew_after = absl::Minutes(100);
  std::function<void(const PveCallRecord&)> on_call;  // may be empty
  // A task that ended (type from its UPID, e.g. "qmstart"), how long it was waited for.
  std::function<void(const std::string& type, absl::Duration waited, bool ok)> on_task;
};

// PVE's form booleans.
inline std::string PveBool(bool value) { return value ? "1" : "0"; }

// "/nodes/pve/qemu/100/status/start" → "/nodes/{node}/qemu/{vmid}/status/start".
std::string PveEndpointLabel(std::string_view path);

// The node a UPID ran on ("UPID:pve:0000A1B2:...:qmstart:100:root@pam:" → "pve").
absl::StatusOr<std::string> NodeOfUpid(std::string_view upid);

class PveClient {
 public:
  // No I/O: the first call logs in (ticket) or sends the token.
  static absl::StatusOr<std::unique_ptr<PveClient>> Create(PveClientOptions options);

  // `data` of PVE's {"data": ...} answer.
  absl::StatusOr<nlohmann::json> Get(std::string_view path, const PveParams& params = {});
  absl::StatusOr<nlohmann::json> Post(std::string_view path, const PveParams& params = {});
  absl::StatusOr<nlohmann::json> Put(std::string_view path, const PveParams& params = {});
  absl::StatusOr<nlohmann::json> Delete(std::string_view path, const PveParams& params = {});

  // Waits for the task `upid` (returned by an async call) to stop, polling its status.
  // OK only for exitstatus "OK" or "WARNINGS: n" (the warnings are appended to
  // `warnings` when given); otherwise an error with the task's exit status and the tail
  // of its log. `what` names the action in messages ("start VM 100").
  absl::Status WaitForTask(std::string_view upid, std::string_view what, absl::Time deadline,
                           std::vector<std::string>* warnings = nullptr);

  // The headers that authenticate a request outside the JSON API (vncwebsocket):
  // "Authorization: PVEAPIToken=..." or "Cookie: PVEAuthCookie=...".
  absl::StatusOr<std::vector<std::string>> AuthHeaders();

  const std::string& host() const { return options_.host; }
  int port() const { return options_.port; }
  const TlsTrust& trust() const { return options_.trust; }
  const std::string& user() const { return options_.credentials.user; }
  bool uses_token() const { return !options_.credentials.token_secret.empty(); }
  // "https://HOST:PORT".
  std::string Origin() const;

 private:
  explicit PveClient(PveClientOptions options) : options_(std::move(options)) {}

  absl::StatusOr<nlohmann::json> Call(std::string method, std::string_view path,
                                      const PveParams& params);
  // Logs in unless a fresh ticket is held (or `force`).
  absl::Status EnsureTicket(bool force) ABSL_LOCKS_EXCLUDED(mutex_);
  absl::Status PollTask(const std::string& base, std::string_view upid, std::string_view what,
                        absl::Time deadline, std::vector<std::string>* warnings);
  PveHttpResponse Exchange(const PveHttpRequest& request);
  absl::Status ErrorOf(const std::string& method, std::string_view path,
                       const PveHttpResponse& response) const;

  PveClientOptions options_;
  absl::Mutex mutex_;
  std::string ticket_ ABSL_GUARDED_BY(mutex_);
  std::string csrf_token_ ABSL_GUARDED_BY(mutex_);
  absl::Time ticket_time_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_PVE_CLIENT_H_

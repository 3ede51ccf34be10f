// The live server (live/live_server.h) over an agent's Agent service: what `mosdat
// live` serves, and what `mosdat functional --pause-on-failure` serves beside its run
// so a person can take over a job a failed step holds. Proxmox VMs are made ready for
// authoring sessions by the proxmox-bridge the agent's services host.
#ifndef MOSDAT_CLI_LIVE_HOST_H_
#define MOSDAT_CLI_LIVE_HOST_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/embedded.h"
#include "core/config.h"
#include "live/agent_backend.h"
#include "live/live_server.h"

namespace mosdat {

struct LiveHost {
  ServiceConnection services;  // the agent it serves over (kept alive when embedded)
  std::unique_ptr<AgentScreenBackend> backend;
  std::unique_ptr<LiveServer> server;  // declared last: it stops before the backend goes
};

// Serves on `listen` for callers presenting `token`, with the config's VMs and
// variables and the runs of `results_root`. InvalidArgument for a bad address or
// token, Unavailable when the address cannot be bound.
absl::StatusOr<LiveHost> StartLiveHost(const Config& config, const ServiceConnection& agent,
                                       const std::string& listen, const std::string& token,
                                       const std::string& results_root);

// How a command finds the agent whose screens it serves: a running one (`address`,
// with its token and TLS), or "" for the embedded services, opening the config's VMs.
struct LiveAgent {
  std::string address;
  std::string token_ref;
  ClientTlsOptions tls;
};

// The live server of `config` over `agent` (StartLiveHost), the host keeping the
// connection. InvalidArgument for a bad address, token or agent flag; Unavailable when
// the embedded services cannot start or the address cannot be bound.
absl::StatusOr<LiveHost> StartConfigLiveHost(const Config& config, const LiveAgent& agent,
                                             const std::string& listen, const std::string& token);

}  // namespace mosdat

#endif  // MOSDAT_CLI_LIVE_HOST_H_

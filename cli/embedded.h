// The embedded default: coordinator, agent, vlm-gateway and proxmox-bridge hosted in
// this process behind one gRPC server, reached through an in-process channel, plus an
// agent worker that owns the config's local VMs. The same services and protocol as a
// multi-host deployment — only the transport is shorter.
#ifndef MOSDAT_CLI_EMBEDDED_H_
#define MOSDAT_CLI_EMBEDDED_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/coordinator_service.h"
#include "coordinator/vm_preparations.h"
#include "core/config.h"
#include "runtime/service_host.h"
#include "runtime/service_main.h"
#include "runtime/tls.h"
#include "vnc-agent/agent_worker.h"

namespace mosdat {

// All four services, as `mosdat serve` and the embedded default host them. The
// vlm-gateway is configured from `vlm` when set.
// `self` (when set) reaches these services once they run: the agent's sessions then
// send localize/verify to this vlm-gateway. `jobs`: the jobs the process's agent
// worker holds at failed steps, for the agent's sessions to attach to and resume.
absl::StatusOr<std::vector<HostedService>> CreateAllServices(
    const ServiceContext& context, const CoordinatorOptions& options,
    const std::optional<VlmConfig>& vlm = std::nullopt,
    std::function<std::shared_ptr<grpc::Channel>()> self = nullptr,
    std::shared_ptr<AgentJobs> jobs = nullptr);

struct EmbeddedOptions {
  std::vector<std::string> vms;  // the local VMs the in-process agent owns
  CoordinatorOptions coordinator;
  std::optional<VlmConfig> vlm;  // the config's [vlm]: localize/verify go there
};

class EmbeddedServices {
 public:
  // Starts the services (loopback, free port, metrics off) and an agent owning
  // `options.vms`, whose VLM steps go to the in-process vlm-gateway.
  static absl::StatusOr<std::unique_ptr<EmbeddedServices>> Start(const EmbeddedOptions& options);
  ~EmbeddedServices();

  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  const std::string& token() const { return token_; }

 private:
  EmbeddedServices() = default;
  // Ctrl-C (SIGINT) or SIGTERM while the services run: the VMs prepared for jobs are
  // put back (shut down or rolled back per `after`, GPU detached, consoles closed)
  // while the bridge still serves, then the process exits with 130. Without this, an
  // interrupted run would leave a Proxmox VM as the job had it.
  void WatchTerminationSignals();
  // What the watcher may put back; emptied (under its mutex) before the host stops.
  struct Interruptible {
    std::mutex mutex;
    std::shared_ptr<VmPreparations> preparations;
  };
  std::shared_ptr<Interruptible> interruptible_ = std::make_shared<Interruptible>();
  std::string token_;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<VmPreparations> preparations_;  // drained before the host stops
  std::vector<HostedService> services_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AgentWorker> worker_;
};

// Where a command's gRPC calls go: services started in this process when `address` is
// empty, else the service at `address`, called with the token `token_ref` refers to
// (env:NAME or file:PATH), over TLS as `tls` says (see OpenChannel).
struct ServiceConnection {
  std::unique_ptr<EmbeddedServices> embedded;  // keeps in-process services alive
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};

// InvalidArgument ("--token: ...") for an unusable token reference, and for unusable
// TLS files or a token that would go in clear to another host (OpenChannel); Unavailable
// ("cannot start the embedded services: ...") when the in-process services fail.
// `embedded` configures the embedded services only; `tls` the remote connection only.
absl::StatusOr<ServiceConnection> ConnectServices(const std::string& address,
                                                  const std::string& token_ref,
                                                  const ClientTlsOptions& tls,
                                                  const EmbeddedOptions& embedded = {});

// The connection flags of every command that takes a service address (--coordinator,
// --agent, --gateway) for ConnectServices: --tls-ca, --tls-cert, --tls-key and
// --allow-plaintext.
void AddConnectionTlsFlags(CLI::App* cmd, ClientTlsOptions* tls);

}  // namespace mosdat

#endif  // MOSDAT_CLI_EMBEDDED_H_

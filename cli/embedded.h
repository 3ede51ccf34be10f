// The embedded default: coordinator, agent, vlm-gateway and proxmox-bridge hosted in
// this process behind one gRPC server, reached through an in-process channel, plus an
// agent worker that owns the config's local VMs. The same services and protocol as a
// multi-host deployment — only the transport is shorter.
#ifndef MOSDAT_CLI_EMBEDDED_H_
#define MOSDAT_CLI_EMBEDDED_H_

#include <memory>
#include <string>
#include <vector>

#include "coordinator/coordinator_service.h"
#include "runtime/service_host.h"
#include "runtime/service_main.h"
#include "vnc-agent/agent_worker.h"

namespace mosdat {

// All four services, as `mosdat serve` and the embedded default host them.
absl::StatusOr<std::vector<HostedService>> CreateAllServices(const ServiceContext& context,
                                                             const CoordinatorOptions& options);

class EmbeddedServices {
 public:
  // Starts the services (loopback, free port, metrics off) and an agent owning `vms`.
  static absl::StatusOr<std::unique_ptr<EmbeddedServices>> Start(
      const std::vector<std::string>& vms, const CoordinatorOptions& options);
  ~EmbeddedServices();

  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  const std::string& token() const { return token_; }

 private:
  EmbeddedServices() = default;
  std::string token_;
  std::unique_ptr<ServiceHost> host_;
  std::vector<HostedService> services_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AgentWorker> worker_;
};

// Where a command's gRPC calls go: services started in this process when `address` is
// empty, else the service at `address`, called with the token `token_ref` refers to
// (env:NAME or file:PATH).
struct ServiceConnection {
  std::unique_ptr<EmbeddedServices> embedded;  // keeps in-process services alive
  std::shared_ptr<grpc::Channel> channel;
  std::string token;
};

// InvalidArgument ("--token: ...") for an unusable token reference; Unavailable
// ("cannot start the embedded services: ...") when the in-process services fail.
// `local_vms` and `options` configure the embedded services only.
absl::StatusOr<ServiceConnection> ConnectServices(const std::string& address,
                                                  const std::string& token_ref,
                                                  const std::vector<std::string>& local_vms = {},
                                                  const CoordinatorOptions& options = {});

}  // namespace mosdat

#endif  // MOSDAT_CLI_EMBEDDED_H_

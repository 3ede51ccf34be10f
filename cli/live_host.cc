#include "cli/live_host.h"

#include "core/preflight.h"

namespace mosdat {

absl::StatusOr<LiveHost> StartLiveHost(const Config& config, const ServiceConnection& agent,
                                       const std::string& listen, const std::string& token,
                                       const std::string& results_root) {
  LiveHost host;
  // Proxmox VMs are made ready by the bridge beside the agent (the embedded one, or
  // the one `mosdat serve` hosts with it).
  std::shared_ptr<grpc::Channel> channel = agent.channel;
  host.backend = std::make_unique<AgentScreenBackend>(
      config, agent.channel, agent.token,
      NewBridgeProvisioner({{"", [channel] { return channel; }}}, agent.token));
  LiveServerOptions options{.listen = listen, .token = token};
  options.scenario_options.overrides = ConfigVars(config, {});
  options.results_root = results_root;
  absl::StatusOr<std::unique_ptr<LiveServer>> server = LiveServer::Start(*host.backend, options);
  if (!server.ok()) return server.status();
  host.server = std::move(*server);
  return host;
}

absl::StatusOr<LiveHost> StartConfigLiveHost(const Config& config, const LiveAgent& agent,
                                             const std::string& listen, const std::string& token) {
  EmbeddedOptions embedded;
  for (const VmConfig& vm : config.vms) embedded.vms.push_back(vm.name);
  embedded.coordinator.results_root = config.report.output_dir;
  embedded.vlm = config.vlm;
  absl::StatusOr<ServiceConnection> services =
      ConnectServices(agent.address, agent.token_ref, agent.tls, embedded);
  if (!services.ok()) return services.status();
  absl::StatusOr<LiveHost> host =
      StartLiveHost(config, *services, listen, token, config.report.output_dir);
  if (!host.ok()) return host.status();
  host->services = std::move(*services);
  return host;
}

}  // namespace mosdat

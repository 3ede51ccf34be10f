#include "cli/embedded.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/secret_ref.h"
#include "proxmox-bridge/bridge_service.h"
#include "runtime/token_auth.h"
#include "vlm-gateway/gateway_service.h"
#include "vnc-agent/agent_service.h"
#include "vnc-agent/vlm_gateway_client.h"

namespace mosdat {

absl::StatusOr<ServiceConnection> ConnectServices(const std::string& address,
                                                  const std::string& token_ref,
                                                  const ClientTlsOptions& tls,
                                                  const EmbeddedOptions& embedded) {
  ServiceConnection connection;
  if (address.empty()) {
    absl::StatusOr<std::unique_ptr<EmbeddedServices>> started = EmbeddedServices::Start(embedded);
    if (!started.ok()) {
      return absl::UnavailableError(
          absl::StrCat("cannot start the embedded services: ", started.status().message()));
    }
    connection.embedded = std::move(*started);
    connection.channel = connection.embedded->channel();
    connection.token = connection.embedded->token();
    return connection;
  }
  absl::StatusOr<std::string> token = SecretRef::ResolveText(token_ref);
  if (!token.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--token: ", token.status().message()));
  }
  connection.token = *token;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(address, tls);
  if (!channel.ok()) return channel.status();
  connection.channel = std::move(*channel);
  return connection;
}

void AddConnectionTlsFlags(CLI::App* cmd, ClientTlsOptions* tls) {
  AddClientTlsFlags(*cmd, tls, "", "the service");
  cmd->add_flag("--allow-plaintext", tls->allow_plaintext,
                "send the token without TLS to a non-loopback address (only on a trusted "
                "network)");
}

absl::StatusOr<std::vector<HostedService>> CreateAllServices(
    const ServiceContext& context, const CoordinatorOptions& options,
    const std::optional<VlmConfig>& vlm, std::function<std::shared_ptr<grpc::Channel>()> self,
    std::shared_ptr<AgentJobs> jobs) {
  AgentServiceOptions agent{.jobs = std::move(jobs)};
  if (self && vlm.has_value()) {
    // Made at first use: the channel exists once the host runs.
    auto made = std::make_shared<std::pair<std::once_flag, std::shared_ptr<VlmClient>>>();
    agent.vlm = [made, self, token = context.token] {
      std::call_once(made->first, [&] { made->second = NewVlmGatewayClient(self(), token); });
      return made->second;
    };
  }
  std::vector<HostedService> all;
  auto add = [&](absl::StatusOr<std::vector<HostedService>> services) -> absl::Status {
    if (!services.ok()) return services.status();
    for (HostedService& hosted : *services) all.push_back(std::move(hosted));
    return absl::OkStatus();
  };
  for (absl::Status s :
       {add(CreateCoordinatorServices(context, options)), add(CreateAgentServices(context, agent)),
        add(CreateVlmGatewayServices(context, {.vlm = vlm})),
        add(CreateProxmoxBridgeServices(context))}) {
    if (!s.ok()) return s;
  }
  return all;
}

absl::StatusOr<std::unique_ptr<EmbeddedServices>> EmbeddedServices::Start(
    const EmbeddedOptions& options) {
  std::unique_ptr<EmbeddedServices> embedded(new EmbeddedServices());
  embedded->WatchTerminationSignals();
  embedded->token_ = GenerateToken();
  embedded->host_ = std::make_unique<ServiceHost>(
      ServiceHostOptions{.name = "mosdat", .grpc_address = "127.0.0.1:0", .metrics_address = ""});
  ServiceContext context{.token = embedded->token_, .metrics = embedded->host_->metrics()};
  CoordinatorOptions coordinator = options.coordinator;
  // Another `mosdat` may be using the same results directory's history right now.
  coordinator.private_state_when_busy = true;
  coordinator.resume_runs = false;
  // The coordinator asks the bridge hosted here, through the in-process channel (which
  // exists once the host runs: the provisioner dials at first use).
  ServiceHost* host = embedded->host_.get();
  embedded->preparations_ = std::make_shared<VmPreparations>(
      NewBridgeProvisioner({{"", [host] { return host->InProcessChannel(); }}}, embedded->token_));
  coordinator.preparations = embedded->preparations_;
  embedded->interruptible_->preparations = embedded->preparations_;
  auto jobs = std::make_shared<AgentJobs>();
  absl::StatusOr<std::vector<HostedService>> services = CreateAllServices(
      context, coordinator, options.vlm, [host] { return host->InProcessChannel(); }, jobs);
  if (!services.ok()) return services.status();
  embedded->services_ = std::move(*services);
  for (HostedService& hosted : embedded->services_) {
    embedded->host_->AddService(hosted.service.get(), hosted.full_name);
  }
  if (absl::Status s = embedded->host_->Start(); !s.ok()) return s;
  embedded->channel_ = embedded->host_->InProcessChannel();
  embedded->worker_ = std::make_unique<AgentWorker>(
      embedded->channel_,
      AgentWorkerOptions{.agent_id = "embedded",
                         .vms = options.vms,
                         .token = embedded->token_,
                         .vlm = NewVlmGatewayClient(embedded->channel_, embedded->token_),
                         .jobs = jobs});
  if (absl::Status s = embedded->worker_->Start(); !s.ok()) return s;
  return embedded;
}

void EmbeddedServices::WatchTerminationSignals() {
  // Blocked here, before the services start their threads (which inherit the mask), so
  // only the watcher receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals, interruptible = interruptible_] {
    int received = 0;
    sigwait(&signals, &received);
    std::lock_guard lock(interruptible->mutex);
    if (interruptible->preparations != nullptr) {
      std::cerr << "\nmosdat: interrupted; putting the prepared VMs back before exiting\n";
      interruptible->preparations->Drain();
    }
    std::_Exit(130);
  }).detach();  // ends with the process
}

EmbeddedServices::~EmbeddedServices() {
  if (worker_) worker_->Stop();
  // Proxmox VMs go back (shut down, rolled back, GPU detached) while the bridge serves.
  if (preparations_) preparations_->Drain();
  {
    // From here on a signal finds nothing to put back (the watcher just exits).
    std::lock_guard lock(interruptible_->mutex);
    interruptible_->preparations.reset();
  }
  if (host_) host_->Shutdown();
}

}  // namespace mosdat

// mosdat-agent: holds VNC/SSH sessions to one host's VMs and executes scenario steps.
// With --coordinator it registers the VMs given by --vm and runs the jobs leased to it.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/net.h"
#include "core/secret_ref.h"
#include "runtime/service_main.h"
#include "runtime/tls.h"
#include "vnc-agent/agent_service.h"
#include "vnc-agent/agent_worker.h"
#include "vnc-agent/vlm_gateway_client.h"

namespace {

struct WorkerFlags {
  std::string coordinator;
  std::string coordinator_token;
  mosdat::ClientTlsOptions coordinator_tls;
  std::vector<std::string> vms;
  int capacity = 1;
  std::string agent_id;
  std::string artifact_cache;
  std::string vlm_gateway;
  std::string vlm_gateway_token;
  mosdat::ClientTlsOptions vlm_gateway_tls;
};

// The vlm-gateway client for localize/verify steps, when --vlm-gateway is given.
absl::StatusOr<std::shared_ptr<mosdat::VlmClient>> VlmGateway(const WorkerFlags& flags,
                                                              bool allow_plaintext) {
  if (flags.vlm_gateway.empty()) {
    if (!flags.vlm_gateway_token.empty()) {
      return absl::InvalidArgumentError("--vlm-gateway-token needs --vlm-gateway");
    }
    return std::shared_ptr<mosdat::VlmClient>();
  }
  if (absl::StatusOr<std::pair<std::string, int>> address =
          mosdat::ParseHostPort(flags.vlm_gateway);
      !address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--vlm-gateway: ", address.status().message()));
  }
  std::string token;
  if (!flags.vlm_gateway_token.empty()) {
    absl::StatusOr<std::string> resolved = mosdat::SecretRef::ResolveText(flags.vlm_gateway_token);
    if (!resolved.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--vlm-gateway-token: ", resolved.status().message()));
    }
    token = *resolved;
  }
  mosdat::ClientTlsOptions tls = flags.vlm_gateway_tls;
  tls.allow_plaintext = allow_plaintext;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      mosdat::OpenChannel(flags.vlm_gateway, tls, /*sends_token=*/!token.empty());
  if (!channel.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--vlm-gateway: ", channel.status().message()));
  }
  return std::shared_ptr<mosdat::VlmClient>(mosdat::NewVlmGatewayClient(*channel, token));
}

absl::StatusOr<std::shared_ptr<void>> StartWorker(const WorkerFlags& flags, bool allow_plaintext,
                                                  std::shared_ptr<mosdat::AgentJobs> jobs) {
  if (flags.coordinator.empty()) return std::shared_ptr<void>();
  if (flags.vms.empty()) {
    return absl::InvalidArgumentError("--coordinator needs at least one --vm this agent owns");
  }
  absl::StatusOr<mosdat::SecretRef> ref = mosdat::SecretRef::Parse(flags.coordinator_token);
  if (!ref.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("--coordinator-token: ", ref.status().message()));
  absl::StatusOr<std::string> token = ref->Resolve();
  if (!token.ok()) return token.status();
  absl::StatusOr<std::shared_ptr<mosdat::VlmClient>> vlm = VlmGateway(flags, allow_plaintext);
  if (!vlm.ok()) return vlm.status();
  std::string id = flags.agent_id;
  if (id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    id = host;
  }
  mosdat::ClientTlsOptions tls = flags.coordinator_tls;
  tls.allow_plaintext = allow_plaintext;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      mosdat::OpenChannel(flags.coordinator, tls);
  if (!channel.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--coordinator: ", channel.status().message()));
  }
  auto worker = std::make_shared<mosdat::AgentWorker>(
      *channel, mosdat::AgentWorkerOptions{.agent_id = id,
                                           .vms = flags.vms,
                                           .capacity = flags.capacity,
                                           .token = *token,
                                           .vlm = *vlm,
                                           .artifact_dir = flags.artifact_cache,
                                           .jobs = jobs});
  if (absl::Status s = worker->Start(); !s.ok()) return s;
  return std::shared_ptr<void>(worker);
}

}  // namespace

int main(int argc, char** argv) {
  WorkerFlags flags;
  // Jobs the worker holds at failed steps, for the Agent service's sessions to resume.
  auto jobs = std::make_shared<mosdat::AgentJobs>();
  return mosdat::RunServiceMain(
      argc, argv,
      {.binary = "mosdat-agent",
       .description = "mOSdat vnc-agent: drives one host's VMs",
       .default_grpc_port = 50152,
       .default_metrics_port = 9152,
       .requires_token = true,
       .add_flags =
           [&](CLI::App& app) {
             app.add_option("--coordinator", flags.coordinator,
                            "coordinator host:port to lease jobs from");
             app.add_option("--coordinator-token", flags.coordinator_token,
                            "the coordinator's agent token (its --agent-token), as env:NAME or "
                            "file:PATH");
             mosdat::AddClientTlsFlags(app, &flags.coordinator_tls, "coordinator-",
                                       "the coordinator");
             app.add_option("--vm", flags.vms, "a [[vm]] name this agent drives (repeatable)");
             app.add_option("--capacity", flags.capacity,
                            "how many jobs this agent runs at once (each on its own VM)")
                 ->capture_default_str()
                 ->check(CLI::Range(1, 64));
             app.add_option("--agent-id", flags.agent_id, "name of this agent (default: hostname)");
             app.add_option("--artifact-cache", flags.artifact_cache,
                            "where the packages jobs install are kept by content (default: "
                            "$XDG_CACHE_HOME/mosdat/artifacts or ~/.cache/mosdat/artifacts)");
             app.add_option("--vlm-gateway", flags.vlm_gateway,
                            "mosdat-vlm-gateway host:port for localize/verify steps");
             app.add_option("--vlm-gateway-token", flags.vlm_gateway_token,
                            "the vlm-gateway's token, as env:NAME or file:PATH");
             mosdat::AddClientTlsFlags(app, &flags.vlm_gateway_tls, "vlm-gateway-",
                                       "the vlm-gateway");
           },
       .create = [&](const mosdat::ServiceContext& context)
           -> absl::StatusOr<std::vector<mosdat::HostedService>> {
         // Sessions' localize/verify steps use the same gateway as jobs.
         absl::StatusOr<std::shared_ptr<mosdat::VlmClient>> vlm =
             VlmGateway(flags, context.allow_plaintext);
         if (!vlm.ok()) return vlm.status();
         return mosdat::CreateAgentServices(context,
                                            {.vlm = [vlm = *vlm] { return vlm; }, .jobs = jobs});
       },
       .start_background =
           [&](const mosdat::ServiceContext& context) {
             return StartWorker(flags, context.allow_plaintext, jobs);
           }});
}

// mosdat-coordinator: schedules scenario jobs onto agents and stores their events.
#include "absl/strings/str_cat.h"
#include "coordinator/coordinator_service.h"
#include "core/secret_ref.h"
#include "runtime/service_main.h"
#include "runtime/tls.h"

int main(int argc, char** argv) {
  mosdat::CoordinatorFlags flags;
  std::vector<std::string> bridges;
  std::string bridge_token_ref;
  mosdat::ClientTlsOptions bridge_tls;
  return mosdat::RunServiceMain(
      argc, argv,
      {.binary = "mosdat-coordinator",
       .description = "mOSdat coordinator: schedules scenario jobs onto agents",
       .default_grpc_port = 50151,
       .default_metrics_port = 9151,
       .requires_token = true,
       .add_flags =
           [&](CLI::App& app) {
             mosdat::AddCoordinatorFlags(app, &flags);
             app.add_option("--bridge", bridges,
                            "a mosdat-proxmox-bridge that makes Proxmox VMs ready: HOST:PORT "
                            "for every Proxmox host, or NAME=HOST:PORT for the VMs of "
                            "[proxmox.hosts.NAME] (run each beside that host's agent: its "
                            "console tunnels are loopback ports); repeatable");
             app.add_option("--bridge-token", bridge_token_ref,
                            "the bridge's token: env:NAME or file:PATH (default: this "
                            "coordinator's own token)");
             mosdat::AddClientTlsFlags(app, &bridge_tls, "bridge-", "the bridges");
           },
       .create = [&](const mosdat::ServiceContext& context)
           -> absl::StatusOr<std::vector<mosdat::HostedService>> {
         absl::StatusOr<mosdat::CoordinatorOptions> options =
             mosdat::ResolveCoordinatorFlags(flags);
         if (!options.ok()) return options.status();
         if (!bridges.empty()) {
           std::string token = context.token;
           if (!bridge_token_ref.empty()) {
             absl::StatusOr<std::string> value = mosdat::SecretRef::ResolveText(bridge_token_ref);
             if (!value.ok()) {
               return absl::InvalidArgumentError(
                   absl::StrCat("--bridge-token: ", value.status().message()));
             }
             token = *value;
           }
           bridge_tls.allow_plaintext = context.allow_plaintext;
           mosdat::BridgeChannels channels;
           for (const std::string& bridge : bridges) {
             const size_t equals = bridge.find('=');
             const std::string name = equals == std::string::npos ? "" : bridge.substr(0, equals);
             const std::string address =
                 equals == std::string::npos ? bridge : bridge.substr(equals + 1);
             absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
                 mosdat::OpenChannel(address, bridge_tls);
             if (!channel.ok()) {
               return absl::InvalidArgumentError(
                   absl::StrCat("--bridge ", bridge, ": ", channel.status().message()));
             }
             channels[name] = [channel = *channel] { return channel; };
           }
           options->provisioner = mosdat::NewBridgeProvisioner(std::move(channels), token);
         }
         return mosdat::CreateCoordinatorServices(context, *options);
       }});
}

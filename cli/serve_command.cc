// `mosdat serve`: the embedded default as a server — coordinator, agent, vlm-gateway and
// proxmox-bridge in one process, behind one gRPC port, with the same flags as the
// standalone service binaries: --results-dir, --state-dir, --agent-token... as
// mosdat-coordinator's, and --config
// X.toml (its [vlm]) or --base-url/--model/... as mosdat-vlm-gateway's.
#include "cli/commands.h"
#include "cli/embedded.h"
#include "runtime/service_main.h"
#include "vlm-gateway/service_config.h"

namespace mosdat {

void AddServeCommand(CLI::App& root, const GlobalOptions&, int* exit_code) {
  CLI::App* cmd =
      root.add_subcommand("serve",
                          "Host coordinator, agent, vlm-gateway and proxmox-bridge in one process "
                          "(see `mosdat serve --help`)");
  // Everything after `serve` belongs to the service main, including --help.
  cmd->prefix_command();
  cmd->set_help_flag();
  cmd->callback([cmd, exit_code] {
    CoordinatorFlags coordinator;
    VlmFlags vlm_flags;
    std::vector<std::string> args = cmd->remaining();
    std::vector<char*> argv;
    std::string program = "mosdat serve";
    argv.push_back(program.data());
    for (std::string& arg : args) argv.push_back(arg.data());
    *exit_code = RunServiceMain(
        static_cast<int>(argv.size()), argv.data(),
        {.binary = "mosdat-serve",
         .description = "mOSdat: all services in one process",
         .default_grpc_port = 50150,
         .default_metrics_port = 9150,
         .requires_token = true,
         .add_flags =
             [&](CLI::App& app) {
               AddCoordinatorFlags(app, &coordinator);
               AddVlmFlags(app, &vlm_flags);
             },
         .create =
             [&](const ServiceContext& context) -> absl::StatusOr<std::vector<HostedService>> {
           absl::StatusOr<std::optional<VlmConfig>> vlm = ResolveVlmConfig(vlm_flags);
           if (!vlm.ok()) return vlm.status();
           absl::StatusOr<CoordinatorOptions> options = ResolveCoordinatorFlags(coordinator);
           if (!options.ok()) return options.status();
           return CreateAllServices(context, *options, *vlm);
         }});
  });
}

}  // namespace mosdat

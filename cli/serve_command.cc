// `mosdat serve`: the embedded default as a server — coordinator, agent, vlm-gateway and
// proxmox-bridge in one process, behind one gRPC port, with the same flags as the
// standalone service binaries.
#include "cli/commands.h"
#include "cli/embedded.h"
#include "runtime/service_main.h"

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
    std::vector<std::string> args = cmd->remaining();
    std::vector<char*> argv;
    std::string program = "mosdat serve";
    argv.push_back(program.data());
    for (std::string& arg : args) argv.push_back(arg.data());
    *exit_code = RunServiceMain(static_cast<int>(argv.size()), argv.data(),
                                {.binary = "mosdat-serve",
                                 .description = "mOSdat: all services in one process",
                                 .default_grpc_port = 50150,
                                 .default_metrics_port = 9150,
                                 .requires_token = true,
                                 .create = [](const ServiceContext& context) {
                                   return CreateAllServices(context, CoordinatorOptions{});
                                 }});
  });
}

}  // namespace mosdat

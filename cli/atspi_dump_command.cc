// `mosdat atspi-dump --config X --vm V [--format tree|json]`: prints the accessibility
// tree of a VM's desktop, so scenario authors can see the roles, names and states
// their `atspi` steps can target. Asks the embedded agent (or --agent) for it.
#include <iostream>

#include "cli/commands.h"
#include "cli/embedded.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"
#include "core/job.h"
#include "mosdat/v1/agent.grpc.pb.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"
#include "vnc-agent/steps/accessibility_dump.h"

namespace mosdat {
namespace {

struct AtspiDumpArgs {
  std::string config;
  std::string vm;
  std::string app;
  std::string format = "tree";
  bool no_boxes = false;
  double timeout_seconds = 60;
  std::string agent;
  std::string token_ref;
  ClientTlsOptions tls;
};

int RunAtspiDump(const AtspiDumpArgs& args) {
  absl::StatusOr<Config> config = LoadConfig(args.config);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitConfigError;
  }
  const VmConfig* vm = config->FindVm(args.vm);
  if (vm == nullptr) {
    std::cerr << "mosdat atspi-dump: no [[vm]] named \"" << args.vm << "\" in " << args.config
              << "\n";
    return kExitConfigError;
  }
  if (vm->provider == VmProvider::kProxmox && vm->ip.empty()) {
    std::cerr << "mosdat atspi-dump: VM \"" << vm->name
              << "\" has no ip; the proxmox provider cannot look it up yet\n";
    return kExitConfigError;
  }

  absl::StatusOr<ServiceConnection> connection =
      ConnectServices(args.agent, args.token_ref, args.tls);
  if (!connection.ok()) {
    std::cerr << "mosdat atspi-dump: " << connection.status().message() << "\n";
    return connection.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                            : kExitInfrastructure;
  }

  v1::DumpAccessibilityRequest request;
  *request.mutable_vm() = ToProto(TargetFor(*config, *vm));
  request.set_app(args.app);
  request.set_boxes(!args.no_boxes);
  request.set_timeout_ms(static_cast<int>(args.timeout_seconds * 1000));
  v1::DumpAccessibilityResponse response;
  grpc::ClientContext context;
  AttachToken(context, connection->token);
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<int>(args.timeout_seconds * 1000) + 60000));
  absl::Status status = FromGrpcStatus(
      v1::Agent::NewStub(connection->channel)->DumpAccessibility(&context, request, &response));
  if (!status.ok()) {
    std::cerr << "mosdat atspi-dump: " << status.message() << "\n";
    return ExitCodeFor(status);
  }
  nlohmann::json tree = nlohmann::json::parse(response.tree_json(), nullptr, false);
  if (tree.is_discarded()) {
    std::cerr << "mosdat atspi-dump: the agent sent a tree that is not JSON\n";
    return kExitInfrastructure;
  }
  if (args.format == "json") {
    std::cout << nlohmann::json{{"vm", vm->name},
                                {"nodes", response.nodes()},
                                {"guest_ms", response.guest_ms()},
                                {"tree", tree}}
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << FormatAccessibilityTree(tree);
    std::cerr << response.nodes() << " objects, walked in " << response.guest_ms()
              << " ms inside the guest\n";
  }
  return kExitPass;
}

}  // namespace

void AddAtspiDumpCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<AtspiDumpArgs>();
  CLI::App* cmd = root.add_subcommand(
      "atspi-dump", "Print a VM's accessibility tree (what atspi steps can target)");
  cmd->add_option("--config", args->config, "mOSdat TOML config")->required();
  cmd->add_option("--vm", args->vm, "the [[vm]] to look at")->required();
  cmd->add_option("--format", args->format, "tree (indented text) or json")
      ->check(CLI::IsMember({"tree", "json"}));
  cmd->add_option("--app", args->app, "only this accessible application");
  cmd->add_flag("--no-boxes", args->no_boxes, "leave out screen boxes");
  cmd->add_option("--timeout", args->timeout_seconds,
                  "seconds to wait for a window, then for the dump")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--agent", args->agent,
                  "agent address host:port; empty = an agent in this process");
  cmd->add_option("--token", args->token_ref, "agent token as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->tls);
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunAtspiDump(*args); });
  });
}

}  // namespace mosdat

// `mosdat live --config X [--listen 127.0.0.1:8082] [--token env:NAME | file:PATH]
//  [--agent HOST:PORT --agent-token env:NAME]`: the Author Workbench, the authoring API
// (live/authoring_api.h) and the runs page, over the embedded services (whose agent
// opens the config's local VMs) or over a running agent's Agent service (`--agent`: its
// sessions, and the jobs failed steps hold on it). Every call needs the token: the one
// --token refers to, or one made for this run and printed once. Runs until interrupted
// (exit 130).
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/embedded.h"
#include "cli/exit_codes.h"
#include "cli/live_host.h"
#include "core/config_parser.h"
#include "core/preflight.h"
#include "core/secret_ref.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

struct LiveArgs {
  std::string config;
  std::string listen = "127.0.0.1:8082";
  std::string token_ref;
  std::string agent;  // a running mosdat-agent (or mosdat serve); "" = embedded
  std::string agent_token_ref;
  ClientTlsOptions agent_tls;
};

int RunLive(const LiveArgs& args) {
  absl::StatusOr<Config> config = LoadConfigPrintingWarnings(args.config);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitConfigError;
  }
  bool made = false;
  absl::StatusOr<std::string> token = ServerToken(args.token_ref, "--token", &made);
  if (!token.ok()) {
    std::cerr << "mosdat live: " << token.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<LiveHost> live = StartConfigLiveHost(
      *config, {args.agent, args.agent_token_ref, args.agent_tls}, args.listen, *token);
  if (!live.ok()) {
    std::cerr << "mosdat live: " << live.status().message() << "\n";
    return live.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                      : kExitInfrastructure;
  }
  LiveServer* server = live->server.get();
  std::cout << "mosdat live: serving the authoring API on " << server->url() << "\n";
  if (made) {
    // Made for this run, shown once, to the person who started it.
    std::cout << "token (send as Authorization: Bearer ..., or log in with it): " << *token << "\n";
  }
  std::cout.flush();
  // Ctrl-C or SIGTERM ends the process through the embedded services' watcher; the
  // local desktops go with it (core/orphan_reaper.h).
  for (;;) pause();
}

}  // namespace

void AddLiveCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<LiveArgs>();
  CLI::App* cmd = root.add_subcommand(
      "live", "Serve the authoring API (sessions on the config's VMs, actions, drafts, export)");
  cmd->add_option("--config", args->config, "mOSdat TOML config")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", args->listen, "HTTP address host:port (default 127.0.0.1:8082)");
  cmd->add_option("--token", args->token_ref,
                  "the token callers present, as env:NAME or file:PATH (default: one made for "
                  "this run, printed once)");
  cmd->add_option("--agent", args->agent,
                  "a running mosdat-agent (or mosdat serve) host:port whose sessions and paused "
                  "jobs to serve (default: embedded services)");
  cmd->add_option("--agent-token", args->agent_token_ref,
                  "the agent's token, as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->agent_tls);
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [args] { return RunLive(*args); });
  });
}

}  // namespace mosdat

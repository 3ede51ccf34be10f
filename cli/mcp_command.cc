// `mosdat mcp`: the authoring tools (mcp/authoring_tools.h) for coding agents over the
// Model Context Protocol, on stdio (the default: an agent starts it as a subprocess) or
// on Streamable HTTP (--http HOST:PORT, behind a token).
//   mosdat mcp --config X [--agent HOST:PORT --agent-token REF]
//       serves the config's VMs itself: a live server on a free loopback port, with a
//       token made for it, over the embedded services or a running agent;
//   mosdat mcp --url URL [--live-token REF]
//       a running `mosdat live` (its token, default env:MOSDAT_LIVE_TOKEN).
// On stdio, standard output carries only the protocol: whatever else this process or
// its children would print there goes to standard error. It ends when standard input
// does. Exit codes: 0 done, 2 bad command line, 3 bad config, 4 the services or the
// address could not be started.
#include <fcntl.h>
#include <unistd.h>

#include <ext/stdio_filebuf.h>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/live_host.h"
#include "core/secret_ref.h"
#include "live/authoring_client.h"
#include "mcp/authoring_tools.h"
#include "mcp/http_transport.h"
#include "mcp/mcp_server.h"
#include "mcp/stdio_transport.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

struct McpArgs {
  std::string config;
  LiveAgent agent;
  std::string url;  // a running live server instead of --config
  std::string live_token_ref = "env:MOSDAT_LIVE_TOKEN";
  std::string http;  // "" = stdio
  std::string token_ref;
  std::vector<std::string> allowed_origins;
};

constexpr char kInstructions[] =
    "mOSdat drives desktop applications in VMs through their screen. Start with list_vms, "
    "then open_session on a VM. capture shows the screen (coordinates are framebuffer "
    "pixels); describe and find_accessible tell what is at a point or where a widget is; "
    "localize and verify ask the vision model. act clicks, types, presses keys or runs "
    "commands, and run_steps runs scenario steps: both change the VM and need "
    "confirm: true. Each act answers the scenario step that does the same: append_step "
    "adds it to the session's draft, validate checks the draft, and export_yaml gives the "
    "scenario file. close_session when done.";

int Fail(const std::string& message, int code) {
  std::cerr << "mosdat mcp: " << message << "\n";
  return code;
}

int CodeOf(const absl::Status& status) {
  return absl::IsInvalidArgument(status) ? kExitUsage : kExitInfrastructure;
}

// Standard output for the protocol alone: the real stdout moves to a descriptor of its
// own, and descriptor 1 becomes stderr for every other writer (libraries, children).
int TakeStdoutForProtocol() {
  std::cout.flush();
  // Close-on-exec: a child (the desktop, the app under test) must not hold the
  // client's pipe open, nor write into it.
  const int protocol = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (protocol < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return -1;
  return protocol;
}

int RunMcp(const McpArgs& args) {
  if (args.config.empty() == args.url.empty()) {
    return Fail("give --config (serve its VMs) or --url (a running mosdat live)", kExitUsage);
  }
  // On stdio, nothing but the protocol may reach standard output, from the start.
  int protocol_fd = -1;
  if (args.http.empty()) {
    protocol_fd = TakeStdoutForProtocol();
    if (protocol_fd < 0) {
      return Fail("cannot set standard output aside for the protocol", kExitInfrastructure);
    }
  }
  // What can be told from the command line is told before anything starts.
  std::string http_token;
  bool made = false;
  if (!args.http.empty()) {
    if (absl::Status address = CheckListenAddress(args.http); !address.ok()) {
      return Fail("--http " + std::string(address.message()), kExitUsage);
    }
    absl::StatusOr<std::string> token = ServerToken(args.token_ref, "--token", &made);
    if (!token.ok()) return Fail(std::string(token.status().message()), kExitUsage);
    http_token = *token;
    if (!IsLoopbackListen(args.http)) {
      std::cerr << "warning: mosdat mcp: --http " << args.http
                << " is reachable from other machines, and its token travels in clear: put "
                   "it behind TLS (a reverse proxy) or bind it to loopback\n";
    }
  }
  // The live server the tools call: this process's own, or a running one.
  std::optional<LiveHost> host;
  std::string live_url = args.url;
  std::string live_token;
  if (!args.config.empty()) {
    absl::StatusOr<Config> config = LoadConfigPrintingWarnings(args.config);
    if (!config.ok()) return Fail(std::string(config.status().message()), kExitConfigError);
    // Its own live server, on loopback, for this process alone.
    const std::string token = GenerateToken();
    absl::StatusOr<LiveHost> started =
        StartConfigLiveHost(*config, args.agent, "127.0.0.1:0", token);
    if (!started.ok())
      return Fail(std::string(started.status().message()), CodeOf(started.status()));
    host.emplace(std::move(*started));
    live_url = host->server->url();
    live_token = token;
  } else {
    absl::StatusOr<std::string> token = SecretRef::ResolveText(args.live_token_ref);
    if (!token.ok())
      return Fail("--live-token: " + std::string(token.status().message()), kExitUsage);
    live_token = *token;
  }
  AuthoringClient api(live_url, live_token);
  if (!args.url.empty()) {
    // A wrong URL or token is said now, not to the model at its first call.
    AuthoringAnswer whoami = api.Get("/api/whoami");
    if (!whoami.done()) {
      return Fail("--url " + args.url + ": " + whoami.error(),
                  whoami.http_status == 401 ? kExitUsage : kExitInfrastructure);
    }
  }
  mcp::McpServer server(
      {.name = "mosdat", .version = kMosdatVersion, .instructions = kInstructions},
      mcp::AuthoringTools(api));

  if (args.http.empty()) {
    __gnu_cxx::stdio_filebuf<char> buffer(protocol_fd, std::ios::out);
    std::ostream protocol(&buffer);
    mcp::ServeStdio(server, std::cin, protocol);
    return kExitPass;
  }
  absl::StatusOr<std::unique_ptr<mcp::HttpTransport>> transport = mcp::HttpTransport::Start(
      server, {.listen = args.http, .token = http_token, .allowed_origins = args.allowed_origins});
  if (!transport.ok()) {
    return Fail("--http " + std::string(transport.status().message()), CodeOf(transport.status()));
  }
  std::cout << "mosdat mcp: serving MCP (Streamable HTTP) on " << (*transport)->url() << "\n";
  if (made) {
    // Made for this run, shown once, to the person who started it.
    std::cout << "token (send as Authorization: Bearer ...): " << http_token << "\n";
  }
  std::cout.flush();
  // Ctrl-C or SIGTERM ends the process (through the embedded services' watcher when
  // they run here; the local desktops go with it).
  for (;;) pause();
}

}  // namespace

void AddMcpCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<McpArgs>();
  CLI::App* cmd = root.add_subcommand(
      "mcp",
      "MCP server (stdio, or Streamable HTTP with --http) of the authoring tools for "
      "coding agents");
  cmd->add_option("--config", args->config, "mOSdat TOML config whose VMs to serve")
      ->check(CLI::ExistingFile);
  cmd->add_option("--agent", args->agent.address,
                  "with --config: a running mosdat-agent (or mosdat serve) host:port "
                  "(default: embedded services)");
  cmd->add_option("--agent-token", args->agent.token_ref,
                  "the agent's token, as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->agent.tls);
  cmd->add_option("--url", args->url,
                  "instead of --config: a running mosdat live (http://host:port)");
  cmd->add_option("--live-token", args->live_token_ref,
                  "its token, as env:NAME or file:PATH (default env:MOSDAT_LIVE_TOKEN)");
  cmd->add_option("--http", args->http,
                  "serve Streamable HTTP on host:port (endpoint /mcp) instead of stdio");
  cmd->add_option("--token", args->token_ref,
                  "--http: the token callers present, as env:NAME or file:PATH (default: one "
                  "made for this run, printed once)");
  cmd->add_option("--allow-origin", args->allowed_origins,
                  "--http: a browser origin allowed besides this server's own loopback ones");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [args] { return RunMcp(*args); });
  });
}

}  // namespace mosdat

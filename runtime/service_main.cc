#include "runtime/service_main.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/secret_ref.h"
#include "runtime/logging.h"
#include "runtime/ready_file.h"
#include "runtime/service_host.h"
#include "runtime/termination_signals.h"
#include "runtime/tls.h"

namespace mosdat {

int RunServiceMain(int argc, char** argv, const ServiceSpec& spec) {
  BlockTerminationSignals();

  CLI::App app(spec.description, spec.binary);
  std::string listen = absl::StrCat("127.0.0.1:", spec.default_grpc_port);
  std::string metrics_listen = absl::StrCat("127.0.0.1:", spec.default_metrics_port);
  std::string token_ref;
  std::string log_level = "info";
  std::string ready_file;
  ServerTlsOptions tls;
  bool allow_plaintext = false;
  app.add_option("--listen", listen, "gRPC address (host:port; port 0 picks a free one)")
      ->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen, "Prometheus /metrics address, or \"off\"")
      ->capture_default_str();
  app.add_option("--token", token_ref,
                 spec.requires_token
                     ? "bearer token callers must present, as env:NAME or file:PATH (required)"
                     : "bearer token callers must present, as env:NAME or file:PATH");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();
  app.add_option("--ready-file", ready_file,
                 "write {grpc_address, metrics_port, pid} as JSON here once serving");
  app.add_option("--tls-cert", tls.cert_file,
                 "serve TLS with this PEM certificate (chain); needs --tls-key");
  app.add_option("--tls-key", tls.key_file, "the unencrypted PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", tls.client_ca_file,
                 "require clients to present a certificate signed by this PEM CA (mutual TLS)");
  app.add_flag("--allow-plaintext", allow_plaintext,
               "allow tokens to cross the network without TLS: listening on a non-loopback "
               "address without --tls-cert, and calling other hosts without their CA "
               "(only on a trusted network)");
  if (spec.add_flags) spec.add_flags(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (absl::Status s = InitLogging(spec.binary, log_level); !s.ok()) {
    std::cerr << spec.binary << ": " << s.message() << "\n";
    return 2;
  }

  ServiceContext context;
  if (!token_ref.empty()) {
    absl::StatusOr<std::string> token = SecretRef::ResolveText(token_ref);
    if (!token.ok()) {
      spdlog::error("--token: {}", std::string(token.status().message()));
      return 3;
    }
    context.token = *token;
  } else if (spec.requires_token) {
    spdlog::error("{} can act on VMs and needs a token: pass --token env:NAME or --token file:PATH",
                  spec.binary);
    return 3;
  }

  context.allow_plaintext = allow_plaintext;
  if (absl::Status s =
          CheckServerPlaintext(listen, tls.enabled(), !context.token.empty(), allow_plaintext);
      !s.ok()) {
    spdlog::error("cannot start: {}", std::string(s.message()));
    return 3;
  }
  // Checked before the services are created, so a TLS mistake is the first thing said.
  if (absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
          MakeServerCredentials(tls);
      !credentials.ok()) {
    spdlog::error("cannot start: {}", std::string(credentials.status().message()));
    return 3;
  }

  ServiceHost host({.name = spec.binary,
                    .grpc_address = listen,
                    .metrics_address = metrics_listen == "off" ? "" : metrics_listen,
                    .tls = tls});
  context.metrics = host.metrics();
  absl::StatusOr<std::vector<HostedService>> services = spec.create(context);
  if (!services.ok()) {
    spdlog::error("cannot start: {}", std::string(services.status().message()));
    return 3;
  }
  for (HostedService& hosted : *services) host.AddService(hosted.service.get(), hosted.full_name);
  if (absl::Status s = host.Start(); !s.ok()) {
    spdlog::error("cannot start: {}", std::string(s.message()));
    return 3;
  }
  std::shared_ptr<void> background;
  if (spec.start_background) {
    absl::StatusOr<std::shared_ptr<void>> started = spec.start_background(context);
    if (!started.ok()) {
      spdlog::error("cannot start: {}", std::string(started.status().message()));
      return 3;
    }
    background = std::move(*started);
  }
  // Ready means serving *and* running: an agent is registered before anyone is told.
  if (!ready_file.empty()) {
    absl::Status s = WriteReadyFile(ready_file, {.service = spec.binary,
                                                 .grpc_address = host.grpc_target(),
                                                 .metrics_port = host.metrics_port()});
    if (!s.ok()) {
      spdlog::error("{}", std::string(s.message()));
      return 3;
    }
  }

  int signal = WaitForTerminationSignal();
  spdlog::info("signal {} received, stopping", signal);
  background.reset();
  host.Shutdown();
  return 0;
}

}  // namespace mosdat

// The shared main() of the four service binaries: flags, logging, token, TLS, ServiceHost,
// ready file, and a clean stop on SIGTERM/SIGINT. Each binary supplies what it hosts.
#ifndef MOSDAT_RUNTIME_SERVICE_MAIN_H_
#define MOSDAT_RUNTIME_SERVICE_MAIN_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <prometheus/registry.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mosdat {

// What a service gets when it is created.
struct ServiceContext {
  std::string token;  // empty when the service does not require one
  std::shared_ptr<prometheus::Registry> metrics;
  // --allow-plaintext: channels this service opens to others (ClientTlsOptions) may send
  // tokens without TLS to non-loopback hosts too.
  bool allow_plaintext = false;
};

struct HostedService {
  std::unique_ptr<grpc::Service> service;
  std::string full_name;  // e.g. "mosdat.v1.Coordinator", reported by health checks
};

struct ServiceSpec {
  std::string binary;       // "mosdat-coordinator"
  std::string description;  // one line for --help
  int default_grpc_port = 0;
  int default_metrics_port = 0;
  // Services that can act on a VM refuse to start without a token.
  bool requires_token = false;
  // Adds binary-specific flags (bound to variables the create callback reads).
  std::function<void(CLI::App&)> add_flags;
  std::function<absl::StatusOr<std::vector<HostedService>>(const ServiceContext&)> create;
  // Optional work that runs while the services serve (e.g. the agent's job loop); started
  // after the port is bound, and destroyed — which must stop it — before shutdown.
  std::function<absl::StatusOr<std::shared_ptr<void>>(const ServiceContext&)> start_background;
};

// Returns the process exit code: 0 after a clean stop, 2 on bad flags, 3 when the
// service cannot start (port taken, missing token, unusable TLS files, a token-protected
// plaintext listener on a non-loopback address without --allow-plaintext...).
int RunServiceMain(int argc, char** argv, const ServiceSpec& spec);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_SERVICE_MAIN_H_

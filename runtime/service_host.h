// ServiceHost runs one gRPC server that carries one or more mOSdat services, the
// standard health-checking and server-reflection services (so grpcurl and friends can
// list and call the API without the .proto files), and a Prometheus /metrics endpoint. A standalone
// binary hosts one service; the embedded default (`mosdat serve`, and the CLI with no
// coordinator address) hosts all four in one process.
#ifndef MOSDAT_RUNTIME_SERVICE_HOST_H_
#define MOSDAT_RUNTIME_SERVICE_HOST_H_

#include <grpcpp/grpcpp.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/tls.h"

namespace mosdat {

struct ServiceHostOptions {
  // Used in logs and as the `service` label of metrics.
  std::string name;
  // host:port; port 0 picks a free one (see grpc_port()). Loopback unless configured.
  std::string grpc_address = "127.0.0.1:0";
  // host:port for /metrics; empty disables the endpoint.
  std::string metrics_address = "127.0.0.1:0";
  // Plaintext unless set. Start() reads and checks the files.
  ServerTlsOptions tls;
};

class ServiceHost {
 public:
  explicit ServiceHost(ServiceHostOptions options);
  ~ServiceHost();

  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // The registry every service of this process adds its metrics to.
  const std::shared_ptr<prometheus::Registry>& metrics() const { return registry_; }

  // Registers a service (not owned; must outlive the host). Call before Start().
  // Its full name (e.g. "mosdat.v1.Coordinator") is reported SERVING once started.
  void AddService(grpc::Service* service, std::string full_name);

  // Binds both ports — exactly these two — and starts serving. Errors name the address
  // that failed, or the TLS flag and file that are unusable (InvalidArgument).
  absl::Status Start();

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  std::string grpc_target() const;  // "127.0.0.1:<port>" usable by a client

  // A channel to this server that does not touch the network.
  std::shared_ptr<grpc::Channel> InProcessChannel();

  // Marks services NOT_SERVING, lets in-flight calls finish (bounded), then stops.
  void Shutdown();

 private:
  ServiceHostOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_SERVICE_HOST_H_

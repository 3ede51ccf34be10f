#include "runtime/service_host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/rpc_metrics.h"

namespace mosdat {

ServiceHost::ServiceHost(ServiceHostOptions options)
    : options_(std::move(options)), registry_(std::make_shared<prometheus::Registry>()) {}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(grpc::Service* service, std::string full_name) {
  services_.emplace_back(service, std::move(full_name));
}

absl::Status ServiceHost::Start() {
  if (!options_.metrics_address.empty()) {
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", options_.metrics_address, ": ", e.what()));
    }
    exposer_->RegisterCollectable(registry_);
    std::vector<int> ports = exposer_->GetListeningPorts();
    metrics_port_ = ports.empty() ? 0 : ports.front();
  }

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(options_.tls);
  if (!credentials.ok()) return credentials.status();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, gRPC sets SO_REUSEPORT and gives each extra poller a listening socket
  // of its own, bound to the *requested* address: with port 0 that is another free port,
  // open but advertised nowhere. It would also let a second server bind a port this one
  // holds (and steal half its connections) instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options_.grpc_address, *credentials, &grpc_port_);
  std::vector<std::string> names;
  for (auto& [service, name] : services_) {
    builder.RegisterService(service);
    names.push_back(name);
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(
      MakeRpcMetricsInterceptorFactory(*registry_, options_.name, MethodPathsOf(names)));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on ", options_.grpc_address,
                                               " (address in use or not a local address?)"));
  }
  auto* health = server_->GetHealthCheckService();
  for (auto& [service, name] : services_) health->SetServingStatus(name, true);
  health->SetServingStatus(true);
  spdlog::info("{}: gRPC on {} ({}), metrics on {}", options_.name, grpc_target(),
               options_.tls.Describe(),
               metrics_port_ ? absl::StrCat("127.0.0.1:", metrics_port_) : "(off)");
  return absl::OkStatus();
}

std::string ServiceHost::grpc_target() const {
  std::string host = options_.grpc_address.substr(0, options_.grpc_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(host, ":", grpc_port_);
}

std::shared_ptr<grpc::Channel> ServiceHost::InProcessChannel() {
  return server_->InProcessChannel(grpc::ChannelArguments());
}

void ServiceHost::Shutdown() {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Streams (WatchRun, ReportEvents) may be open: give them a bounded grace period.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
  spdlog::debug("{}: gRPC server stopped", options_.name);
  exposer_.reset();
  spdlog::info("{}: stopped", options_.name);
}

}  // namespace mosdat

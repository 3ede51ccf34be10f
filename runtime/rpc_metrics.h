// Counts every RPC a ServiceHost serves, by method and status code, and times it:
//   mosdat_grpc_requests_total{service,method,code}
//   mosdat_grpc_request_seconds{service,method}
#ifndef MOSDAT_RUNTIME_RPC_METRICS_H_
#define MOSDAT_RUNTIME_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace mosdat {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(prometheus::Registry& registry, const std::string& service);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_RPC_METRICS_H_

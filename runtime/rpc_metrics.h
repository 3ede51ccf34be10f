// Counts every RPC a ServiceHost serves, by method and status code, and times it:
//   mosdat_grpc_requests_total{service,method,code}
//   mosdat_grpc_request_seconds{service,method}
// `method` is the path of a method the host serves, or "unknown": a caller can send any
// path, and a series per made-up path would grow the registry (and every scrape)
// without bound.
#ifndef MOSDAT_RUNTIME_RPC_METRICS_H_
#define MOSDAT_RUNTIME_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/registry.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mosdat {

// "/package.Service/Method" for every method of the named services (from their
// generated descriptors), and of the health-checking and reflection services every
// ServiceHost also serves.
std::set<std::string> MethodPathsOf(const std::vector<std::string>& service_full_names);

// Calls to a path outside `known_methods` count under method="unknown".
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(prometheus::Registry& registry, const std::string& service,
                                 std::set<std::string> known_methods);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_RPC_METRICS_H_

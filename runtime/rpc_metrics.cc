#include "runtime/rpc_metrics.h"

#include <google/protobuf/descriptor.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <chrono>

namespace mosdat {
namespace {

using grpc::experimental::InterceptionHookPoints;

struct RpcMetricFamilies {
  prometheus::Family<prometheus::Counter>* requests;
  prometheus::Family<prometheus::Histogram>* seconds;
  std::string service;
  std::set<std::string> known_methods;
};

// Served by grpc++ itself (its default health service is not a generated one).
constexpr const char* kBuiltinMethods[] = {
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};

std::string CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return (i >= 0 && i < 17) ? kNames[i] : "UNKNOWN";
}

class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(const RpcMetricFamilies& families, std::string method)
      : families_(families), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      families_.requests
          ->Add({{"service", families_.service},
                 {"method", method_},
                 {"code", CodeName(status.error_code())}})
          .Increment();
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      families_.seconds
          ->Add({{"service", families_.service}, {"method", method_}},
                prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60})
          .Observe(seconds);
    }
    methods->Proceed();
  }

 private:
  const RpcMetricFamilies& families_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
};

class RpcMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RpcMetricsInterceptorFactory(prometheus::Registry& registry, std::string service,
                               std::set<std::string> known_methods) {
    families_.service = std::move(service);
    families_.known_methods = std::move(known_methods);
    families_.requests = &prometheus::BuildCounter()
                              .Name("mosdat_grpc_requests_total")
                              .Help("gRPC calls served, by method and status code")
                              .Register(registry);
    families_.seconds = &prometheus::BuildHistogram()
                             .Name("mosdat_grpc_request_seconds")
                             .Help("Time from call start to status, by method")
                             .Register(registry);
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    const bool known = method != nullptr && families_.known_methods.contains(method);
    return new RpcMetricsInterceptor(families_, known ? method : "unknown");
  }

 private:
  RpcMetricFamilies families_;
};

}  // namespace

std::set<std::string> MethodPathsOf(const std::vector<std::string>& service_full_names) {
  std::set<std::string> paths(std::begin(kBuiltinMethods), std::end(kBuiltinMethods));
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : service_full_names) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;  // its calls count as "unknown"
    for (int i = 0; i < service->method_count(); ++i) {
      paths.insert("/" + name + "/" + service->method(i)->name());
    }
  }
  return paths;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(prometheus::Registry& registry, const std::string& service,
                                 std::set<std::string> known_methods) {
  return std::make_unique<RpcMetricsInterceptorFactory>(registry, service,
                                                        std::move(known_methods));
}

}  // namespace mosdat

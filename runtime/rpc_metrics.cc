#include "runtime/rpc_metrics.h"

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
      : families_(families), method_(std::move(method)),
        start_(std::chrono::steady_clock::now()) {}

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

class RpcMetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RpcMetricsInterceptorFactory(prometheus::Registry& registry, std::string service) {
    families_.service = std::move(service);
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
    return new RpcMetricsInterceptor(families_, info->method());
  }

 private:
  RpcMetricFamilies families_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(prometheus::Registry& registry, const std::string& service) {
  return std::make_unique<RpcMetricsInterceptorFactory>(registry, service);
}

}  // namespace mosdat

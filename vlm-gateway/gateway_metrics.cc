#include "vlm-gateway/gateway_metrics.h"

namespace mosdat {
namespace {

double Sum(const prometheus::Family<prometheus::Counter>& family) {
  double total = 0;
  for (const prometheus::MetricFamily& collected : family.Collect()) {
    for (const prometheus::ClientMetric& metric : collected.metric) total += metric.counter.value;
  }
  return total;
}

// Cache hits take well under a millisecond; model calls take seconds.
const prometheus::Histogram::BucketBoundaries& RequestBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  return *buckets;
}

const prometheus::Histogram::BucketBoundaries& UpstreamBuckets() {
  static const auto* buckets =
      new prometheus::Histogram::BucketBoundaries{0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300};
  return *buckets;
}

}  // namespace

GatewayMetrics::GatewayMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("mosdat_vlm_requests_total")
                    .Help("Localize/verify calls, by kind and result (ok|error)")
                    .Register(registry)),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("mosdat_vlm_request_seconds")
                           .Help("Localize/verify latency, by kind and cache (hit|miss)")
                           .Register(registry)),
      hits_(prometheus::BuildCounter()
                .Name("mosdat_vlm_cache_hits_total")
                .Help("Calls answered from the VLM cache")
                .Register(registry)),
      misses_(prometheus::BuildCounter()
                  .Name("mosdat_vlm_cache_misses_total")
                  .Help("Calls the VLM cache could not answer")
                  .Register(registry)),
      deduplicated_(prometheus::BuildCounter()
                        .Name("mosdat_vlm_inflight_deduplicated_total")
                        .Help("Calls that shared an identical call already in flight")
                        .Register(registry)),
      upstream_requests_(prometheus::BuildCounter()
                             .Name("mosdat_vlm_upstream_requests_total")
                             .Help("HTTP attempts to VLM endpoints, by endpoint and outcome")
                             .Register(registry)),
      upstream_seconds_(prometheus::BuildHistogram()
                            .Name("mosdat_vlm_upstream_seconds")
                            .Help("Successful upstream chat-completions calls, by kind")
                            .Register(registry)) {}

void GatewayMetrics::Request(const std::string& kind, bool ok) {
  requests_.Add({{"kind", kind}, {"result", ok ? "ok" : "error"}}).Increment();
}

void GatewayMetrics::Latency(const std::string& kind, bool cache_hit, absl::Duration elapsed) {
  request_seconds_.Add({{"kind", kind}, {"cache", cache_hit ? "hit" : "miss"}}, RequestBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void GatewayMetrics::Cache(const std::string& kind, bool hit) {
  (hit ? hits_ : misses_).Add({{"kind", kind}}).Increment();
}

void GatewayMetrics::Deduplicated(const std::string& kind) {
  deduplicated_.Add({{"kind", kind}}).Increment();
}

void GatewayMetrics::UpstreamAttempt(const std::string& endpoint, const std::string& outcome) {
  upstream_requests_.Add({{"endpoint", endpoint}, {"outcome", outcome}}).Increment();
}

void GatewayMetrics::UpstreamLatency(const std::string& kind, absl::Duration elapsed) {
  upstream_seconds_.Add({{"kind", kind}}, UpstreamBuckets())
      .Observe(absl::ToDoubleSeconds(elapsed));
}

double GatewayMetrics::Hits() const { return Sum(hits_); }
double GatewayMetrics::Misses() const { return Sum(misses_); }
double GatewayMetrics::Deduplicated() const { return Sum(deduplicated_); }

}  // namespace mosdat

// The vlm-gateway's Prometheus metrics:
//   mosdat_vlm_requests_total{kind,result}        localize/verify calls; result ok|error
//   mosdat_vlm_request_seconds{kind,cache}        whole-call latency; cache hit|miss
//   mosdat_vlm_cache_hits_total{kind}
//   mosdat_vlm_cache_misses_total{kind}
//   mosdat_vlm_inflight_deduplicated_total{kind}  calls that shared an identical call
//   mosdat_vlm_upstream_requests_total{endpoint,outcome}  every HTTP attempt; outcome is
//                                                 the HTTP status, "timeout", "connect"
//                                                 or "broken"
//   mosdat_vlm_upstream_seconds{kind}             successful upstream chat calls
#ifndef MOSDAT_VLM_GATEWAY_GATEWAY_METRICS_H_
#define MOSDAT_VLM_GATEWAY_GATEWAY_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "absl/time/time.h"

namespace mosdat {

class GatewayMetrics {
 public:
  explicit GatewayMetrics(prometheus::Registry& registry);

  void Request(const std::string& kind, bool ok);
  void Latency(const std::string& kind, bool cache_hit, absl::Duration elapsed);
  void Cache(const std::string& kind, bool hit);
  void Deduplicated(const std::string& kind);
  void UpstreamAttempt(const std::string& endpoint, const std::string& outcome);
  void UpstreamLatency(const std::string& kind, absl::Duration elapsed);

  // For tests and CacheStats: this process's counts.
  double Hits() const;
  double Misses() const;
  double Deduplicated() const;

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Counter>& hits_;
  prometheus::Family<prometheus::Counter>& misses_;
  prometheus::Family<prometheus::Counter>& deduplicated_;
  prometheus::Family<prometheus::Counter>& upstream_requests_;
  prometheus::Family<prometheus::Histogram>& upstream_seconds_;
};

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_GATEWAY_METRICS_H_

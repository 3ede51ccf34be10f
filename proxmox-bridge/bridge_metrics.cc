#include "proxmox-bridge/bridge_metrics.h"

#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

const prometheus::Histogram::BucketBoundaries& ApiBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}

// Tasks and VM readiness take seconds to minutes.
const prometheus::Histogram::BucketBoundaries& SlowBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600};
  return *buckets;
}

}  // namespace

BridgeMetrics::BridgeMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("mosdat_bridge_pve_requests_total")
                    .Help("Proxmox VE API calls, by method, endpoint and HTTP status")
                    .Register(registry)),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("mosdat_bridge_pve_request_seconds")
                           .Help("Proxmox VE API latency, by method and endpoint")
                           .Register(registry)),
      task_seconds_(prometheus::BuildHistogram()
                        .Name("mosdat_bridge_pve_task_seconds")
                        .Help("Proxmox VE tasks waited for, by task type and result")
                        .Register(registry)),
      ready_seconds_(prometheus::BuildHistogram()
                         .Name("mosdat_bridge_vm_ready_seconds")
                         .Help("Time to make a VM ready for a job, by step")
                         .Register(registry)),
      ready_failures_(prometheus::BuildCounter()
                          .Name("mosdat_bridge_vm_ready_failures_total")
                          .Help("VMs that could not be made ready, by failing step")
                          .Register(registry)),
      open_consoles_(prometheus::BuildGauge()
                         .Name("mosdat_bridge_open_consoles")
                         .Help("Console tunnels open now")
                         .Register(registry)
                         .Add({})) {}

void BridgeMetrics::Call(const PveCallRecord& call) {
  requests_
      .Add({{"method", call.method},
            {"endpoint", call.endpoint},
            {"code", call.status == 0 ? "transport" : absl::StrCat(call.status)}})
      .Increment();
  request_seconds_.Add({{"method", call.method}, {"endpoint", call.endpoint}}, ApiBuckets())
      .Observe(absl::ToDoubleSeconds(call.elapsed));
}

void BridgeMetrics::Task(const std::string& type, absl::Duration waited, bool ok) {
  task_seconds_
      .Add({{"type", type.empty() ? "unknown" : type}, {"result", ok ? "ok" : "error"}},
           SlowBuckets())
      .Observe(absl::ToDoubleSeconds(waited));
}

void BridgeMetrics::Ready(const ReadinessTimings& t) {
  const std::pair<const char*, absl::Duration> steps[] = {
      {"find", t.find},       {"rollback", t.rollback}, {"gpu", t.gpu},    {"start", t.start},
      {"address", t.address}, {"console", t.console},   {"total", t.total}};
  for (const auto& [step, duration] : steps) {
    ready_seconds_.Add({{"step", step}}, SlowBuckets()).Observe(absl::ToDoubleSeconds(duration));
  }
}

void BridgeMetrics::ReadyFailed(const std::string& step) {
  ready_failures_.Add({{"step", step}}).Increment();
}

void BridgeMetrics::ConsolesOpen(int count) { open_consoles_.Set(count); }

}  // namespace mosdat

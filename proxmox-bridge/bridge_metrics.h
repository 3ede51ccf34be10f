// The proxmox-bridge's Prometheus metrics (the RPC counters and latencies come from
// runtime/rpc_metrics like every service's):
//   mosdat_bridge_pve_requests_total{method,endpoint,code}  Proxmox API calls; code is the
//                                                  HTTP status or "transport"
//   mosdat_bridge_pve_request_seconds{method,endpoint}      their latency
//   mosdat_bridge_pve_task_seconds{type,result}     UPID tasks waited for, by PVE task type
//                                                  (qmstart, qmshutdown, qmrollback...)
//   mosdat_bridge_vm_ready_seconds{step}            PrepareVm, per step (find, rollback,
//                                                  gpu, start, address, console, total)
//   mosdat_bridge_vm_ready_failures_total{step}     PrepareVm calls that failed, by step
//   mosdat_bridge_open_consoles                     console tunnels open now
#ifndef MOSDAT_PROXMOX_BRIDGE_BRIDGE_METRICS_H_
#define MOSDAT_PROXMOX_BRIDGE_BRIDGE_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/vm_readiness.h"

namespace mosdat {

class BridgeMetrics {
 public:
  explicit BridgeMetrics(prometheus::Registry& registry);

  void Call(const PveCallRecord& call);
  void Task(const std::string& type, absl::Duration waited, bool ok);
  void Ready(const ReadinessTimings& timings);
  void ReadyFailed(const std::string& step);
  void ConsolesOpen(int count);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Histogram>& task_seconds_;
  prometheus::Family<prometheus::Histogram>& ready_seconds_;
  prometheus::Family<prometheus::Counter>& ready_failures_;
  prometheus::Gauge& open_consoles_;
};

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_BRIDGE_METRICS_H_

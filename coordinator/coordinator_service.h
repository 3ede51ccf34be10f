// The Coordinator gRPC service: translates protos to core types and back. Agent
// registration and liveness are served; RPCs not overridden here (run submission, job
// leasing) answer UNIMPLEMENTED until the runner lands.
#ifndef MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_
#define MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_

#include <prometheus/gauge.h>

#include "coordinator/agent_registry.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"

namespace mosdat {

struct CoordinatorOptions {
  absl::Duration agent_liveness_timeout = absl::Seconds(15);
  absl::Duration heartbeat_interval = absl::Seconds(5);
};

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(const ServiceContext& context, CoordinatorOptions options);

  grpc::Status RegisterAgent(grpc::ServerContext* context,
                             const v1::RegisterAgentRequest* request,
                             v1::RegisterAgentResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context, const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;

 private:
  void UpdateAgentGauge();

  TokenAuth auth_;
  CoordinatorOptions options_;
  AgentRegistry agents_;
  prometheus::Gauge* live_agents_gauge_;
};

absl::StatusOr<std::vector<HostedService>> CreateCoordinatorServices(
    const ServiceContext& context, CoordinatorOptions options = {});

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_

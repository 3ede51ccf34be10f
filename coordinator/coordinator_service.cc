#include "coordinator/coordinator_service.h"

#include "absl/strings/str_cat.h"
#include "runtime/grpc_status.h"

namespace mosdat {

CoordinatorService::CoordinatorService(const ServiceContext& context, CoordinatorOptions options)
    : auth_(context.token),
      options_(options),
      agents_(options.agent_liveness_timeout),
      live_agents_gauge_(&prometheus::BuildGauge()
                              .Name("mosdat_coordinator_live_agents")
                              .Help("Agents that sent a heartbeat recently")
                              .Register(*context.metrics)
                              .Add({})) {}

void CoordinatorService::UpdateAgentGauge() {
  live_agents_gauge_->Set(static_cast<double>(agents_.LiveCount(absl::Now())));
}

grpc::Status CoordinatorService::RegisterAgent(grpc::ServerContext* context,
                                               const v1::RegisterAgentRequest* request,
                                               v1::RegisterAgentResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  AgentRecord record{.id = request->agent_id(),
                     .address = request->address(),
                     .vms = {request->vms().begin(), request->vms().end()},
                     .version = request->version()};
  absl::Status status = agents_.Register(std::move(record), absl::Now());
  UpdateAgentGauge();
  if (!status.ok()) return ToGrpcStatus(status);
  response->set_heartbeat_interval_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext* context,
                                           const v1::HeartbeatRequest* request,
                                           v1::HeartbeatResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::Status status = agents_.Heartbeat(request->agent_id(), absl::Now());
  UpdateAgentGauge();
  return ToGrpcStatus(status);
}

grpc::Status CoordinatorService::ListAgents(grpc::ServerContext* context,
                                            const v1::ListAgentsRequest*,
                                            v1::ListAgentsResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::Time now = absl::Now();
  for (const AgentRecord& record : agents_.List()) {
    v1::AgentInfo* info = response->add_agents();
    info->set_agent_id(record.id);
    info->set_address(record.address);
    for (const std::string& vm : record.vms) info->add_vms(vm);
    info->set_last_seen_unix_ms(absl::ToUnixMillis(record.last_seen));
    info->set_alive(agents_.IsAlive(record, now));
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::vector<HostedService>> CreateCoordinatorServices(
    const ServiceContext& context, CoordinatorOptions options) {
  std::vector<HostedService> services;
  services.push_back({std::make_unique<CoordinatorService>(context, options),
                      v1::Coordinator::service_full_name()});
  return services;
}

}  // namespace mosdat

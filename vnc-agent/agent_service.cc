#include "vnc-agent/agent_service.h"

namespace mosdat {

grpc::Status AgentService::ListSessions(grpc::ServerContext* context,
                                        const v1::ListSessionsRequest*,
                                        v1::ListSessionsResponse*) {
  // No session layer yet: an authenticated caller sees an empty list.
  return auth_.Check(*context);
}

absl::StatusOr<std::vector<HostedService>> CreateAgentServices(const ServiceContext& context) {
  std::vector<HostedService> services;
  services.push_back({std::make_unique<AgentService>(context), v1::Agent::service_full_name()});
  return services;
}

}  // namespace mosdat

// The Agent gRPC service of mosdat-agent. Every RPC acts on a VM and checks the token.
// Sessions are listed now; RPCs not overridden here (RunJob, Capture, Input...)
// answer UNIMPLEMENTED until the VNC session layer lands.
#ifndef MOSDAT_VNC_AGENT_AGENT_SERVICE_H_
#define MOSDAT_VNC_AGENT_AGENT_SERVICE_H_

#include "mosdat/v1/agent.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"

namespace mosdat {

class AgentService final : public v1::Agent::Service {
 public:
  explicit AgentService(const ServiceContext& context) : auth_(context.token) {}

  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;

 private:
  TokenAuth auth_;
};

absl::StatusOr<std::vector<HostedService>> CreateAgentServices(const ServiceContext& context);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_AGENT_SERVICE_H_

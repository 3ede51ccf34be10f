// The Agent gRPC service of mosdat-agent: interactive sessions on VNC screens (for the
// authoring API and live dashboard) — open, capture (optionally only a frame newer than
// a given input), input, close. Every RPC acts on a VM and checks the token. Jobs are
// not run through here but leased from the coordinator (see agent_worker.h).
#ifndef MOSDAT_VNC_AGENT_AGENT_SERVICE_H_
#define MOSDAT_VNC_AGENT_AGENT_SERVICE_H_

#include <map>
#include <memory>
#include <mutex>

#include "mosdat/v1/agent.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {

class AgentService final : public v1::Agent::Service {
 public:
  explicit AgentService(const ServiceContext& context) : auth_(context.token) {}

  grpc::Status OpenSession(grpc::ServerContext* context, const v1::OpenSessionRequest* request,
                           v1::OpenSessionResponse* response) override;
  grpc::Status CloseSession(grpc::ServerContext* context, const v1::CloseSessionRequest* request,
                            v1::CloseSessionResponse* response) override;
  grpc::Status Capture(grpc::ServerContext* context, const v1::CaptureRequest* request,
                       v1::CaptureResponse* response) override;
  grpc::Status Input(grpc::ServerContext* context, const v1::InputRequest* request,
                     v1::InputResponse* response) override;
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;
  grpc::Status DumpAccessibility(grpc::ServerContext* context,
                                 const v1::DumpAccessibilityRequest* request,
                                 v1::DumpAccessibilityResponse* response) override;

 private:
  struct Session {
    std::string vm;
    // A local VM's desktop lives as long as its session; declared before `vnc` so the
    // VNC connection closes first.
    std::shared_ptr<LocalDesktop> desktop;
    std::shared_ptr<VncSession> vnc;
  };
  absl::StatusOr<Session> Find(const std::string& session_id);

  TokenAuth auth_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
};

absl::StatusOr<std::vector<HostedService>> CreateAgentServices(const ServiceContext& context);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_AGENT_SERVICE_H_

// The production VlmClient: a client of the VlmGateway gRPC service.
#ifndef MOSDAT_VNC_AGENT_VLM_GATEWAY_CLIENT_H_
#define MOSDAT_VNC_AGENT_VLM_GATEWAY_CLIENT_H_

#include <memory>
#include <string>

#include "vnc-agent/steps/vlm_client.h"

namespace grpc {
class Channel;
}

namespace mosdat {

// A client of the VlmGateway service on `channel`, presenting `token` (may be empty when
// the gateway has none).
std::unique_ptr<VlmClient> NewVlmGatewayClient(std::shared_ptr<grpc::Channel> channel,
                                               std::string token);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_VLM_GATEWAY_CLIENT_H_

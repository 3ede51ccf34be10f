// The VlmGateway gRPC service of mosdat-vlm-gateway. RPCs not overridden here
// (Localize, Verify, cache) answer UNIMPLEMENTED until the gateway core lands.
#ifndef MOSDAT_VLM_GATEWAY_GATEWAY_SERVICE_H_
#define MOSDAT_VLM_GATEWAY_GATEWAY_SERVICE_H_

#include "mosdat/v1/vlm_gateway.grpc.pb.h"
#include "runtime/service_main.h"

namespace mosdat {

class VlmGatewayService final : public v1::VlmGateway::Service {};

absl::StatusOr<std::vector<HostedService>> CreateVlmGatewayServices(
    const ServiceContext& context);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_GATEWAY_SERVICE_H_

#include "vlm-gateway/gateway_service.h"

namespace mosdat {

absl::StatusOr<std::vector<HostedService>> CreateVlmGatewayServices(const ServiceContext&) {
  std::vector<HostedService> services;
  services.push_back(
      {std::make_unique<VlmGatewayService>(), v1::VlmGateway::service_full_name()});
  return services;
}

}  // namespace mosdat

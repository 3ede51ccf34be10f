#include "proxmox-bridge/bridge_service.h"

namespace mosdat {

absl::StatusOr<std::vector<HostedService>> CreateProxmoxBridgeServices(const ServiceContext&) {
  std::vector<HostedService> services;
  services.push_back(
      {std::make_unique<ProxmoxBridgeService>(), v1::ProxmoxBridge::service_full_name()});
  return services;
}

}  // namespace mosdat

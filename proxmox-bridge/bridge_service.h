// The ProxmoxBridge gRPC service of mosdat-proxmox-bridge. RPCs not overridden here
// answer UNIMPLEMENTED until the Proxmox REST client lands.
#ifndef MOSDAT_PROXMOX_BRIDGE_BRIDGE_SERVICE_H_
#define MOSDAT_PROXMOX_BRIDGE_BRIDGE_SERVICE_H_

#include "mosdat/v1/proxmox_bridge.grpc.pb.h"
#include "runtime/service_main.h"

namespace mosdat {

class ProxmoxBridgeService final : public v1::ProxmoxBridge::Service {};

absl::StatusOr<std::vector<HostedService>> CreateProxmoxBridgeServices(
    const ServiceContext& context);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_BRIDGE_SERVICE_H_

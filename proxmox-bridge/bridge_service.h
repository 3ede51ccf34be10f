// The ProxmoxBridge gRPC service of mosdat-proxmox-bridge: proto ↔ core conversion
// around Bridge (bridge.h), which does the work. Every RPC needs the bearer token: each
// one acts on a VM.
#ifndef MOSDAT_PROXMOX_BRIDGE_BRIDGE_SERVICE_H_
#define MOSDAT_PROXMOX_BRIDGE_BRIDGE_SERVICE_H_

#include <memory>

#include "mosdat/v1/proxmox_bridge.grpc.pb.h"
#include "proxmox-bridge/bridge.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"

namespace mosdat {

class ProxmoxBridgeService final : public v1::ProxmoxBridge::Service {
 public:
  ProxmoxBridgeService(const ServiceContext& context, std::shared_ptr<Bridge> bridge);

  grpc::Status ListVms(grpc::ServerContext*, const v1::ListVmsRequest*,
                       v1::ListVmsResponse*) override;
  grpc::Status GetVmStatus(grpc::ServerContext*, const v1::VmRequest*, v1::VmStatus*) override;
  grpc::Status StartVm(grpc::ServerContext*, const v1::VmRequest*, v1::VmStatus*) override;
  grpc::Status StopVm(grpc::ServerContext*, const v1::StopVmRequest*, v1::VmStatus*) override;
  grpc::Status ResetVm(grpc::ServerContext*, const v1::VmRequest*, v1::VmStatus*) override;
  grpc::Status ListSnapshots(grpc::ServerContext*, const v1::VmRequest*,
                             v1::ListSnapshotsResponse*) override;
  grpc::Status RollbackSnapshot(grpc::ServerContext*, const v1::SnapshotRequest*,
                                v1::VmStatus*) override;
  grpc::Status CreateSnapshot(grpc::ServerContext*, const v1::SnapshotRequest*,
                              v1::VmStatus*) override;
  grpc::Status PingGuestAgent(grpc::ServerContext*, const v1::VmRequest*,
                              v1::PingGuestAgentResponse*) override;
  grpc::Status GetGuestIp(grpc::ServerContext*, const v1::GetGuestIpRequest*,
                          v1::GuestIpResponse*) override;
  grpc::Status GuestExec(grpc::ServerContext*, const v1::GuestExecRequest*,
                         v1::GuestExecResponse*) override;
  grpc::Status GuestFileWrite(grpc::ServerContext*, const v1::GuestFileWriteRequest*,
                              v1::GuestFileWriteResponse*) override;
  grpc::Status AttachGpu(grpc::ServerContext*, const v1::AttachGpuRequest*,
                         v1::GpuAttachment*) override;
  grpc::Status DetachGpu(grpc::ServerContext*, const v1::DetachGpuRequest*, v1::VmStatus*) override;
  grpc::Status OpenConsole(grpc::ServerContext*, const v1::VmRequest*,
                           v1::ConsoleEndpoint*) override;
  grpc::Status CloseConsole(grpc::ServerContext*, const v1::CloseConsoleRequest*,
                            v1::CloseConsoleResponse*) override;
  grpc::Status PrepareVm(grpc::ServerContext*, const v1::PrepareVmRequest*,
                         v1::PreparedVm*) override;
  grpc::Status ReleaseVm(grpc::ServerContext*, const v1::ReleaseVmRequest*,
                         v1::ReleaseVmResponse*) override;

 private:
  TokenAuth auth_;
  std::shared_ptr<Bridge> bridge_;
};

absl::StatusOr<std::vector<HostedService>> CreateProxmoxBridgeServices(
    const ServiceContext& context);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_BRIDGE_SERVICE_H_

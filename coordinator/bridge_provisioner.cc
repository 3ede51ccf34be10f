// NewBridgeProvisioner: VmProvisioner over the ProxmoxBridge gRPC service.
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/vm_provisioner.h"
#include "core/net.h"
#include "mosdat/v1/proxmox_bridge.grpc.pb.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

class BridgeProvisioner final : public VmProvisioner {
 public:
  BridgeProvisioner(BridgeChannels channels, std::string token)
      : channels_(std::move(channels)), token_(std::move(token)) {}

  absl::StatusOr<ProvisionedVm> Prepare(const JobSpec& job) override {
    const ProxmoxTarget& px = *job.vm.proxmox;
    v1::PrepareVmRequest request;
    v1::ProxmoxEndpoint* endpoint = request.mutable_vm()->mutable_endpoint();
    endpoint->set_host(px.endpoint.host);
    endpoint->set_port(px.endpoint.port);
    endpoint->set_user(px.endpoint.user);
    endpoint->set_token_ref(px.endpoint.token.ToString());
    endpoint->set_password_ref(px.endpoint.password.ToString());
    endpoint->set_fingerprint(px.endpoint.fingerprint);
    endpoint->set_ca_file(px.endpoint.ca_file);
    request.mutable_vm()->mutable_vm()->set_vmid(job.vm.vmid);
    request.mutable_vm()->mutable_vm()->set_name(px.pve_name);
    request.set_snapshot(px.snapshot);
    request.set_after(std::string(ToString(px.after)));
    if (px.gpu) {
      request.mutable_gpu()->set_pci_address(px.gpu_pci_address);
      request.mutable_gpu()->set_mapping(px.gpu_mapping);
      request.mutable_gpu()->set_primary_vga(px.gpu_primary);
    }
    // A fixed address in the config wins over the guest agent's.
    if (absl::StatusOr<std::pair<std::string, int>> fixed = ParseHostPort(job.vm.ssh_address);
        fixed.ok()) {
      request.set_fixed_ip(fixed->first);
    }
    for (const std::string& subnet : px.subnets) request.add_preferred_subnets(subnet);
    request.set_ready_timeout_seconds(static_cast<int>(px.ready_timeout));
    request.set_shutdown_timeout_seconds(static_cast<int>(px.shutdown_timeout));

    grpc::ClientContext context;
    AttachToken(context, token_);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(static_cast<int64_t>(px.ready_timeout) + 120));
    v1::PreparedVm prepared;
    absl::StatusOr<v1::ProxmoxBridge::Stub*> stub = Stub(px.endpoint_name);
    if (!stub.ok()) return stub.status();
    grpc::Status status = (*stub)->PrepareVm(&context, request, &prepared);
    if (!status.ok()) {
      // Whatever the bridge says, an unready VM is the rig's fault, never the app's.
      return absl::UnavailableError(absl::StrCat(
          "VM \"", job.vm.name, "\" is not ready: ", FromGrpcStatus(status).message()));
    }
    {
      std::lock_guard lock(mutex_);
      bridge_of_lease_[prepared.lease_id()] = *stub;
    }
    ProvisionedVm vm{.lease_id = prepared.lease_id(),
                     .console_address = prepared.console().local_address(),
                     .console_password = prepared.console().password(),
                     .guest_address = prepared.address()};
    const v1::ReadyStepTimings& t = prepared.timings();
    vm.notes.push_back(absl::StrFormat(
        "VM %s (Proxmox VM %d on node %s) ready in %.1f s: rollback %.1f s, GPU %.1f s, "
        "start %.1f s, address %.1f s (%s), console %.1f s",
        job.vm.name, prepared.vm().vmid(), prepared.vm().node(), t.total_seconds(),
        t.rollback_seconds(), t.gpu_seconds(), t.start_seconds(), t.address_seconds(),
        prepared.address(), t.console_seconds()));
    vm.notes.push_back(prepared.gpu().slot().empty()
                           ? "GPU: none attached"
                           : absl::StrCat("GPU attached: ", prepared.gpu().device(), " as ",
                                          prepared.gpu().slot(), " (", prepared.gpu().value(),
                                          ")"));
    for (const std::string& warning : prepared.warnings()) {
      vm.notes.push_back(absl::StrCat("warning: ", warning));
    }
    return vm;
  }

  absl::Status Release(const std::string& lease_id) override {
    v1::ReleaseVmRequest request;
    request.set_lease_id(lease_id);
    grpc::ClientContext context;
    AttachToken(context, token_);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    v1::ReleaseVmResponse response;
    v1::ProxmoxBridge::Stub* stub;
    {
      std::lock_guard lock(mutex_);
      auto it = bridge_of_lease_.find(lease_id);
      if (it == bridge_of_lease_.end()) {
        return absl::InternalError(absl::StrCat("no bridge prepared lease ", lease_id));
      }
      stub = it->second;
      bridge_of_lease_.erase(it);
    }
    return FromGrpcStatus(stub->ReleaseVm(&context, request, &response));
  }

 private:
  // The bridge for a Proxmox host: its own, else the default ("").
  absl::StatusOr<v1::ProxmoxBridge::Stub*> Stub(const std::string& endpoint_name) {
    std::lock_guard lock(mutex_);
    std::string key = channels_.contains(endpoint_name) ? endpoint_name : "";
    if (!channels_.contains(key)) {
      return absl::UnavailableError(
          absl::StrCat("no proxmox-bridge serves Proxmox host \"", endpoint_name,
                       "\": start one beside that host's agent and give the coordinator --bridge ",
                       endpoint_name, "=ADDRESS"));
    }
    std::unique_ptr<v1::ProxmoxBridge::Stub>& stub = stubs_[key];
    if (stub == nullptr) stub = v1::ProxmoxBridge::NewStub(channels_.at(key)());
    return stub.get();
  }

  BridgeChannels channels_;
  std::string token_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<v1::ProxmoxBridge::Stub>> stubs_;
  std::map<std::string, v1::ProxmoxBridge::Stub*> bridge_of_lease_;
};

}  // namespace

std::shared_ptr<VmProvisioner> NewBridgeProvisioner(BridgeChannels channels, std::string token) {
  return std::make_shared<BridgeProvisioner>(std::move(channels), std::move(token));
}

}  // namespace mosdat

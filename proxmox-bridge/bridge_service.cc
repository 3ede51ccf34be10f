#include "proxmox-bridge/bridge_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proxmox-bridge/pve_console.h"
#include "proxmox-bridge/pve_guest_agent.h"
#include "runtime/grpc_status.h"

namespace mosdat {
namespace {

constexpr absl::Duration kDefaultTimeout = absl::Minutes(5);

// A secret reference from a request field ("" leaves `out` unset).
absl::Status ReadSecretRef(const std::string& text, const char* field, SecretRef* out) {
  if (text.empty()) return absl::OkStatus();
  absl::StatusOr<SecretRef> parsed = SecretRef::Parse(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", parsed.status().message()));
  }
  *out = *parsed;
  return absl::OkStatus();
}

absl::StatusOr<PveEndpointSpec> EndpointOf(const v1::ProxmoxEndpoint& e) {
  PveEndpointSpec spec{.host = e.host(),
                       .port = e.port() > 0 ? e.port() : 8006,
                       .user = e.user(),
                       .fingerprint = e.fingerprint(),
                       .ca_file = e.ca_file()};
  if (spec.host.empty()) return absl::InvalidArgumentError("endpoint.host is required");
  if (absl::Status s = ReadSecretRef(e.token_ref(), "endpoint.token_ref", &spec.token); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadSecretRef(e.password_ref(), "endpoint.password_ref", &spec.password);
      !s.ok()) {
    return s;
  }
  return spec;
}

absl::Time DeadlineOf(int32_t seconds) {
  return absl::Now() + (seconds > 0 ? absl::Seconds(seconds) : kDefaultTimeout);
}

void ToProto(const PveVm& vm, v1::VmRef* out) {
  out->set_node(vm.node);
  out->set_vmid(vm.vmid);
  out->set_name(vm.name);
}

void ToProto(const GpuAttachment& gpu, v1::GpuAttachment* out) {
  out->set_slot(gpu.slot);
  out->set_value(gpu.value);
  out->set_previous(gpu.previous);
  out->set_device(gpu.device);
}

GpuAttachment FromProto(const v1::GpuAttachment& gpu) {
  return {
      .slot = gpu.slot(), .value = gpu.value(), .previous = gpu.previous(), .device = gpu.device()};
}

// A call on one VM: the endpoint's client and the VM where it is now.
struct VmCall {
  std::shared_ptr<PveClient> client;
  PveVm vm;
};

absl::StatusOr<VmCall> Resolve(Bridge& bridge, const v1::VmRequest& request) {
  absl::StatusOr<PveEndpointSpec> endpoint = EndpointOf(request.endpoint());
  if (!endpoint.ok()) return endpoint.status();
  absl::StatusOr<std::shared_ptr<PveClient>> client = bridge.Client(*endpoint);
  if (!client.ok()) return client.status();
  if (request.vm().vmid() <= 0 && request.vm().name().empty()) {
    return absl::InvalidArgumentError("vm: a vmid or a name is required");
  }
  absl::StatusOr<PveVm> vm = FindPveVm(**client, request.vm().vmid(), request.vm().name());
  if (!vm.ok()) return vm.status();
  return VmCall{*client, *vm};
}

// Answers with the VM's status after an action (and the action's warnings).
grpc::Status StatusAfter(const VmCall& call, const absl::Status& action,
                         const std::vector<std::string>& warnings, v1::VmStatus* response) {
  if (!action.ok()) return ToGrpcStatus(action);
  absl::StatusOr<PveVmStatus> status = GetPveVmStatus(*call.client, call.vm);
  if (!status.ok()) return ToGrpcStatus(status.status());
  ToProto(status->vm, response->mutable_vm());
  response->set_status(status->status);
  response->set_lock(status->lock);
  response->set_uptime_seconds(status->uptime_seconds);
  for (const std::string& w : warnings) response->add_warnings(w);
  return grpc::Status::OK;
}

}  // namespace

ProxmoxBridgeService::ProxmoxBridgeService(const ServiceContext& context,
                                           std::shared_ptr<Bridge> bridge)
    : auth_(context.token), bridge_(std::move(bridge)) {}

#define MOSDAT_CHECK_TOKEN(context) \
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s

#define MOSDAT_RESOLVE(call, request)                       \
  absl::StatusOr<VmCall> call = Resolve(*bridge_, request); \
  if (!call.ok()) return ToGrpcStatus(call.status())

grpc::Status ProxmoxBridgeService::ListVms(grpc::ServerContext* context,
                                           const v1::ListVmsRequest* request,
                                           v1::ListVmsResponse* response) {
  MOSDAT_CHECK_TOKEN(context);
  absl::StatusOr<PveEndpointSpec> endpoint = EndpointOf(request->endpoint());
  if (!endpoint.ok()) return ToGrpcStatus(endpoint.status());
  absl::StatusOr<std::shared_ptr<PveClient>> client = bridge_->Client(*endpoint);
  if (!client.ok()) return ToGrpcStatus(client.status());
  absl::StatusOr<std::vector<PveVmStatus>> vms = ListPveVms(**client);
  if (!vms.ok()) return ToGrpcStatus(vms.status());
  for (const PveVmStatus& vm : *vms) {
    v1::VmStatus* out = response->add_vms();
    ToProto(vm.vm, out->mutable_vm());
    out->set_status(vm.status);
    out->set_lock(vm.lock);
    out->set_uptime_seconds(vm.uptime_seconds);
  }
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::GetVmStatus(grpc::ServerContext* context,
                                               const v1::VmRequest* request,
                                               v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, *request);
  return StatusAfter(*call, absl::OkStatus(), {}, response);
}

grpc::Status ProxmoxBridgeService::StartVm(grpc::ServerContext* context,
                                           const v1::VmRequest* request, v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, *request);
  std::vector<std::string> warnings;
  absl::Status s =
      StartPveVm(*call->client, call->vm,
                 {.deadline = DeadlineOf(request->timeout_seconds()), .warnings = &warnings});
  return StatusAfter(*call, s, warnings, response);
}

grpc::Status ProxmoxBridgeService::StopVm(grpc::ServerContext* context,
                                          const v1::StopVmRequest* request,
                                          v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  std::vector<std::string> warnings;
  PveTaskOptions tasks{.deadline = DeadlineOf(request->vm().timeout_seconds()),
                       .warnings = &warnings};
  absl::Status s = request->force()
                       ? StopPveVm(*call->client, call->vm, tasks)
                       : ShutdownPveVm(*call->client, call->vm,
                                       absl::Seconds(request->shutdown_timeout_seconds() > 0
                                                         ? request->shutdown_timeout_seconds()
                                                         : 60),
                                       tasks);
  return StatusAfter(*call, s, warnings, response);
}

grpc::Status ProxmoxBridgeService::ResetVm(grpc::ServerContext* context,
                                           const v1::VmRequest* request, v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, *request);
  std::vector<std::string> warnings;
  absl::Status s =
      ResetPveVm(*call->client, call->vm,
                 {.deadline = DeadlineOf(request->timeout_seconds()), .warnings = &warnings});
  return StatusAfter(*call, s, warnings, response);
}

grpc::Status ProxmoxBridgeService::ListSnapshots(grpc::ServerContext* context,
                                                 const v1::VmRequest* request,
                                                 v1::ListSnapshotsResponse* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, *request);
  absl::StatusOr<std::vector<PveSnapshot>> snapshots = ListPveSnapshots(*call->client, call->vm);
  if (!snapshots.ok()) return ToGrpcStatus(snapshots.status());
  for (const PveSnapshot& s : *snapshots) {
    v1::Snapshot* out = response->add_snapshots();
    out->set_name(s.name);
    out->set_description(s.description);
    out->set_parent(s.parent);
    out->set_snaptime(s.snaptime);
    out->set_vmstate(s.vmstate);
  }
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::RollbackSnapshot(grpc::ServerContext* context,
                                                    const v1::SnapshotRequest* request,
                                                    v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  std::vector<std::string> warnings;
  absl::Status s = RollbackPveSnapshot(
      *call->client, call->vm, request->snapshot(),
      {.deadline = DeadlineOf(request->vm().timeout_seconds()), .warnings = &warnings});
  return StatusAfter(*call, s, warnings, response);
}

grpc::Status ProxmoxBridgeService::CreateSnapshot(grpc::ServerContext* context,
                                                  const v1::SnapshotRequest* request,
                                                  v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  std::vector<std::string> warnings;
  absl::Status s = CreatePveSnapshot(
      *call->client, call->vm, request->snapshot(), request->description(),
      {.deadline = DeadlineOf(request->vm().timeout_seconds()), .warnings = &warnings});
  return StatusAfter(*call, s, warnings, response);
}

grpc::Status ProxmoxBridgeService::PingGuestAgent(grpc::ServerContext* context,
                                                  const v1::VmRequest* request,
                                                  v1::PingGuestAgentResponse*) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, *request);
  return ToGrpcStatus(mosdat::PingGuestAgent(*call->client, call->vm));
}

grpc::Status ProxmoxBridgeService::GetGuestIp(grpc::ServerContext* context,
                                              const v1::GetGuestIpRequest* request,
                                              v1::GuestIpResponse* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  std::vector<std::string> subnets(request->preferred_subnets().begin(),
                                   request->preferred_subnets().end());
  absl::StatusOr<std::string> address = WaitForGuestAddress(
      *call->client, call->vm, subnets, DeadlineOf(request->vm().timeout_seconds()));
  if (!address.ok()) return ToGrpcStatus(address.status());
  response->set_address(*address);
  absl::StatusOr<std::vector<GuestInterface>> interfaces = GuestInterfaces(*call->client, call->vm);
  if (interfaces.ok()) {
    for (const GuestInterface& i : *interfaces) {
      for (const std::string& ip : i.ipv4) response->add_ipv4(ip);
      for (const std::string& ip : i.ipv6) response->add_ipv6(ip);
    }
  }
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::GuestExec(grpc::ServerContext* context,
                                             const v1::GuestExecRequest* request,
                                             v1::GuestExecResponse* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  std::vector<std::string> argv(request->command().begin(), request->command().end());
  absl::StatusOr<GuestExecResult> result =
      mosdat::GuestExec(*call->client, call->vm, argv, DeadlineOf(request->vm().timeout_seconds()));
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_exit_code(result->exit_code);
  response->set_stdout(result->out);
  response->set_stderr(result->err);
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::GuestFileWrite(grpc::ServerContext* context,
                                                  const v1::GuestFileWriteRequest* request,
                                                  v1::GuestFileWriteResponse*) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  return ToGrpcStatus(
      mosdat::GuestFileWrite(*call->client, call->vm, request->path(), request->content()));
}

grpc::Status ProxmoxBridgeService::AttachGpu(grpc::ServerContext* context,
                                             const v1::AttachGpuRequest* request,
                                             v1::GpuAttachment* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  absl::StatusOr<GpuAttachment> gpu = mosdat::AttachGpu(*call->client, call->vm,
                                                        {.pci_address = request->pci_address(),
                                                         .mapping = request->mapping(),
                                                         .primary = request->primary_vga()});
  if (!gpu.ok()) return ToGrpcStatus(gpu.status());
  ToProto(*gpu, response);
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::DetachGpu(grpc::ServerContext* context,
                                             const v1::DetachGpuRequest* request,
                                             v1::VmStatus* response) {
  MOSDAT_CHECK_TOKEN(context);
  MOSDAT_RESOLVE(call, request->vm());
  absl::Status s = RestoreGpu(*call->client, call->vm, FromProto(request->attachment()));
  return StatusAfter(*call, s, {}, response);
}

grpc::Status ProxmoxBridgeService::OpenConsole(grpc::ServerContext* context,
                                               const v1::VmRequest* request,
                                               v1::ConsoleEndpoint* response) {
  MOSDAT_CHECK_TOKEN(context);
  absl::StatusOr<PveEndpointSpec> endpoint = EndpointOf(request->endpoint());
  if (!endpoint.ok()) return ToGrpcStatus(endpoint.status());
  MOSDAT_RESOLVE(call, *request);
  absl::StatusOr<ConsoleInfo> console = bridge_->OpenConsole(*endpoint, call->vm);
  if (!console.ok()) return ToGrpcStatus(console.status());
  ToProto(call->vm, response->mutable_vm());
  response->set_local_address(console->address);
  response->set_password(console->password);
  response->set_console_id(console->id);
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::CloseConsole(grpc::ServerContext* context,
                                                const v1::CloseConsoleRequest* request,
                                                v1::CloseConsoleResponse*) {
  MOSDAT_CHECK_TOKEN(context);
  return ToGrpcStatus(bridge_->CloseConsole(request->console_id()));
}

grpc::Status ProxmoxBridgeService::PrepareVm(grpc::ServerContext* context,
                                             const v1::PrepareVmRequest* request,
                                             v1::PreparedVm* response) {
  MOSDAT_CHECK_TOKEN(context);
  absl::StatusOr<PveEndpointSpec> endpoint = EndpointOf(request->vm().endpoint());
  if (!endpoint.ok()) return ToGrpcStatus(endpoint.status());
  VmReadinessSpec spec{.vmid = request->vm().vm().vmid(),
                       .pve_name = request->vm().vm().name(),
                       .snapshot = request->snapshot(),
                       .fixed_ip = request->fixed_ip()};
  if (request->after() == "shutdown") {
    spec.after = AfterJob::kShutdown;
  } else if (request->after() == "rollback") {
    spec.after = AfterJob::kRollback;
  } else if (!request->after().empty() && request->after() != "keep") {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("after: must be keep, shutdown or rollback, not \"", request->after(), "\"")));
  }
  if (spec.after == AfterJob::kRollback && spec.snapshot.empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("after = rollback needs a snapshot"));
  }
  if (request->has_gpu()) {
    spec.gpu = GpuRequest{.pci_address = request->gpu().pci_address(),
                          .mapping = request->gpu().mapping(),
                          .primary = request->gpu().primary_vga()};
  }
  spec.subnets.assign(request->preferred_subnets().begin(), request->preferred_subnets().end());
  if (request->ready_timeout_seconds() > 0) {
    spec.ready_timeout = absl::Seconds(request->ready_timeout_seconds());
  }
  if (request->shutdown_timeout_seconds() > 0) {
    spec.shutdown_timeout = absl::Seconds(request->shutdown_timeout_seconds());
  }
  absl::StatusOr<PreparedVmInfo> prepared = bridge_->Prepare(*endpoint, spec);
  if (!prepared.ok()) return ToGrpcStatus(prepared.status());
  response->set_lease_id(prepared->lease_id);
  ToProto(prepared->vm, response->mutable_vm());
  response->set_address(prepared->address);
  if (prepared->console.has_value()) {
    ToProto(prepared->vm, response->mutable_console()->mutable_vm());
    response->mutable_console()->set_local_address(prepared->console->address);
    response->mutable_console()->set_password(prepared->console->password);
    response->mutable_console()->set_console_id(prepared->console->id);
  }
  if (prepared->gpu.has_value()) ToProto(*prepared->gpu, response->mutable_gpu());
  for (const std::string& w : prepared->warnings) response->add_warnings(w);
  const ReadinessTimings& t = prepared->timings;
  v1::ReadyStepTimings* timings = response->mutable_timings();
  timings->set_find_seconds(absl::ToDoubleSeconds(t.find));
  timings->set_rollback_seconds(absl::ToDoubleSeconds(t.rollback));
  timings->set_gpu_seconds(absl::ToDoubleSeconds(t.gpu));
  timings->set_start_seconds(absl::ToDoubleSeconds(t.start));
  timings->set_address_seconds(absl::ToDoubleSeconds(t.address));
  timings->set_console_seconds(absl::ToDoubleSeconds(t.console));
  timings->set_total_seconds(absl::ToDoubleSeconds(t.total));
  return grpc::Status::OK;
}

grpc::Status ProxmoxBridgeService::ReleaseVm(grpc::ServerContext* context,
                                             const v1::ReleaseVmRequest* request,
                                             v1::ReleaseVmResponse*) {
  MOSDAT_CHECK_TOKEN(context);
  return ToGrpcStatus(bridge_->Release(request->lease_id()));
}

#undef MOSDAT_CHECK_TOKEN
#undef MOSDAT_RESOLVE

absl::StatusOr<std::vector<HostedService>> CreateProxmoxBridgeServices(
    const ServiceContext& context) {
  auto bridge = std::make_shared<Bridge>(
      BridgeOptions{.open_console = OpenTunnelConsole, .metrics = context.metrics.get()});
  std::vector<HostedService> services;
  services.push_back({std::make_unique<ProxmoxBridgeService>(context, std::move(bridge)),
                      v1::ProxmoxBridge::service_full_name()});
  return services;
}

}  // namespace mosdat

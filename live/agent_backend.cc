#include "live/agent_backend.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/job.h"
#include "core/json_depth.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

// A local VM's desktop and app take seconds to come up.
constexpr auto kOpenDeadline = std::chrono::seconds(120);
constexpr auto kCallDeadline = std::chrono::seconds(30);

HeldJob HeldJobOf(const v1::PausedJob& job) {
  return {.job_id = job.job_id(),
          .run_id = job.run_id(),
          .test = job.test(),
          .vm = job.vm(),
          .failed_step = job.failed_step(),
          .step_count = job.step_count(),
          .reason = job.reason(),
          .since_unix_ms = job.since_unix_ms(),
          .scenario_path = job.scenario_path(),
          .scenario_yaml = job.scenario_yaml()};
}

}  // namespace

void AgentScreenBackend::Prepare(grpc::ClientContext& context,
                                 std::chrono::system_clock::duration timeout) const {
  AttachToken(context, token_);
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

AgentScreenBackend::AgentScreenBackend(const Config& config, std::shared_ptr<grpc::Channel> agent,
                                       std::string token,
                                       std::shared_ptr<VmProvisioner> provisioner)
    : config_(config),
      provisioner_(std::move(provisioner)),
      agent_(v1::Agent::NewStub(agent)),
      token_(std::move(token)) {}

AgentScreenBackend::~AgentScreenBackend() {
  std::map<std::string, std::string> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(leases_);
  }
  for (const auto& [session, lease] : left) ReleaseLease(lease);
}

absl::StatusOr<VmTarget> AgentScreenBackend::PrepareProxmox(const VmConfig& vm,
                                                            std::string* lease) {
  JobSpec spec;
  spec.job_id = absl::StrCat("author-", GenerateToken().substr(0, 8));
  spec.vm = TargetFor(config_, vm);
  absl::StatusOr<ProvisionedVm> ready = provisioner_->Prepare(spec);
  if (!ready.ok()) return ready.status();
  UseProvisioned(*ready, &spec.vm);
  *lease = ready->lease_id;
  return spec.vm;
}

void AgentScreenBackend::ReleaseLease(const std::string& lease) {
  if (absl::Status released = provisioner_->Release(lease); !released.ok()) {
    spdlog::warn("could not put back the Proxmox VM of an authoring session: {}",
                 std::string(released.message()));
  }
}

std::vector<AuthorVm> AgentScreenBackend::Vms() {
  std::vector<AuthorVm> vms;
  for (const VmConfig& vm : config_.vms) {
    AuthorVm entry{.name = vm.name,
                   .provider = std::string(ToString(vm.provider)),
                   .os = std::string(ToString(vm.os_type))};
    if (vm.provider == VmProvider::kProxmox && provisioner_ == nullptr) {
      entry.available = false;
      entry.note = "no proxmox-bridge to make it ready";
    }
    vms.push_back(std::move(entry));
  }
  return vms;
}

absl::StatusOr<std::string> AgentScreenBackend::Open(const std::string& name) {
  const VmConfig* vm = config_.FindVm(name);
  if (vm == nullptr) {
    return absl::NotFoundError(absl::StrCat("no [[vm]] named \"", name, "\" in the config"));
  }
  VmTarget target = TargetFor(config_, *vm);
  std::string lease;
  if (vm->provider == VmProvider::kProxmox) {
    if (provisioner_ == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat("VM \"", name, "\": no proxmox-bridge to make it ready"));
    }
    absl::StatusOr<VmTarget> ready = PrepareProxmox(*vm, &lease);
    if (!ready.ok()) return ready.status();
    target = *std::move(ready);
  }
  grpc::ClientContext context;
  Prepare(context, kOpenDeadline);
  v1::OpenSessionRequest request;
  *request.mutable_vm() = ToProto(target);
  v1::OpenSessionResponse response;
  if (grpc::Status status = agent_->OpenSession(&context, request, &response); !status.ok()) {
    if (!lease.empty()) ReleaseLease(lease);
    return FromGrpcStatus(status);
  }
  if (!lease.empty()) {
    std::lock_guard lock(mutex_);
    leases_[response.session_id()] = lease;
  }
  return response.session_id();
}

absl::StatusOr<ScreenCapture> AgentScreenBackend::Capture(const std::string& session,
                                                          bool after_input,
                                                          uint64_t unless_frame_seq) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::CaptureRequest request;
  request.set_session_id(session);
  if (after_input) request.set_newer_than_input_seq(1);
  request.set_unless_frame_seq(unless_frame_seq);
  request.set_timeout_ms(5000);
  v1::CaptureResponse response;
  if (grpc::Status status = agent_->Capture(&context, request, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  return ScreenCapture{.png = response.image().png(),
                       .width = response.image().width(),
                       .height = response.image().height(),
                       .frame_seq = response.image().frame_seq()};
}

absl::StatusOr<uint64_t> AgentScreenBackend::Act(const std::string& session,
                                                 const ScreenAction& action) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::InputRequest request;
  request.set_session_id(session);
  auto pointer = [&](v1::PointerAction::Kind kind, int button, int count) {
    v1::PointerAction* p = request.mutable_pointer();
    p->set_kind(kind);
    p->mutable_at()->set_x(action.x);
    p->mutable_at()->set_y(action.y);
    p->set_button(button);
    p->set_count(count);
    p->set_scroll_dy(action.scroll_dy);
  };
  switch (action.kind) {
    case ScreenAction::Kind::kHover:
      pointer(v1::PointerAction::MOVE, 1, 1);
      break;
    case ScreenAction::Kind::kClick:
      pointer(v1::PointerAction::CLICK, 1, 1);
      break;
    case ScreenAction::Kind::kDoubleClick:
      pointer(v1::PointerAction::CLICK, 1, 2);
      break;
    case ScreenAction::Kind::kRightClick:
      pointer(v1::PointerAction::CLICK, 3, 1);
      break;
    case ScreenAction::Kind::kScroll:
      pointer(v1::PointerAction::SCROLL, 1, 1);
      break;
    case ScreenAction::Kind::kType:
      request.mutable_type()->set_text(action.text);
      break;
    case ScreenAction::Kind::kKey:
      request.mutable_key()->set_combo(action.text);
      break;
  }
  v1::InputResponse response;
  if (grpc::Status status = agent_->Input(&context, request, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  return response.input_seq();
}

absl::StatusOr<StepsRun> AgentScreenBackend::Run(const std::string& session,
                                                 const std::string& scenario_yaml) {
  grpc::ClientContext context;
  AttachToken(context, token_);
  // A step bounds itself (its timeout); this bounds a run of many.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  v1::RunStepRequest request;
  request.set_session_id(session);
  request.set_step_yaml(scenario_yaml);
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = agent_->RunStep(&context, request);
  StepsRun run;
  v1::JobEvent proto;
  while (reader->Read(&proto)) {
    Event event = FromProto(proto);
    if (event.type == EventType::kJobFinished) {
      run.verdict = event.verdict;
      run.reason = event.reason;
    } else if (run.events.size() < 10000) {  // bounded: a peer's stream
      run.events.push_back(std::move(event));
    }
  }
  if (grpc::Status status = reader->Finish(); !status.ok()) return FromGrpcStatus(status);
  return run;
}

absl::StatusOr<nlohmann::json> AgentScreenBackend::Describe(const std::string& session, int x,
                                                            int y) {
  grpc::ClientContext context;
  Prepare(context, std::chrono::seconds(60));
  v1::DescribeRequest request;
  request.set_session_id(session);
  request.set_x(x);
  request.set_y(y);
  v1::DescribeResponse response;
  if (grpc::Status status = agent_->Describe(&context, request, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  nlohmann::json out = {{"x", x}, {"y", y}};
  out["accessible"] = nullptr;
  if (!response.accessible_json().empty()) {
    nlohmann::json accessible = nlohmann::json::parse(response.accessible_json(), nullptr, false);
    if (!accessible.is_discarded() && JsonDepthWithin(accessible)) {
      out["accessible"] = std::move(accessible);
    }
  }
  if (!response.accessible_error().empty()) out["accessible_error"] = response.accessible_error();
  nlohmann::json words = nlohmann::json::array();
  for (const v1::OcrWordInfo& word : response.words()) {
    words.push_back({{"text", word.text()},
                     {"box",
                      {{"x", word.box().x()},
                       {"y", word.box().y()},
                       {"width", word.box().width()},
                       {"height", word.box().height()}}},
                     {"confidence", word.confidence()}});
  }
  out["words"] = words;
  if (!response.ocr_error().empty()) out["ocr_error"] = response.ocr_error();
  return out;
}

absl::StatusOr<nlohmann::json> AgentScreenBackend::Find(const std::string& session,
                                                        const nlohmann::json& query) {
  grpc::ClientContext context;
  Prepare(context, std::chrono::seconds(30));
  v1::FindAccessibleRequest request;
  request.set_session_id(session);
  request.set_query_json(query.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  request.set_timeout_ms(10000);
  v1::FindAccessibleResponse response;
  if (grpc::Status status = agent_->FindAccessible(&context, request, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  nlohmann::json object = nlohmann::json::parse(response.object_json(), nullptr, false);
  if (!object.is_object() || !JsonDepthWithin(object)) {
    return absl::DataLossError("the agent sent no accessible object");
  }
  return object;
}

absl::Status AgentScreenBackend::Close(const std::string& session) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::CloseSessionRequest request;
  request.set_session_id(session);
  v1::CloseSessionResponse response;
  absl::Status closed = FromGrpcStatus(agent_->CloseSession(&context, request, &response));
  // Its Proxmox VM goes back once nothing looks at it, whatever the agent answered.
  std::string lease;
  {
    std::lock_guard lock(mutex_);
    if (auto it = leases_.find(session); it != leases_.end()) {
      lease = it->second;
      leases_.erase(it);
    }
  }
  if (!lease.empty()) ReleaseLease(lease);
  return closed;
}

absl::StatusOr<std::vector<HeldJob>> AgentScreenBackend::HeldJobs() {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::ListPausedResponse response;
  if (grpc::Status status = agent_->ListPaused(&context, {}, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  std::vector<HeldJob> jobs;
  for (const v1::PausedJob& job : response.jobs()) jobs.push_back(HeldJobOf(job));
  return jobs;
}

absl::StatusOr<std::string> AgentScreenBackend::Attach(const std::string& job_id, HeldJob* held) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::OpenSessionRequest request;
  request.set_attach_job_id(job_id);
  v1::OpenSessionResponse response;
  if (grpc::Status status = agent_->OpenSession(&context, request, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  *held = HeldJobOf(response.paused());
  return response.session_id();
}

absl::StatusOr<std::string> AgentScreenBackend::Watch(const std::string& job_id, std::string* vm) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::OpenSessionRequest request;
  request.set_watch_job_id(job_id);
  v1::OpenSessionResponse response;
  if (grpc::Status status = agent_->OpenSession(&context, request, &response); !status.ok()) {
    return FromGrpcStatus(status);
  }
  *vm = response.vm();
  return response.session_id();
}

absl::Status AgentScreenBackend::Resume(const std::string& job_id, int from_step, bool abort,
                                        const std::string& by) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::ResumePausedRequest request;
  request.set_job_id(job_id);
  request.set_from_step(from_step);
  request.set_abort(abort);
  request.set_by(by);
  v1::ResumePausedResponse response;
  return FromGrpcStatus(agent_->ResumePaused(&context, request, &response));
}

absl::Status AgentScreenBackend::SetPauseOnFailure(const std::string& run_id, bool enabled) {
  grpc::ClientContext context;
  Prepare(context, kCallDeadline);
  v1::SetPauseOnFailureRequest request;
  request.set_run_id(run_id);
  request.set_enabled(enabled);
  v1::SetPauseOnFailureResponse response;
  return FromGrpcStatus(agent_->SetPauseOnFailure(&context, request, &response));
}

}  // namespace mosdat

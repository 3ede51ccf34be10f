#include "vnc-agent/agent_service.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/json_depth.h"
#include "core/net.h"
#include "core/scenario.h"
#include "core/scenario_parser.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "vnc-agent/rfb/key_input.h"
#include "vnc-agent/steps/accessibility_dump.h"
#include "vnc-agent/steps/scenario_runner.h"

namespace mosdat {
namespace {

constexpr int kMaxWheelSteps = 100;

v1::PausedJob ToProto(const PausedJob& job) {
  v1::PausedJob out;
  out.set_job_id(job.job_id);
  out.set_run_id(job.run_id);
  out.set_test(job.test);
  out.set_vm(job.vm);
  out.set_failed_step(job.failed_step);
  out.set_step_count(job.step_count);
  out.set_reason(job.reason);
  out.set_since_unix_ms(absl::ToUnixMillis(job.since));
  out.set_scenario_path(job.scenario_path);
  out.set_scenario_yaml(job.scenario_yaml);
  return out;
}

}  // namespace

absl::StatusOr<AgentService::Session> AgentService::Find(const std::string& session_id) {
  std::shared_ptr<Held> ended;  // closed after the lock is released (declared first)
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(absl::StrCat("no session \"", session_id, "\""));
  }
  const std::string job = it->second.held->attached_job;
  const bool watching = it->second.held->watch_only;
  if (!job.empty() && (options_.jobs == nullptr || !(watching ? options_.jobs->Running(job).ok()
                                                              : options_.jobs->Find(job).ok()))) {
    ended = std::move(it->second.held);
    sessions_.erase(it);
    return absl::NotFoundError(
        absl::StrCat("session \"", session_id, "\" was closed: job ", job,
                     watching ? " ended" : " is no longer paused (it went on or ended)"));
  }
  return it->second;
}

absl::StatusOr<AgentService::Session> AgentService::FindActing(const std::string& session_id) {
  absl::StatusOr<Session> session = Find(session_id);
  if (session.ok() && session->held->watch_only) {
    return absl::PermissionDeniedError(
        absl::StrCat("session \"", session_id, "\" only watches job ", session->held->attached_job,
                     ": take over its screen when a failed step holds it"));
  }
  return session;
}

absl::StatusOr<std::shared_ptr<AgentService::Held>> AgentService::Watch(const std::string& job_id) {
  absl::StatusOr<JobScreen> screen =
      options_.jobs != nullptr
          ? options_.jobs->Running(job_id)
          : absl::NotFoundError(absl::StrCat("job ", job_id, " is not running on this agent"));
  if (!screen.ok()) return screen.status();
  absl::StatusOr<std::unique_ptr<VncSession>> vnc = VncSession::Connect(screen->vnc);
  if (!vnc.ok()) return vnc.status();
  auto held = std::make_shared<Held>();
  held->target = screen->target;
  held->desktop = screen->desktop;
  held->vnc = std::move(*vnc);
  held->attached_job = job_id;
  held->watch_only = true;
  return held;
}

absl::StatusOr<std::shared_ptr<AgentService::Held>> AgentService::OpenVm(
    const v1::VmTarget& proto) {
  absl::StatusOr<VmTarget> vm = FromProto(proto);
  if (!vm.ok()) return vm.status();
  std::shared_ptr<LocalDesktop> desktop;
  VncOptions options;
  options.password = vm->vnc_password;
  if (vm->provider == VmProvider::kLocal) {
    // A local VM exists only while someone uses it: bring its desktop up for the session.
    absl::StatusOr<std::unique_ptr<LocalDesktop>> started =
        LocalDesktop::Start({.width = vm->width,
                             .height = vm->height,
                             .app_command = vm->app_command,
                             .app_env = vm->app_env});
    if (!started.ok()) return started.status();
    desktop = std::move(*started);
    options.port = desktop->vnc_port();
    options.password = desktop->vnc_password();
  } else {
    absl::StatusOr<std::pair<std::string, int>> address = ParseHostPort(vm->vnc_address);
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("vm.vnc_address: ", address.status().message()));
    }
    options.host = address->first;
    options.port = address->second;
  }
  absl::StatusOr<std::unique_ptr<VncSession>> vnc = VncSession::Connect(options);
  if (!vnc.ok()) return vnc.status();
  auto held = std::make_shared<Held>();
  held->target = *vm;
  held->desktop = std::move(desktop);
  held->vnc = std::move(*vnc);
  return held;
}

absl::StatusOr<std::shared_ptr<AgentService::Held>> AgentService::Attach(const std::string& job_id,
                                                                         v1::PausedJob* paused) {
  absl::StatusOr<std::pair<PausedJob, JobScreen>> held_job =
      options_.jobs != nullptr
          ? options_.jobs->Find(job_id)
          : absl::NotFoundError(absl::StrCat("job ", job_id, " is not paused on this agent"));
  if (!held_job.ok()) return held_job.status();
  auto& [job, screen] = *held_job;
  // A connection of the session's own to the job's VNC server (which is shared).
  VncOptions options = screen.vnc;
  absl::StatusOr<std::unique_ptr<VncSession>> vnc = VncSession::Connect(options);
  if (!vnc.ok()) return vnc.status();
  auto held = std::make_shared<Held>();
  held->target = screen.target;
  held->desktop = screen.desktop;
  held->vnc = std::move(*vnc);
  held->attached_job = job_id;
  *paused = ToProto(job);
  return held;
}

grpc::Status AgentService::OpenSession(grpc::ServerContext* context,
                                       const v1::OpenSessionRequest* request,
                                       v1::OpenSessionResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  const bool attach = !request->attach_job_id().empty();
  const bool watch = !request->watch_job_id().empty();
  absl::StatusOr<std::shared_ptr<Held>> held =
      attach  ? Attach(request->attach_job_id(), response->mutable_paused())
      : watch ? Watch(request->watch_job_id())
              : OpenVm(request->vm());
  if (!held.ok()) return ToGrpcStatus(held.status());
  std::string id = GenerateToken().substr(0, 16);
  response->set_session_id(id);
  response->set_width((*held)->vnc->width());
  response->set_height((*held)->vnc->height());
  (*held)->guest = std::make_unique<GuestAccess>((*held)->target, (*held)->desktop.get(),
                                                 [](const std::string&) {});
  std::lock_guard lock(mutex_);
  response->set_vm(attach  ? response->paused().vm()
                   : watch ? (*held)->target.name
                           : request->vm().name());
  sessions_[id] = {response->vm(), std::move(*held)};
  return grpc::Status::OK;
}

grpc::Status AgentService::CloseSession(grpc::ServerContext* context,
                                        const v1::CloseSessionRequest* request,
                                        v1::CloseSessionResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  std::lock_guard lock(mutex_);
  if (sessions_.erase(request->session_id()) == 0) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no session \"", request->session_id(), "\""));
  }
  return grpc::Status::OK;
}

grpc::Status AgentService::Capture(grpc::ServerContext* context, const v1::CaptureRequest* request,
                                   v1::CaptureResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<Session> session = Find(request->session_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  absl::Duration timeout =
      absl::Milliseconds(request->timeout_ms() > 0 ? request->timeout_ms() : 5000);
  // A frame reflecting every input so far is also newer than any earlier input.
  absl::StatusOr<Frame> frame = request->newer_than_input_seq() > 0
                                    ? session->held->vnc->CaptureAfterInput(timeout)
                                    : session->held->vnc->Capture();
  if (!frame.ok()) return ToGrpcStatus(frame.status());
  if (request->unless_frame_seq() != 0 && frame->update_seq == request->unless_frame_seq()) {
    response->mutable_image()->set_frame_seq(frame->update_seq);
    return grpc::Status::OK;
  }
  const v1::Rect& r = request->region();
  Frame out = Crop(*frame, {r.x(), r.y(), r.width(), r.height()});
  absl::StatusOr<std::string> png = EncodePng(out);
  if (!png.ok()) return ToGrpcStatus(png.status());
  v1::Image* image = response->mutable_image();
  image->set_png(std::move(*png));
  image->set_width(out.width);
  image->set_height(out.height);
  image->set_frame_seq(out.update_seq);
  image->set_captured_unix_ms(absl::ToUnixMillis(out.captured));
  return grpc::Status::OK;
}

grpc::Status AgentService::Input(grpc::ServerContext* context, const v1::InputRequest* request,
                                 v1::InputResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<Session> session = FindActing(request->session_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  VncSession& vnc = *session->held->vnc;
  absl::Status status;
  switch (request->action_case()) {
    case v1::InputRequest::kPointer: {
      const v1::PointerAction& p = request->pointer();
      int button = p.button() == 0 ? 1 : p.button();
      // Each wheel step and click is a message to the VNC server: bounded, so one call
      // cannot hold the session for hours.
      if (std::abs(p.scroll_dx()) > kMaxWheelSteps || std::abs(p.scroll_dy()) > kMaxWheelSteps ||
          p.count() > 3 || p.count() < 0) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("scroll at most ", kMaxWheelSteps,
                                         " steps each way, click at most 3 times"));
      }
      switch (p.kind()) {
        case v1::PointerAction::MOVE:
          status = vnc.Move(p.at().x(), p.at().y());
          break;
        case v1::PointerAction::CLICK:
          status = vnc.Click(p.at().x(), p.at().y(), button, std::max(1, p.count()));
          break;
        case v1::PointerAction::DRAG:
          status = vnc.Drag(p.at().x(), p.at().y(), p.to().x(), p.to().y(), button);
          break;
        case v1::PointerAction::SCROLL:
          status = vnc.Scroll(p.at().x(), p.at().y(), p.scroll_dx(), p.scroll_dy());
          break;
        default:
          status = absl::InvalidArgumentError("pointer.kind is required");
      }
      break;
    }
    case v1::InputRequest::kType:
      // No guest here: text off the keyboard map is refused rather than risked.
      status = TypeUnicode(vnc, request->type().text(), nullptr, absl::Now() + absl::Seconds(30))
                   .status();
      break;
    case v1::InputRequest::kKey: {
      absl::StatusOr<KeyCombo> combo = ParseKeyCombo(request->key().combo());
      status = combo.ok() ? PressCombo(vnc, *combo) : combo.status();
      break;
    }
    default:
      status = absl::InvalidArgumentError("one of pointer, type or key is required");
  }
  if (!status.ok()) return ToGrpcStatus(status);
  response->set_input_seq(vnc.input_seq());
  return grpc::Status::OK;
}

grpc::Status AgentService::ListSessions(grpc::ServerContext* context,
                                        const v1::ListSessionsRequest*,
                                        v1::ListSessionsResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  std::lock_guard lock(mutex_);
  for (const auto& [id, session] : sessions_) {
    v1::SessionInfo* info = response->add_sessions();
    info->set_session_id(id);
    info->set_vm(session.vm);
    info->set_width(session.held->vnc->width());
    info->set_height(session.held->vnc->height());
    info->set_connected(session.held->vnc->connected());
  }
  return grpc::Status::OK;
}

grpc::Status AgentService::DumpAccessibility(grpc::ServerContext* context,
                                             const v1::DumpAccessibilityRequest* request,
                                             v1::DumpAccessibilityResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<VmTarget> vm = FromProto(request->vm());
  if (!vm.ok()) return ToGrpcStatus(vm.status());
  absl::Duration timeout =
      request->timeout_ms() > 0 ? absl::Milliseconds(request->timeout_ms()) : absl::Seconds(60);
  absl::StatusOr<AccessibilityDump> dump =
      DumpVmAccessibility(*vm, request->app(), request->boxes(), timeout);
  if (!dump.ok()) return ToGrpcStatus(dump.status());
  response->set_tree_json(
      dump->tree.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  response->set_nodes(dump->nodes);
  response->set_guest_ms(dump->guest_ms);
  return grpc::Status::OK;
}

grpc::Status AgentService::RunStep(grpc::ServerContext* context, const v1::RunStepRequest* request,
                                   grpc::ServerWriter<v1::JobEvent>* writer) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<Session> session = FindActing(request->session_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  ScenarioOptions options{.any_file = true};
  for (const auto& [name, text] : request->vars()) {
    absl::StatusOr<Value> value = ValueFromJson(text);
    if (!value.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("vars[\"", name, "\"]: ", value.status().message()));
    }
    options.overrides[name] = *value;
  }
  Diagnostics diagnostics;
  Scenario scenario = ParseScenario(request->step_yaml(), "session.yaml", options, &diagnostics);
  if (!diagnostics.empty()) return ToGrpcStatus(diagnostics.ToStatus());

  Held& held = *session->held;
  std::lock_guard lock(held.steps);
  const std::string job_id = absl::StrCat("session-", request->session_id());
  RunnerOptions runner_options{.job_id = job_id,
                               .screenshots = ScreenshotPolicy::kNone,
                               .guest = [&held] { return held.guest->Get(); },
                               .x11 = held.target.x11,
                               .vlm = options_.vlm ? options_.vlm() : nullptr};
  uint64_t seq = 0;
  auto emit = [&](Event event) -> absl::Status {
    event.job_id = job_id;
    event.seq = ++seq;
    event.unix_ms = absl::ToUnixMillis(absl::Now());
    if (context->IsCancelled() || !writer->Write(ToProto(event))) {
      return absl::CancelledError("the caller of RunStep went away");
    }
    return absl::OkStatus();
  };
  ScenarioRunner runner(*held.vnc, runner_options, emit);
  RunOutcome outcome = runner.Run(scenario);
  // The outcome last, as a job's: the caller needs no rules of its own to read it.
  Event finished = Event::Of(EventType::kJobFinished);
  finished.verdict = outcome.verdict;
  finished.reason = outcome.reason;
  emit(std::move(finished)).IgnoreError();
  return grpc::Status::OK;
}

OcrEngine* AgentService::Ocr(std::string* error) {
  if (ocr_ == nullptr) {
    absl::StatusOr<std::unique_ptr<OcrEngine>> engine = OcrEngine::Create();
    if (!engine.ok()) {
      *error = std::string(engine.status().message());
      return nullptr;
    }
    ocr_ = std::move(*engine);
  }
  return ocr_.get();
}

grpc::Status AgentService::Describe(grpc::ServerContext* context,
                                    const v1::DescribeRequest* request,
                                    v1::DescribeResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<Session> session = FindActing(request->session_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  Held& held = *session->held;
  const int x = request->x();
  const int y = request->y();
  if (x < 0 || y < 0 || x >= held.vnc->width() || y >= held.vnc->height()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("(", x, ",", y, ") is outside the ", held.vnc->width(), "x",
                                     held.vnc->height(), " screen"));
  }
  absl::StatusOr<Frame> frame = held.vnc->Capture();
  if (!frame.ok()) return ToGrpcStatus(frame.status());

  // The accessible object there; a guest that cannot be asked is said, not fatal.
  {
    std::lock_guard lock(held.steps);
    absl::StatusOr<GuestSession*> guest = held.guest->Get();
    absl::Status asked = guest.ok() ? (*guest)->WithAtspi([&](AtspiClient& atspi) {
      absl::StatusOr<nlohmann::json> at =
          atspi.Call({{"op", "at_point"}, {"x", x}, {"y", y}}, absl::Seconds(10));
      if (!at.ok()) return at.status();
      response->set_accessible_json(
          at->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return absl::OkStatus();
    })
                                    : guest.status();
    if (!asked.ok()) response->set_accessible_error(std::string(asked.message()));
  }

  const int radius = request->ocr_radius() > 0 ? std::min(request->ocr_radius(), 2000) : 200;
  Rect region{std::max(0, x - radius), std::max(0, y - radius / 2), 2 * radius, radius};
  std::lock_guard lock(ocr_mutex_);
  std::string error;
  OcrEngine* ocr = Ocr(&error);
  absl::StatusOr<std::vector<OcrWord>> words =
      ocr != nullptr ? ocr->Words(*frame, region) : absl::UnavailableError(error);
  if (!words.ok()) {
    response->set_ocr_error(std::string(words.status().message()));
    return grpc::Status::OK;
  }
  for (const OcrWord& word : *words) {
    v1::OcrWordInfo* out = response->add_words();
    out->set_text(word.text);
    out->mutable_box()->set_x(word.box.x);
    out->mutable_box()->set_y(word.box.y);
    out->mutable_box()->set_width(word.box.width);
    out->mutable_box()->set_height(word.box.height);
    out->set_confidence(static_cast<float>(word.confidence));
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::vector<HostedService>> CreateAgentServices(const ServiceContext& context,
                                                               AgentServiceOptions options) {
  std::vector<HostedService> services;
  services.push_back({std::make_unique<AgentService>(context, std::move(options)),
                      v1::Agent::service_full_name()});
  return services;
}

grpc::Status AgentService::FindAccessible(grpc::ServerContext* context,
                                          const v1::FindAccessibleRequest* request,
                                          v1::FindAccessibleResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<Session> session = FindActing(request->session_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  nlohmann::json query = nlohmann::json::parse(request->query_json(), nullptr, false);
  if (!query.is_object() || !JsonDepthWithin(query, 4)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the query must be a JSON object of role, name, ... (not nested)");
  }
  // Only what a query may say: the helper gets nothing else from a caller.
  static constexpr const char* kKeys[] = {"role",       "name",  "name_substr", "app",
                                          "app_substr", "index", "states",      "verify"};
  for (const auto& [key, value] : query.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("unknown query field \"", key,
                       "\" (role, name, name_substr, app, app_substr, index, states, verify)"));
    }
  }
  if (!query.contains("role") && !query.contains("name") && !query.contains("name_substr")) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a query needs at least one of role, name, name_substr");
  }
  const absl::Duration timeout = absl::Milliseconds(
      request->timeout_ms() > 0 ? std::min(request->timeout_ms(), 60000) : 10000);
  Held& held = *session->held;
  std::lock_guard lock(held.steps);
  absl::StatusOr<GuestSession*> guest = held.guest->Get();
  if (!guest.ok()) return ToGrpcStatus(guest.status());
  absl::Status asked = (*guest)->WithAtspi([&](AtspiClient& atspi) {
    absl::StatusOr<nlohmann::json> found = atspi.Call({{"op", "find"}, {"query", query}}, timeout);
    if (!found.ok()) return found.status();
    response->set_object_json(
        found->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return absl::OkStatus();
  });
  return ToGrpcStatus(asked);
}

grpc::Status AgentService::ListPaused(grpc::ServerContext* context, const v1::ListPausedRequest*,
                                      v1::ListPausedResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  if (options_.jobs == nullptr) return grpc::Status::OK;
  for (const PausedJob& job : options_.jobs->List()) *response->add_jobs() = ToProto(job);
  return grpc::Status::OK;
}

grpc::Status AgentService::ResumePaused(grpc::ServerContext* context,
                                        const v1::ResumePausedRequest* request,
                                        v1::ResumePausedResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  if (options_.jobs == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("job ", request->job_id(), " is not paused on this agent"));
  }
  const std::string by = request->by().empty() ? "a person" : request->by().substr(0, 100);
  return ToGrpcStatus(request->abort()
                          ? options_.jobs->Abort(request->job_id(), by)
                          : options_.jobs->Resume(request->job_id(), request->from_step(), by));
}

grpc::Status AgentService::SetPauseOnFailure(grpc::ServerContext* context,
                                             const v1::SetPauseOnFailureRequest* request,
                                             v1::SetPauseOnFailureResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  if (request->run_id().empty() || request->run_id().size() > 200) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "run_id is required (at most 200 characters)");
  }
  if (options_.jobs == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this agent runs no jobs, so none can be held");
  }
  options_.jobs->SetRunSwitch(request->run_id(), request->enabled());
  return grpc::Status::OK;
}

}  // namespace mosdat

#include "coordinator/coordinator_service.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "coordinator/matrix.h"
#include "core/job_files.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"

namespace mosdat {

CoordinatorService::CoordinatorService(const ServiceContext& context, CoordinatorOptions options)
    : auth_(context.token),
      options_(options),
      agents_(options.agent_liveness_timeout),
      runs_(options.results_root),
      preparations_(options.preparations != nullptr
                        ? options.preparations
                        : std::make_shared<VmPreparations>(options.provisioner)),
      live_agents_gauge_(&prometheus::BuildGauge()
                              .Name("mosdat_coordinator_live_agents")
                              .Help("Agents that sent a heartbeat recently")
                              .Register(*context.metrics)
                              .Add({})),
      jobs_finished_(&prometheus::BuildCounter()
                          .Name("mosdat_jobs_finished_total")
                          .Help("Jobs finished, by verdict")
                          .Register(*context.metrics)),
      events_recorded_(&prometheus::BuildCounter()
                            .Name("mosdat_events_recorded_total")
                            .Help("Job events written to disk and acknowledged")
                            .Register(*context.metrics)
                            .Add({})) {}

void CoordinatorService::UpdateAgentGauge() {
  live_agents_gauge_->Set(static_cast<double>(agents_.LiveCount(absl::Now())));
}

grpc::Status CoordinatorService::RegisterAgent(grpc::ServerContext* context,
                                               const v1::RegisterAgentRequest* request,
                                               v1::RegisterAgentResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  AgentRecord record{.id = request->agent_id(),
                     .address = request->address(),
                     .vms = {request->vms().begin(), request->vms().end()},
                     .version = request->version()};
  absl::Status status = agents_.Register(std::move(record), absl::Now());
  UpdateAgentGauge();
  if (!status.ok()) return ToGrpcStatus(status);
  response->set_heartbeat_interval_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext* context,
                                           const v1::HeartbeatRequest* request,
                                           v1::HeartbeatResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::Status status = agents_.Heartbeat(request->agent_id(), absl::Now());
  UpdateAgentGauge();
  return ToGrpcStatus(status);
}

grpc::Status CoordinatorService::ListAgents(grpc::ServerContext* context,
                                            const v1::ListAgentsRequest*,
                                            v1::ListAgentsResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::Time now = absl::Now();
  for (const AgentRecord& record : agents_.List()) {
    v1::AgentInfo* info = response->add_agents();
    info->set_agent_id(record.id);
    info->set_address(record.address);
    for (const std::string& vm : record.vms) info->add_vms(vm);
    info->set_last_seen_unix_ms(absl::ToUnixMillis(record.last_seen));
    info->set_alive(agents_.IsAlive(record, now));
  }
  return grpc::Status::OK;
}

namespace {

v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return v1::JOB_STATE_QUEUED;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kDone:
      return v1::JOB_STATE_DONE;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

v1::Run ToProto(const RunStatus& run) {
  v1::Run out;
  out.set_run_id(run.run_id);
  out.set_label(run.label);
  out.set_created_unix_ms(absl::ToUnixMillis(run.created));
  out.set_verdict(run.done ? mosdat::ToProto(run.verdict) : v1::VERDICT_UNSPECIFIED);
  out.set_results_dir(run.results_dir);
  for (const JobStatus& job : run.jobs) {
    v1::Job* j = out.add_jobs();
    j->set_job_id(job.spec.job_id);
    j->set_run_id(job.spec.run_id);
    j->set_test(job.spec.test);
    j->mutable_vm()->set_name(job.spec.vm.name);
    j->set_scenario_path(job.spec.scenario_path);
    j->set_state(ToProto(job.state));
    j->set_verdict(job.state == JobState::kDone ? mosdat::ToProto(job.verdict)
                                                : v1::VERDICT_UNSPECIFIED);
    j->set_reason(job.reason);
    j->set_results_dir(job.results_dir);
  }
  return out;
}

}  // namespace

grpc::Status CoordinatorService::SubmitMatrix(grpc::ServerContext* context,
                                              const v1::SubmitMatrixRequest* request,
                                              v1::SubmitMatrixResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  size_t total = 0;
  for (const auto& [path, contents] : request->files()) total += contents.size();
  if (total > kMaxJobFilesBytes) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the job files are larger than the limit of ", kMaxJobFilesBytes, " bytes"));
  }
  return Submit(*request, {request->files().begin(), request->files().end()}, response);
}

grpc::Status CoordinatorService::SubmitMatrixStream(
    grpc::ServerContext* context, grpc::ServerReader<v1::SubmitMatrixChunk>* reader,
    v1::SubmitMatrixResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  std::optional<v1::SubmitMatrixRequest> request;
  FileAssembler assembler(kMaxJobFilesBytes);
  v1::SubmitMatrixChunk chunk;
  while (reader->Read(&chunk)) {
    if (chunk.has_request()) {
      if (request) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the request was sent twice");
      }
      request = std::move(*chunk.mutable_request());
    } else if (!request) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "files came before the request: send the request first");
    } else if (absl::Status s = assembler.Add(chunk.file()); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  if (!request) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request was sent");
  std::map<std::string, std::string> files(request->files().begin(), request->files().end());
  std::map<std::string, std::string> streamed;
  if (absl::Status s = assembler.Finish(&streamed); !s.ok()) return ToGrpcStatus(s);
  files.merge(streamed);
  return Submit(*request, std::move(files), response);
}

grpc::Status CoordinatorService::FetchJobFiles(grpc::ServerContext* context,
                                               const v1::FetchJobFilesRequest* request,
                                               grpc::ServerWriter<v1::FileChunk>* writer) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<std::map<std::string, std::string>> files =
      runs_.JobFiles(request->job_id(), request->agent_id());
  if (!files.ok()) return ToGrpcStatus(files.status());
  if (!WriteFileChunks(*files, [&](const v1::FileChunk& c) { return writer->Write(c); })) {
    return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Submit(const v1::SubmitMatrixRequest& request,
                                        std::map<std::string, std::string> files,
                                        v1::SubmitMatrixResponse* response) {
  MatrixRequest matrix_request{.config_path = request.config_path(),
                               .files = std::move(files),
                               .tests = {request.tests().begin(), request.tests().end()},
                               .vms = {request.vms().begin(), request.vms().end()}};
  for (const auto& [name, json] : request.vars()) {
    absl::StatusOr<Value> value = ValueFromJson(json);
    if (!value.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("vars[\"", name, "\"]: ", value.status().message()));
    }
    matrix_request.vars[name] = *value;
  }
  matrix_request.secrets.insert(request.secrets().begin(), request.secrets().end());
  absl::StatusOr<Matrix> matrix = ExpandMatrix(matrix_request);
  if (!matrix.ok()) return ToGrpcStatus(matrix.status());
  absl::Time now = absl::Now();
  for (const JobSpec& job : matrix->jobs) {
    if (!agents_.OwnerOf(job.vm.name, now).has_value()) {
      // The rig is missing a part: an infrastructure error (core/outcome.h), not a failure.
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("no live agent owns VM \"", job.vm.name,
                                       "\": start a mosdat-agent for its host"));
    }
  }
  absl::StatusOr<RunStatus> run = runs_.CreateRun(std::move(matrix->jobs), request.label());
  if (!run.ok()) return ToGrpcStatus(run.status());
  spdlog::info("run {}: {} job(s) queued", run->run_id, run->jobs.size());
  response->set_run_id(run->run_id);
  v1::Run proto = ToProto(*run);
  response->mutable_jobs()->Swap(proto.mutable_jobs());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::WatchRun(grpc::ServerContext* context,
                                          const v1::WatchRunRequest* request,
                                          grpc::ServerWriter<v1::RunUpdate>* writer) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  uint64_t after = request->after_seq();
  while (!context->IsCancelled()) {
    absl::StatusOr<std::vector<RunUpdate>> updates =
        runs_.Updates(request->run_id(), after, absl::Milliseconds(500));
    if (!updates.ok()) return ToGrpcStatus(updates.status());
    for (const RunUpdate& update : *updates) {
      v1::RunUpdate out;
      out.set_run_seq(update.seq);
      if (update.event) *out.mutable_event() = mosdat::ToProto(*update.event);
      if (update.finished) *out.mutable_run() = ToProto(*update.finished);
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
      after = update.seq;
      if (update.finished) return grpc::Status::OK;
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status CoordinatorService::ListRuns(grpc::ServerContext* context,
                                          const v1::ListRunsRequest* request,
                                          v1::ListRunsResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  for (const RunStatus& run : runs_.ListRuns(request->limit())) {
    *response->add_runs() = ToProto(run);
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetRun(grpc::ServerContext* context,
                                        const v1::GetRunRequest* request, v1::Run* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<RunStatus> run = runs_.GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = ToProto(*run);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::LeaseJob(grpc::ServerContext* context,
                                          const v1::LeaseJobRequest* request,
                                          v1::LeaseJobResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::Status alive = agents_.Heartbeat(request->agent_id(), absl::Now());
  if (!alive.ok()) return ToGrpcStatus(alive);
  std::vector<std::string> vms = agents_.VmsOf(request->agent_id());
  const absl::Duration wait = absl::Milliseconds(std::clamp(request->wait_ms(), 0, 30000));
  const absl::Time deadline = absl::Now() + wait;
  // A VM being made ready for this agent's job: the job is handed out once it is.
  VmPreparations::Result prepared = preparations_->Take(request->agent_id(), wait);
  if (prepared.state == VmPreparations::Result::State::kNone) {
    std::optional<JobSpec> leased = runs_.Lease(request->agent_id(), vms, wait);
    if (leased && VmPreparations::Needs(*leased)) {
      preparations_->Start(request->agent_id(), *std::move(leased));
      prepared = preparations_->Take(request->agent_id(), deadline - absl::Now());
    } else if (leased) {
      prepared = {.state = VmPreparations::Result::State::kReady, .job = *std::move(leased)};
    }
  }
  std::optional<JobSpec> job;
  if (prepared.state == VmPreparations::Result::State::kFailed) {
    runs_.AbandonJob(prepared.job.job_id, std::string(prepared.error.message()));
    jobs_finished_->Add({{"verdict", "error"}}).Increment();
  } else if (prepared.state == VmPreparations::Result::State::kReady) {
    job = std::move(prepared.job);
  }
  if (job) {
    *response->mutable_job() = mosdat::ToProto(*job);
    // However large, the files follow through FetchJobFiles, in chunks.
    response->mutable_job()->clear_files();
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ReportEvents(
    grpc::ServerContext* context, grpc::ServerReaderWriter<v1::EventAck, v1::JobEvent>* stream) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  v1::JobEvent proto;
  std::string job_id;
  bool finished = false;
  while (stream->Read(&proto)) {
    Event event = FromProto(proto);
    job_id = event.job_id;
    // Written (and synced) before the ack: an acknowledged event is never lost.
    if (absl::Status s = runs_.Record(event); !s.ok()) {
      runs_.AbandonJob(job_id, absl::StrCat("agent sent an invalid event: ", s.message()));
      return ToGrpcStatus(s);
    }
    events_recorded_->Increment();
    if (event.type == EventType::kJobFinished) {
      finished = true;
      jobs_finished_->Add({{"verdict", std::string(ToString(event.verdict))}}).Increment();
    }
    v1::EventAck ack;
    ack.set_job_id(event.job_id);
    ack.set_seq(event.seq);
    if (!stream->Write(ack)) break;
  }
  if (!finished && !job_id.empty()) {
    runs_.AbandonJob(job_id, "the agent's event stream ended before the job finished");
    jobs_finished_->Add({{"verdict", "error"}}).Increment();
  }
  // Finished or abandoned: the VM is put back (a no-op for VMs that needed no preparing).
  if (!job_id.empty()) preparations_->Release(job_id);
  return grpc::Status::OK;
}

absl::StatusOr<std::vector<HostedService>> CreateCoordinatorServices(const ServiceContext& context,
                                                                     CoordinatorOptions options) {
  std::vector<HostedService> services;
  services.push_back({std::make_unique<CoordinatorService>(context, options),
                      v1::Coordinator::service_full_name()});
  return services;
}

}  // namespace mosdat

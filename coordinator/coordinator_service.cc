#include "coordinator/coordinator_service.h"

#include <grpcpp/security/auth_context.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "coordinator/event_stream.h"
#include "coordinator/matrix.h"
#include "coordinator/run_proto.h"
#include "coordinator/sqlite_store.h"
#include "core/job_files.h"
#include "core/secret_ref.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

MatrixRequest MatrixRequestOf(const Submission& s) {
  return MatrixRequest{.config_path = s.config_path,
                       .files = s.files,
                       .tests = s.tests,
                       .vms = s.vms,
                       .vars = s.vars,
                       .secrets = s.secrets,
                       .packages = s.packages,
                       .install_jobs = s.install_jobs,
                       .iterations = s.iterations,
                       .scenario_tests = s.scenario_tests};
}

absl::StatusOr<std::vector<JobSpec>> Expand(const Submission& submission) {
  absl::StatusOr<Matrix> matrix = ExpandMatrix(MatrixRequestOf(submission));
  if (!matrix.ok()) return matrix.status();
  for (JobSpec& job : matrix->jobs) {
    job.packages = submission.packages;
    job.pause_on_failure = submission.pause_on_failure;
    if (!job.smoke && !job.install_only) job.record_fps = submission.record_fps;
  }
  return std::move(matrix->jobs);
}

// The common name of a verified client certificate, or "" without one.
std::string PeerCommonName(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  for (const grpc::string_ref& name : auth->FindPropertyValues("x509_common_name")) {
    return std::string(name.data(), name.size());
  }
  return "";
}

}  // namespace

void AddCoordinatorFlags(CLI::App& app, CoordinatorFlags* flags) {
  app.add_option("--results-dir", flags->options.results_root,
                 "where runs write their evidence (<dir>/functional/<run>/...)")
      ->capture_default_str();
  app.add_option("--state-dir", flags->options.state_dir,
                 "where the run history lives (a SQLite database; default "
                 "<results-dir>/.mosdat-state); one coordinator per directory");
  app.add_option("--agent-token", flags->agent_token_ref,
                 "the token agents present (env:NAME or file:PATH); distinct from --token, "
                 "which users present");
  app.add_option("--job-retries", flags->options.retries,
                 "how many times a job whose attempt ended in an infrastructure error runs "
                 "again (test failures never do)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10));
  app.add_option("--lease-timeout", flags->lease_timeout_seconds,
                 "seconds without a heartbeat or event after which an agent's job is lost "
                 "and retried")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--heartbeat-interval", flags->heartbeat_seconds,
                 "seconds between the heartbeats agents are asked to send")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--max-artifact-bytes", flags->options.max_artifact_bytes,
                 "the largest package users may upload (bytes); uploads are kept by content "
                 "under <state-dir>/artifacts")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
}

absl::StatusOr<CoordinatorOptions> ResolveCoordinatorFlags(const CoordinatorFlags& flags) {
  CoordinatorOptions options = flags.options;
  if (flags.agent_token_ref.empty()) {
    return absl::InvalidArgumentError(
        "--agent-token is required: agents and users hold different credentials (an agent's "
        "cannot submit or cancel, a user's cannot lease jobs or report events)");
  }
  absl::StatusOr<std::string> token = SecretRef::ResolveText(flags.agent_token_ref);
  if (!token.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--agent-token: ", token.status().message()));
  }
  options.agent_token = *token;
  options.lease_timeout = absl::Seconds(flags.lease_timeout_seconds);
  options.heartbeat_interval = absl::Seconds(flags.heartbeat_seconds);
  // An agent is dead after three missed heartbeats, and never before its lease is.
  options.agent_liveness_timeout = std::min(options.lease_timeout, options.heartbeat_interval * 3);
  return options;
}

CoordinatorService::CoordinatorService(const ServiceContext& context, CoordinatorOptions options,
                                       std::shared_ptr<Store> store, std::unique_ptr<RunStore> runs,
                                       std::unique_ptr<ArtifactStore> artifacts,
                                       std::string private_state_dir)
    : users_(context.token),
      agents_auth_(options.agent_token.empty() ? context.token : options.agent_token),
      options_(options),
      agents_(options.agent_liveness_timeout),
      store_(std::move(store)),
      runs_(std::move(runs)),
      artifacts_(std::move(artifacts)),
      private_state_dir_(std::move(private_state_dir)),
      preparations_(options.preparations),
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
                            .Help("Job events written durably and acknowledged")
                            .Register(*context.metrics)
                            .Add({})),
      queue_depth_(&prometheus::BuildGauge()
                        .Name("mosdat_coordinator_queue_depth")
                        .Help("Jobs waiting for an agent, a VM, a GPU or their fair share")
                        .Register(*context.metrics)
                        .Add({})),
      jobs_by_state_(&prometheus::BuildGauge()
                          .Name("mosdat_coordinator_jobs")
                          .Help("Active jobs by state")
                          .Register(*context.metrics)),
      lease_expiries_(&prometheus::BuildCounter()
                           .Name("mosdat_coordinator_lease_expiries_total")
                           .Help("Leases lost because their agent went silent")
                           .Register(*context.metrics)
                           .Add({})),
      retries_(&prometheus::BuildCounter()
                    .Name("mosdat_coordinator_retries_total")
                    .Help("Job attempts queued again after an infrastructure error")
                    .Register(*context.metrics)
                    .Add({})),
      capacity_(&prometheus::BuildGauge()
                     .Name("mosdat_coordinator_agent_capacity")
                     .Help("Job slots of live agents")
                     .Register(*context.metrics)
                     .Add({})),
      slots_in_use_(&prometheus::BuildGauge()
                         .Name("mosdat_coordinator_agent_slots_in_use")
                         .Help("Job slots running or preparing a job")
                         .Register(*context.metrics)
                         .Add({})) {
  absl::StatusOr<std::vector<StoredAgent>> known = store_->Agents();
  if (known.ok()) {
    // Known but not alive until they register again.
    for (const StoredAgent& a : *known) {
      agents_
          .Register({.id = a.id,
                     .address = a.address,
                     .vms = a.vms,
                     .capacity = a.capacity,
                     .version = a.version},
                    a.last_seen - options_.agent_liveness_timeout - absl::Seconds(1))
          .IgnoreError();
    }
  }
  ticker_ = std::thread([this] { Tick(); });
}

CoordinatorService::~CoordinatorService() {
  {
    std::lock_guard lock(tick_mutex_);
    stopping_ = true;
  }
  tick_wakeup_.notify_all();
  ticker_.join();
  runs_.reset();
  store_.reset();
  if (!private_state_dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(private_state_dir_, ignored);
  }
}

void CoordinatorService::Tick() {
  const absl::Duration period =
      std::clamp(options_.lease_timeout / 4, absl::Milliseconds(100), absl::Seconds(1));
  std::unique_lock lock(tick_mutex_);
  while (
      !tick_wakeup_.wait_for(lock, absl::ToChronoMilliseconds(period), [&] { return stopping_; })) {
    lock.unlock();
    const absl::Time now = absl::Now();
    int expired = runs_->ExpireLeases(
        now, [&](const std::string& vm) { return agents_.LiveAgentDrives(vm, now); });
    if (expired > 0) lease_expiries_->Increment(expired);
    UpdateGauges();
    lock.lock();
  }
}

void CoordinatorService::UpdateGauges() {
  const absl::Time now = absl::Now();
  live_agents_gauge_->Set(static_cast<double>(agents_.LiveCount(now)));
  capacity_->Set(agents_.LiveCapacity(now));
  RunStoreCounts counts = runs_->Counts();
  queue_depth_->Set(counts.queued);
  jobs_by_state_->Add({{"state", "queued"}}).Set(counts.queued);
  jobs_by_state_->Add({{"state", "preparing"}}).Set(counts.preparing);
  jobs_by_state_->Add({{"state", "running"}}).Set(counts.running);
  slots_in_use_->Set(counts.preparing + counts.running);
  if (counts.retries > retries_seen_) {
    retries_->Increment(counts.retries - retries_seen_);
    retries_seen_ = counts.retries;
  }
}

grpc::Status CoordinatorService::Authorize(const grpc::ServerContextBase& context, Role role,
                                           const std::string& agent_id) const {
  const TokenAuth& wanted = role == Role::kUser ? users_ : agents_auth_;
  const TokenAuth& other = role == Role::kUser ? agents_auth_ : users_;
  if (grpc::Status s = wanted.Check(context); !s.ok()) {
    if (other.Check(context).ok()) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          role == Role::kUser
                              ? "an agent's credential cannot submit, watch or cancel runs"
                              : "a user's credential cannot register agents, lease jobs or "
                                "report events");
    }
    return s;
  }
  if (role == Role::kAgent) {
    const std::string name = PeerCommonName(context);
    if (!name.empty() && !agent_id.empty() && name != agent_id) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrCat("the client certificate is \"", name,
                                       "\"'s; it cannot act as agent \"", agent_id, "\""));
    }
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::RegisterAgent(grpc::ServerContext* context,
                                               const v1::RegisterAgentRequest* request,
                                               v1::RegisterAgentResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kAgent, request->agent_id()); !s.ok()) return s;
  AgentRecord record{.id = request->agent_id(),
                     .address = request->address(),
                     .vms = {request->vms().begin(), request->vms().end()},
                     .capacity = request->capacity() > 0 ? request->capacity() : 1,
                     .version = request->version()};
  const absl::Time now = absl::Now();
  if (absl::Status s = agents_.Register(record, now); !s.ok()) return ToGrpcStatus(s);
  store_
      ->Write({.agents = {{.id = record.id,
                           .address = record.address,
                           .vms = record.vms,
                           .capacity = std::clamp(record.capacity, 1, 1024),
                           .version = record.version,
                           .last_seen = now}}})
      .IgnoreError();  // a record for ListAgents after a restart; registration stands
  std::vector<std::pair<std::string, std::string>> held;
  for (const v1::HeldLease& lease : request->held()) {
    held.emplace_back(lease.job_id(), lease.lease_id());
  }
  for (const std::string& lost : runs_->Reclaim(record.id, held)) response->add_lost_jobs(lost);
  if (!held.empty()) {
    spdlog::info("agent {} registered again holding {} lease(s), {} lost", record.id, held.size(),
                 response->lost_jobs_size());
  }
  runs_->Poke();
  UpdateGauges();
  response->set_heartbeat_interval_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  response->set_lease_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.lease_timeout)));
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext* context,
                                           const v1::HeartbeatRequest* request,
                                           v1::HeartbeatResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kAgent, request->agent_id()); !s.ok()) return s;
  if (absl::Status s = agents_.Heartbeat(request->agent_id(), absl::Now()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  RunStore::Renewal renewal =
      runs_->Renew(request->agent_id(), {request->busy_jobs().begin(), request->busy_jobs().end()});
  for (const std::string& id : renewal.cancel) response->add_cancel_jobs(id);
  for (const std::string& id : renewal.lost) response->add_lost_jobs(id);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListAgents(grpc::ServerContext* context,
                                            const v1::ListAgentsRequest*,
                                            v1::ListAgentsResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
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

grpc::Status CoordinatorService::SubmitMatrix(grpc::ServerContext* context,
                                              const v1::SubmitMatrixRequest* request,
                                              v1::SubmitMatrixResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
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
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
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
  if (grpc::Status s = Authorize(*context, Role::kAgent, request->agent_id()); !s.ok()) return s;
  absl::StatusOr<Submission> submission =
      runs_->LeasedSubmission(request->job_id(), request->agent_id());
  if (!submission.ok()) return ToGrpcStatus(submission.status());
  if (!WriteFileChunks(submission->files,
                       [&](const v1::FileChunk& c) { return writer->Write(c); })) {
    return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::UploadArtifact(grpc::ServerContext* context,
                                                grpc::ServerReader<v1::ArtifactChunk>* reader,
                                                v1::UploadArtifactResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
  v1::ArtifactChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_artifact()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first chunk must declare the artifact (name, sha256, size)");
  }
  const ArtifactRef declared = FromProto(chunk.artifact());
  if (absl::Status s = CheckArtifactRef(declared, artifacts_->max_bytes()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  *response->mutable_artifact() = chunk.artifact();
  if (artifacts_->Has(declared.sha256)) {
    response->set_already_held(true);  // the rest is not read: the call ends here
    return grpc::Status::OK;
  }
  if (chunk.probe()) return grpc::Status::OK;  // not held: the client sends it next
  absl::StatusOr<std::unique_ptr<ArtifactStore::Upload>> upload = artifacts_->Begin(declared);
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  absl::Status appended = (*upload)->Append(chunk.data());
  while (appended.ok() && reader->Read(&chunk)) {
    if (chunk.has_artifact()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "only the first chunk declares the artifact");
    }
    appended = (*upload)->Append(chunk.data());
  }
  if (!appended.ok()) return ToGrpcStatus(appended);
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  if (absl::Status s = (*upload)->Commit(); !s.ok()) return ToGrpcStatus(s);
  spdlog::info("artifact {} ({} bytes, {}) uploaded", declared.name, declared.size,
               declared.sha256);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::FetchArtifact(grpc::ServerContext* context,
                                               const v1::FetchArtifactRequest* request,
                                               grpc::ServerWriter<v1::FileChunk>* writer) {
  if (grpc::Status s = Authorize(*context, Role::kAgent, request->agent_id()); !s.ok()) return s;
  absl::StatusOr<Submission> submission =
      runs_->LeasedSubmission(request->job_id(), request->agent_id());
  if (!submission.ok()) return ToGrpcStatus(submission.status());
  const ArtifactRef* package = nullptr;
  for (const ArtifactRef& p : submission->packages) {
    if (p.sha256 == request->sha256()) package = &p;
  }
  if (package == nullptr || !artifacts_->Has(package->sha256)) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("job ", request->job_id(), " has no package with SHA-256 ",
                                     request->sha256().substr(0, 64)));
  }
  std::ifstream in(artifacts_->PathOf(package->sha256), std::ios::binary);
  std::vector<char> buffer(kFileChunkBytes);
  bool first = true;
  uint64_t sent = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const size_t n = static_cast<size_t>(in.gcount());
    if (n == 0 && !first) break;
    v1::FileChunk chunk;
    chunk.set_path(package->name);
    chunk.set_data(buffer.data(), n);
    if (first) {
      chunk.set_first(true);
      chunk.set_size(package->size);
      first = false;
    }
    if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
    sent += n;
  }
  if (in.bad() || sent != package->size) {
    return grpc::Status(
        grpc::StatusCode::DATA_LOSS,
        absl::StrCat("the coordinator's copy of ", package->name, " could not be read whole"));
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Submit(const v1::SubmitMatrixRequest& request,
                                        std::map<std::string, std::string> files,
                                        v1::SubmitMatrixResponse* response) {
  Submission submission{
      .config_path = request.config_path(),
      .files = std::move(files),
      .tests = {request.tests().begin(), request.tests().end()},
      .vms = {request.vms().begin(), request.vms().end()},
      .secrets = {request.secrets().begin(), request.secrets().end()},
      .retries = request.has_retries() ? request.retries() : options_.retries,
      .install_jobs = static_cast<InstallJobs>(request.install_jobs()),
      .pause_on_failure = request.pause_on_failure(),
      .iterations = std::max(1, request.iterations()),
      .record_fps = request.record_fps(),
      .scenario_tests = {request.scenario_tests().begin(), request.scenario_tests().end()}};
  if (request.record_fps() < 0 || request.record_fps() > kMaxRecordFps) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("record_fps must be between 0 and ", kMaxRecordFps));
  }
  if (request.iterations() < 0 || request.iterations() > kMaxIterations) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("iterations must be between 1 and ", kMaxIterations));
  }
  if (!v1::InstallJobs_IsValid(request.install_jobs())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "install_jobs: unknown value");
  }
  if (submission.retries < 0 || submission.retries > 10) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "retries must be between 0 and 10");
  }
  for (const v1::ArtifactRef& proto : request.packages()) {
    ArtifactRef package = FromProto(proto);
    if (absl::Status s = CheckArtifactRef(package, artifacts_->max_bytes()); !s.ok()) {
      return ToGrpcStatus(s);
    }
    if (!artifacts_->Has(package.sha256)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("package ", package.name, " (SHA-256 ", package.sha256,
                                       ") is not on the coordinator: upload it first "
                                       "(UploadArtifact)"));
    }
    submission.packages.push_back(std::move(package));
  }
  for (const auto& [name, json] : request.vars()) {
    absl::StatusOr<Value> value = ValueFromJson(json);
    if (!value.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("vars[\"", name, "\"]: ", value.status().message()));
    }
    submission.vars[name] = *value;
  }
  absl::StatusOr<std::vector<JobSpec>> jobs = Expand(submission);
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  absl::Time now = absl::Now();
  for (const JobSpec& job : *jobs) {
    if (!agents_.LiveAgentDrives(job.vm.name, now)) {
      // The rig is missing a part: an infrastructure error (core/outcome.h), not a failure.
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("no live agent drives VM \"", job.vm.name,
                                       "\": start a mosdat-agent with --vm ", job.vm.name));
    }
  }
  absl::StatusOr<RunRecord> run =
      runs_->CreateRun(*std::move(jobs), std::move(submission), request.label());
  if (!run.ok()) return ToGrpcStatus(run.status());
  spdlog::info("run {}: {} job(s) queued", run->run_id, run->jobs.size());
  UpdateGauges();
  response->set_run_id(run->run_id);
  v1::Run proto = RunToProto(*run);
  response->mutable_jobs()->Swap(proto.mutable_jobs());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::WatchRun(grpc::ServerContext* context,
                                          const v1::WatchRunRequest* request,
                                          grpc::ServerWriter<v1::RunUpdate>* writer) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
  uint64_t after = request->after_seq();
  while (!context->IsCancelled()) {
    absl::StatusOr<std::vector<StoredUpdate>> updates =
        runs_->Updates(request->run_id(), after, absl::Milliseconds(500));
    if (!updates.ok()) return ToGrpcStatus(updates.status());
    for (const StoredUpdate& update : *updates) {
      std::optional<RunRecord> finished;
      if (update.kind == StoredUpdate::Kind::kRun) {
        absl::StatusOr<RunRecord> run = runs_->GetRun(request->run_id());
        if (!run.ok()) return ToGrpcStatus(run.status());
        finished = *std::move(run);
      }
      const bool last = finished.has_value();
      v1::RunUpdate out = UpdateToProto(update, finished ? &*finished : nullptr);
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
      after = update.seq;
      if (last) return grpc::Status::OK;
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status CoordinatorService::ListRuns(grpc::ServerContext* context,
                                          const v1::ListRunsRequest* request,
                                          v1::ListRunsResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
  absl::StatusOr<std::vector<RunRecord>> runs =
      runs_->ListRuns(std::clamp(request->limit(), 0, 10000));
  if (!runs.ok()) return ToGrpcStatus(runs.status());
  for (const RunRecord& run : *runs) *response->add_runs() = RunToProto(run);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetRun(grpc::ServerContext* context,
                                        const v1::GetRunRequest* request, v1::Run* response) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
  absl::StatusOr<RunRecord> run = runs_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  *response = RunToProto(*run);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::FetchEvidence(grpc::ServerContext* context,
                                               const v1::FetchEvidenceRequest* request,
                                               grpc::ServerWriter<v1::FileChunk>* writer) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
  absl::StatusOr<RunRecord> run = runs_->GetRun(request->run_id());
  if (!run.ok()) return ToGrpcStatus(run.status());
  std::error_code error;
  if (!std::filesystem::is_directory(run->results_dir, error)) {
    if (!run->done) return grpc::Status::OK;  // no job has written anything yet
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat("the evidence of run ", run->run_id,
                                                         " is no longer on the coordinator (",
                                                         run->results_dir, ")")));
  }
  absl::Status sent = SendDirectoryChunks(
      run->results_dir, [&](const v1::FileChunk& chunk) { return writer->Write(chunk); });
  if (absl::IsCancelled(sent)) return grpc::Status::CANCELLED;
  return ToGrpcStatus(sent);
}

grpc::Status CoordinatorService::CancelRun(grpc::ServerContext* context,
                                           const v1::CancelRunRequest* request,
                                           v1::CancelRunResponse* response) {
  if (grpc::Status s = Authorize(*context, Role::kUser); !s.ok()) return s;
  absl::StatusOr<RunStore::Cancelled> cancelled =
      runs_->Cancel(request->run_id(), "cancelled by a user (CancelRun)");
  if (!cancelled.ok()) return ToGrpcStatus(cancelled.status());
  spdlog::info("run {} cancelled: {} queued job(s) dropped, {} running job(s) stopping",
               request->run_id(), cancelled->queued, cancelled->stopping);
  response->set_cancelled_queued(cancelled->queued);
  response->set_stopping(cancelled->stopping);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::LeaseJob(grpc::ServerContext* context,
                                          const v1::LeaseJobRequest* request,
                                          v1::LeaseJobResponse* response) {
  const std::string& agent = request->agent_id();
  if (grpc::Status s = Authorize(*context, Role::kAgent, agent); !s.ok()) return s;
  if (absl::Status s = agents_.Heartbeat(agent, absl::Now()); !s.ok()) return ToGrpcStatus(s);
  std::optional<AgentSlots> slots = agents_.Slots(agent);
  if (!slots) return grpc::Status(grpc::StatusCode::NOT_FOUND, "agent is not registered");
  const absl::Duration wait = absl::Milliseconds(std::clamp(request->wait_ms(), 0, 30000));
  const absl::Time deadline = absl::Now() + wait;
  // A VM made ready for this agent's job: handed out once it is.
  VmPreparations::Result prepared = preparations_->Take(agent, absl::ZeroDuration());
  if (prepared.state != VmPreparations::Result::State::kReady &&
      prepared.state != VmPreparations::Result::State::kFailed) {
    std::optional<RunStore::Lease> leased = runs_->LeaseJob(
        *slots, wait, +[](const JobSpec& job) { return VmPreparations::Needs(job); });
    if (leased && VmPreparations::Needs(leased->spec)) {
      {
        std::lock_guard lock(preparing_mutex_);
        preparing_[leased->spec.job_id] = *leased;
      }
      preparations_->Start(agent, leased->spec);
      prepared = preparations_->Take(agent, deadline - absl::Now());
    } else if (leased) {
      v1::Job* job = response->mutable_job();
      *job = mosdat::ToProto(leased->spec);
      job->clear_files();  // however large, they follow through FetchJobFiles
      job->set_lease_id(leased->lease_id);
      job->set_attempt(leased->attempt);
      return grpc::Status::OK;
    } else if (prepared.state == VmPreparations::Result::State::kPending) {
      prepared = preparations_->Take(agent, deadline - absl::Now());
    }
  }
  if (prepared.state != VmPreparations::Result::State::kReady &&
      prepared.state != VmPreparations::Result::State::kFailed) {
    return grpc::Status::OK;  // nothing yet
  }
  RunStore::Lease lease;
  {
    std::lock_guard lock(preparing_mutex_);
    auto it = preparing_.find(prepared.job.job_id);
    if (it == preparing_.end()) return grpc::Status::OK;
    lease = it->second;
    preparing_.erase(it);
  }
  if (prepared.state == VmPreparations::Result::State::kFailed) {
    runs_->EndAttempt(prepared.job.job_id, lease.lease_id, std::string(prepared.error.message()));
    return grpc::Status::OK;
  }
  runs_->Prepared(prepared.job.job_id);
  v1::Job* job = response->mutable_job();
  *job = mosdat::ToProto(prepared.job);
  job->clear_files();
  job->set_lease_id(lease.lease_id);
  job->set_attempt(lease.attempt);
  return grpc::Status::OK;
}

grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck>* CoordinatorService::ReportEvents(
    grpc::CallbackServerContext* context) {
  if (grpc::Status s = Authorize(*context, Role::kAgent); !s.ok()) return RefusedEventStream(s);
  // Stored durably before the ack: an acknowledged event is never lost. A stream that
  // ends early is not the end of the job: its agent may reconnect and re-send; if it
  // does not, its lease expires.
  return NewEventStream(
      [this](std::span<const Event> events, const std::string& lease_id, size_t* recorded) {
        bool finished = false;
        absl::Status s = runs_->RecordAll(events, lease_id, recorded, &finished);
        events_recorded_->Increment(static_cast<double>(*recorded));
        if (finished) {
          const Event& last = events[*recorded - 1];
          jobs_finished_->Add({{"verdict", std::string(ToString(last.verdict))}}).Increment();
        }
        return s;
      });
}

absl::StatusOr<std::vector<HostedService>> CreateCoordinatorServices(const ServiceContext& context,
                                                                     CoordinatorOptions options) {
  std::string state_dir = options.state_dir.empty()
                              ? (fs::path(options.results_root) / ".mosdat-state").string()
                              : options.state_dir;
  auto* commit_seconds =
      &prometheus::BuildHistogram()
           .Name("mosdat_coordinator_store_write_seconds")
           .Help("Time to commit one batch of writes to the state database")
           .Register(*context.metrics)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01,
                                                            0.025, 0.05, 0.1, 0.25, 1});
  SqliteStoreOptions store_options{.dir = state_dir,
                                   .on_commit = [commit_seconds](absl::Duration d, int) {
                                     commit_seconds->Observe(absl::ToDoubleSeconds(d));
                                   }};
  std::string private_dir;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(store_options);
  if (!store.ok() && store.status().code() == absl::StatusCode::kFailedPrecondition &&
      options.private_state_when_busy) {
    std::string pattern = (fs::temp_directory_path() / "mosdat-state-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::UnavailableError("cannot create a private state directory");
    }
    private_dir = pattern;
    spdlog::warn("{}; this run's history is kept in {} and removed at exit",
                 std::string(store.status().message()), private_dir);
    store_options.dir = private_dir;
    store = OpenSqliteStore(store_options);
  }
  if (!store.ok()) return store.status();
  std::shared_ptr<Store> shared = std::move(*store);
  if (options.preparations == nullptr) {
    options.preparations = std::make_shared<VmPreparations>(options.provisioner);
  }
  absl::StatusOr<std::unique_ptr<RunStore>> runs = RunStore::Open(
      {.results_root = options.results_root,
       .store = shared,
       .lease_timeout = options.lease_timeout,
       .unschedulable_timeout = options.unschedulable_timeout,
       .expand = Expand,
       .resume = options.resume_runs,
       // Finished, or to be retried: the VM is put back either way.
       .on_attempt_end = [preparations = options.preparations](const std::string& job_id) {
         preparations->Release(job_id);
       }});
  if (!runs.ok()) return runs.status();
  absl::StatusOr<std::unique_ptr<ArtifactStore>> artifacts = ArtifactStore::Open(
      (fs::path(store_options.dir) / "artifacts").string(), options.max_artifact_bytes);
  if (!artifacts.ok()) return artifacts.status();
  std::vector<HostedService> services;
  services.push_back(
      {std::make_unique<CoordinatorService>(context, options, shared, std::move(*runs),
                                            std::move(*artifacts), private_dir),
       v1::Coordinator::service_full_name()});
  return services;
}

}  // namespace mosdat

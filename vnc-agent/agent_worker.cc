#include "vnc-agent/agent_worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/job_files.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"
#include "vnc-agent/event_channel.h"

namespace mosdat {
namespace {

constexpr int kLeaseWaitMs = 1000;
constexpr absl::Duration kRetryPause = absl::Milliseconds(500);

std::chrono::system_clock::time_point In(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

}  // namespace

namespace {

// $XDG_CACHE_HOME/mosdat/artifacts, else ~/.cache/mosdat/artifacts: the user's own, not
// a shared temporary directory another user could prepare.
std::string DefaultArtifactDir() {
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache != nullptr && *cache == '/') {
    return absl::StrCat(cache, "/mosdat/artifacts");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') {
    return absl::StrCat(home, "/.cache/mosdat/artifacts");
  }
  return absl::StrCat(std::filesystem::temp_directory_path().string(), "/mosdat-artifacts-",
                      getuid());
}

}  // namespace

AgentWorker::AgentWorker(std::shared_ptr<grpc::Channel> coordinator, AgentWorkerOptions options)
    : stub_(v1::Coordinator::NewStub(std::move(coordinator))),
      options_(std::move(options)),
      artifacts_(options_.artifact_dir.empty() ? DefaultArtifactDir() : options_.artifact_dir) {}

AgentWorker::~AgentWorker() { Stop(); }

absl::Status AgentWorker::Register() {
  grpc::ClientContext context;
  AttachToken(context, options_.token);
  context.set_deadline(In(absl::Seconds(10)));
  v1::RegisterAgentRequest request;
  request.set_agent_id(options_.agent_id);
  request.set_address(options_.address);
  for (const std::string& vm : options_.vms) request.add_vms(vm);
  request.set_version("0.1.0");
  request.set_capacity(std::max(1, options_.capacity));
  {
    std::lock_guard lock(mutex_);
    for (const auto& [job_id, job] : active_) {
      v1::HeldLease* held = request.add_held();
      held->set_job_id(job_id);
      held->set_lease_id(job.lease_id);
    }
  }
  v1::RegisterAgentResponse response;
  grpc::Status status = stub_->RegisterAgent(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot register with the coordinator: ", status.error_message()));
  }
  std::lock_guard lock(mutex_);
  if (response.heartbeat_interval_ms() > 0) {
    heartbeat_interval_ = absl::Milliseconds(response.heartbeat_interval_ms());
  }
  for (const std::string& job_id : response.lost_jobs()) {
    auto it = active_.find(job_id);
    if (it != active_.end()) {
      it->second.control->Lose("the coordinator no longer holds this agent's lease");
    }
  }
  ++registrations_;
  return absl::OkStatus();
}

void AgentWorker::RegisterAgain() {
  std::unique_lock lock(mutex_);
  if (registering_) {
    const uint64_t seen = registrations_;
    wakeup_.wait_for(lock, std::chrono::seconds(10),
                     [&] { return stopping_ || registrations_ != seen || !registering_; });
    return;
  }
  registering_ = true;
  lock.unlock();
  absl::Status s = Register();
  if (s.ok()) {
    spdlog::info("registered again with the coordinator (it had forgotten this agent)");
  } else if (!stopping_) {
    spdlog::warn("{}", std::string(s.message()));
  }
  lock.lock();
  registering_ = false;
  wakeup_.notify_all();
}

absl::Status AgentWorker::Start() {
  if (absl::Status s = Register(); !s.ok()) return s;
  threads_.emplace_back([this] { HeartbeatLoop(); });
  for (int i = 0; i < std::max(1, options_.capacity); ++i) {
    threads_.emplace_back([this] { SlotLoop(); });
  }
  return absl::OkStatus();
}

void AgentWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (grpc::ClientContext* pending : pending_leases_) pending->TryCancel();
  }
  wakeup_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

bool AgentWorker::Pause(absl::Duration d) {
  std::unique_lock lock(mutex_);
  wakeup_.wait_for(lock, absl::ToChronoMilliseconds(d), [&] { return stopping_.load(); });
  return !stopping_;
}

void AgentWorker::HeartbeatLoop() {
  // Independent of the jobs: a busy agent stays alive and keeps its leases.
  for (;;) {
    absl::Duration interval;
    v1::HeartbeatRequest request;
    request.set_agent_id(options_.agent_id);
    {
      std::lock_guard lock(mutex_);
      interval = heartbeat_interval_;
      for (const auto& [job_id, job] : active_) request.add_busy_jobs(job_id);
    }
    if (!Pause(interval)) return;
    grpc::ClientContext context;
    AttachToken(context, options_.token);
    context.set_deadline(In(absl::Seconds(10)));
    v1::HeartbeatResponse response;
    grpc::Status status = stub_->Heartbeat(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      RegisterAgain();
      continue;
    }
    if (!status.ok()) {
      spdlog::debug("heartbeat failed: {}", status.error_message());
      continue;
    }
    std::lock_guard lock(mutex_);
    for (const std::string& job_id : response.cancel_jobs()) {
      auto it = active_.find(job_id);
      if (it != active_.end() && !it->second.control->stop_requested()) {
        spdlog::info("job {}: cancelled by a user; stopping at the next step", job_id);
        it->second.control->Cancel("cancelled by a user (mosdat cancel)");
      }
    }
    for (const std::string& job_id : response.lost_jobs()) {
      auto it = active_.find(job_id);
      if (it != active_.end() && !it->second.control->lost()) {
        spdlog::warn("job {}: the coordinator gave its lease away; stopping it", job_id);
        it->second.control->Lose("the coordinator gave the job's lease away");
      }
    }
  }
}

void AgentWorker::SlotLoop() {
  while (!stopping_) {
    grpc::ClientContext context;
    AttachToken(context, options_.token);
    context.set_deadline(In(absl::Milliseconds(kLeaseWaitMs + 5000)));
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      pending_leases_.insert(&context);
    }
    v1::LeaseJobRequest request;
    request.set_agent_id(options_.agent_id);
    request.set_wait_ms(kLeaseWaitMs);
    v1::LeaseJobResponse response;
    grpc::Status status = stub_->LeaseJob(&context, request, &response);
    {
      std::lock_guard lock(mutex_);
      pending_leases_.erase(&context);
    }
    if (stopping_) return;
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      RegisterAgain();
      continue;
    }
    if (!status.ok()) {
      spdlog::warn("lease failed: {}", status.error_message());
      Pause(absl::Seconds(1));  // back off before asking again
      continue;
    }
    if (response.has_job()) {
      v1::Job job = response.job();
      {
        std::lock_guard lock(mutex_);
        active_[job.job_id()] = ActiveJob{.lease_id = job.lease_id()};
      }
      absl::Status fetched = FetchFiles(&job);
      RunOne(job, fetched);
      std::lock_guard lock(mutex_);
      active_.erase(job.job_id());
    }
  }
}

absl::Status AgentWorker::FetchFiles(v1::Job* job) {
  // The lease carries no files; they come in chunks, however large the suite.
  grpc::ClientContext context;
  AttachToken(context, options_.token);
  v1::FetchJobFilesRequest request;
  request.set_agent_id(options_.agent_id);
  request.set_job_id(job->job_id());
  auto reader = stub_->FetchJobFiles(&context, request);
  FileAssembler assembler(kMaxJobFilesBytes);
  absl::Status assembled = absl::OkStatus();
  v1::FileChunk chunk;
  while (reader->Read(&chunk)) {
    if (assembled.ok()) assembled = assembler.Add(chunk);
  }
  grpc::Status status = reader->Finish();
  std::map<std::string, std::string> files;
  if (assembled.ok()) assembled = assembler.Finish(&files);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot fetch the job's files from the coordinator: ", status.error_message()));
  }
  if (!assembled.ok()) {
    return absl::Status(assembled.code(),
                        absl::StrCat("the job's files arrived broken: ", assembled.message()));
  }
  for (auto& [path, contents] : files) (*job->mutable_files())[path] = std::move(contents);
  return absl::OkStatus();
}

absl::Status AgentWorker::FetchPackages(const v1::Job& proto_job, JobSpec* job) {
  if (!job->deploy) return absl::OkStatus();
  for (PackageInstallPlan& package : job->deploy->packages) {
    if (package.sha256.empty()) continue;  // a store install: nothing to upload
    auto ref = std::find_if(job->packages.begin(), job->packages.end(),
                            [&](const ArtifactRef& p) { return p.sha256 == package.sha256; });
    if (ref == job->packages.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(package.label, ": its package is not one of the job's"));
    }
    absl::StatusOr<std::string> path = artifacts_.Get(*ref, [&](const auto& sink) {
      grpc::ClientContext context;
      AttachToken(context, options_.token);
      v1::FetchArtifactRequest request;
      request.set_agent_id(options_.agent_id);
      request.set_job_id(proto_job.job_id());
      request.set_sha256(ref->sha256);
      auto reader = stub_->FetchArtifact(&context, request);
      absl::Status kept = absl::OkStatus();
      v1::FileChunk chunk;
      while (kept.ok() && reader->Read(&chunk)) kept = sink(chunk.data());
      if (!kept.ok()) context.TryCancel();
      grpc::Status status = reader->Finish();
      if (!kept.ok()) return kept;
      if (!status.ok()) {
        return absl::UnavailableError(
            absl::StrCat("the coordinator did not send it: ", status.error_message()));
      }
      return absl::OkStatus();
    });
    if (!path.ok()) {
      return absl::Status(path.status().code(),
                          absl::StrCat("cannot fetch package \"", ref->name, "\" (", package.label,
                                       "): ", path.status().message()));
    }
    package.local_path = *path;
  }
  return absl::OkStatus();
}

void AgentWorker::RunOne(const v1::Job& proto_job, const absl::Status& files) {
  std::shared_ptr<CancelToken> control;
  {
    std::lock_guard lock(mutex_);
    control = active_.at(proto_job.job_id()).control;
  }
  EventChannel channel(stub_.get(), options_.token);
  const int attempt = std::max(1, proto_job.attempt());
  EmitEvent emit = [&](Event event) -> absl::Status {
    if (control->lost()) return absl::FailedPreconditionError("the coordinator took the job away");
    event.job_attempt = attempt;
    v1::JobEvent proto = ToProto(event);
    proto.set_lease_id(proto_job.lease_id());
    // The last event waits for its ack (and those of all before it): the job is over
    // once the coordinator has stored it.
    const bool last = event.type == EventType::kJobFinished;
    const absl::Time give_up = absl::Now() + options_.reconnect_deadline;
    for (;;) {
      absl::Status sent = channel.Send(proto);
      if (sent.ok() && last) sent = channel.Flush();
      if (sent.ok() || sent.code() != absl::StatusCode::kUnavailable) {
        if (!sent.ok()) control->Lose(std::string(sent.message()));
        return sent;
      }
      if (absl::Now() >= give_up || control->lost()) {
        return absl::UnavailableError(absl::StrCat(
            "the coordinator has been unreachable since an event could not be delivered (",
            sent.message(), ")"));
      }
      spdlog::warn("job {}: {}; sending again", proto_job.job_id(), std::string(sent.message()));
      // Wait for the coordinator; it may have restarted and forgotten this agent.
      if (!Pause(kRetryPause)) return absl::UnavailableError("the agent is stopping");
    }
  };
  absl::StatusOr<JobSpec> job = files.ok() ? FromProto(proto_job) : files;
  if (job.ok()) {
    if (absl::Status fetched = FetchPackages(proto_job, &*job); !fetched.ok()) job = fetched;
  }
  if (!job.ok()) {
    Event finished = Event::Of(EventType::kJobFinished);
    finished.job_id = proto_job.job_id();
    finished.seq = 1;
    finished.verdict = JobVerdict::kError;
    finished.reason = absl::StrCat("the agent could not read the job: ", job.status().message());
    emit(finished).IgnoreError();
  } else {
    JobVerdict verdict = ExecuteJob(*job, emit, options_.vlm, control, options_.jobs.get());
    spdlog::info("job {} on {}: {}", job->job_id, job->vm.name, ToString(verdict));
  }
  grpc::Status status = channel.Close();
  if (!status.ok()) spdlog::warn("event stream ended: {}", status.error_message());
}

}  // namespace mosdat

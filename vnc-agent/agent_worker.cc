#include "vnc-agent/agent_worker.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "core/job_files.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"
#include "vnc-agent/steps/job_executor.h"

namespace mosdat {
namespace {

constexpr int kLeaseWaitMs = 1000;

}  // namespace

AgentWorker::AgentWorker(std::shared_ptr<grpc::Channel> coordinator, AgentWorkerOptions options)
    : stub_(v1::Coordinator::NewStub(std::move(coordinator))), options_(std::move(options)) {}

AgentWorker::~AgentWorker() { Stop(); }

absl::Status AgentWorker::Start() {
  grpc::ClientContext context;
  AttachToken(context, options_.token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RegisterAgentRequest request;
  request.set_agent_id(options_.agent_id);
  request.set_address(options_.address);
  for (const std::string& vm : options_.vms) request.add_vms(vm);
  request.set_version("0.1.0");
  v1::RegisterAgentResponse response;
  grpc::Status status = stub_->RegisterAgent(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot register with the coordinator: ", status.error_message()));
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void AgentWorker::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void AgentWorker::Loop() {
  while (!stopping_) {
    // The lease long-poll doubles as the heartbeat: the coordinator marks the agent
    // seen on each call.
    grpc::ClientContext context;
    AttachToken(context, options_.token);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(kLeaseWaitMs + 5000));
    v1::LeaseJobRequest request;
    request.set_agent_id(options_.agent_id);
    request.set_wait_ms(kLeaseWaitMs);
    v1::LeaseJobResponse response;
    grpc::Status status = stub_->LeaseJob(&context, request, &response);
    if (!status.ok()) {
      if (!stopping_) spdlog::warn("lease failed: {}", status.error_message());
      // Back off before asking again; wakes early on Stop().
      for (int i = 0; i < 20 && !stopping_; ++i) absl::SleepFor(absl::Milliseconds(50));
      continue;
    }
    if (response.has_job()) {
      v1::Job job = response.job();
      absl::Status fetched = FetchFiles(&job);
      RunOne(job, fetched);
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

void AgentWorker::RunOne(const v1::Job& proto_job, const absl::Status& files) {
  grpc::ClientContext context;
  AttachToken(context, options_.token);
  auto stream = stub_->ReportEvents(&context);
  // Sends one event and waits for its acknowledgement: the coordinator acks only once
  // the event is written, so a crash on either side loses nothing acknowledged.
  EmitEvent emit = [&](Event event) -> absl::Status {
    uint64_t seq = event.seq;
    if (!stream->Write(ToProto(event))) {
      return absl::UnavailableError("the coordinator closed the event stream");
    }
    v1::EventAck ack;
    if (!stream->Read(&ack) || ack.seq() != seq) {
      return absl::UnavailableError("the coordinator did not acknowledge an event");
    }
    return absl::OkStatus();
  };
  absl::StatusOr<JobSpec> job = files.ok() ? FromProto(proto_job) : files;
  if (!job.ok()) {
    Event finished = Event::Of(EventType::kJobFinished);
    finished.job_id = proto_job.job_id();
    finished.seq = 1;
    finished.verdict = JobVerdict::kError;
    finished.reason = absl::StrCat("the agent could not read the job: ", job.status().message());
    emit(finished).IgnoreError();
  } else {
    JobVerdict verdict = ExecuteJob(*job, emit, options_.vlm);
    spdlog::info("job {} on {}: {}", job->job_id, job->vm.name, ToString(verdict));
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!status.ok()) spdlog::warn("event stream ended: {}", status.error_message());
}

}  // namespace mosdat

#include "cli/evidence_fetch.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

// Long enough for gigabytes over a slow link; a coordinator that stops sending does not
// hold the command forever.
constexpr auto kFetchDeadline = std::chrono::minutes(30);

void Relocate(const std::string& from, const std::string& to, std::string* path) {
  if (*path == from) {
    *path = to;
  } else if (path->starts_with(from + "/")) {
    *path = to + path->substr(from.size());
  }
}

}  // namespace

absl::StatusOr<FetchedEvidence> FetchRunEvidence(v1::Coordinator::Stub& coordinator,
                                                 const std::string& token,
                                                 const std::string& results_root, v1::Run* run) {
  const std::string remote = run->results_dir();
  std::error_code error;
  if (remote.empty() || fs::is_directory(remote, error)) return FetchedEvidence{};
  if (!IsPlainFileName(run->run_id())) {
    return absl::InvalidArgumentError(absl::StrCat("the coordinator named the run \"",
                                                   run->run_id().substr(0, 100),
                                                   "\", which is not a plain directory name"));
  }
  const fs::path local = fs::path(results_root) / "functional" / run->run_id();
  const fs::path staging = fs::path(local.string() + absl::StrCat(".partial-", getpid()));
  fs::remove_all(staging, error);
  fs::create_directories(staging, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", staging.string(), ": ", error.message()));
  }
  FileChunkWriter writer(staging.string(), kMaxEvidenceBytes, kMaxEvidenceFiles);
  grpc::ClientContext context;
  AttachToken(context, token);
  context.set_deadline(std::chrono::system_clock::now() + kFetchDeadline);
  v1::FetchEvidenceRequest request;
  request.set_run_id(run->run_id());
  std::unique_ptr<grpc::ClientReader<v1::FileChunk>> reader =
      coordinator.FetchEvidence(&context, request);
  v1::FileChunk chunk;
  absl::Status status;
  while (status.ok() && reader->Read(&chunk)) status = writer.Add(chunk);
  if (!status.ok()) {
    context.TryCancel();  // the rest is not wanted
  } else {
    status = writer.Finish();
  }
  grpc::Status finished = reader->Finish();
  if (status.ok() && !finished.ok()) status = FromGrpcStatus(finished);
  if (status.ok()) {
    fs::remove_all(local, error);
    fs::rename(staging, local, error);
    if (error) {
      status = absl::InternalError(
          absl::StrCat("cannot move the copy to ", local.string(), ": ", error.message()));
    }
  }
  if (!status.ok()) {
    fs::remove_all(staging, error);
    return status;
  }
  const std::string to = local.string();
  Relocate(remote, to, run->mutable_results_dir());
  for (v1::Job& job : *run->mutable_jobs()) {
    Relocate(remote, to, job.mutable_results_dir());
    for (v1::JobAttempt& attempt : *job.mutable_attempts()) {
      Relocate(remote, to, attempt.mutable_results_dir());
    }
  }
  return FetchedEvidence{.copied = true, .files = writer.files(), .bytes = writer.bytes()};
}

void FetchRunEvidenceSaying(v1::Coordinator::Stub& coordinator, const std::string& token,
                            const std::string& results_root, const std::string& command,
                            v1::Run* run) {
  const std::string remote = run->results_dir();
  absl::StatusOr<FetchedEvidence> fetched = FetchRunEvidence(coordinator, token, results_root, run);
  if (!fetched.ok()) {
    std::cerr << command << ": warning: the evidence stays on the coordinator's machine (" << remote
              << "): " << fetched.status().message() << "\n";
  } else if (fetched->copied) {
    std::cerr << "evidence: " << fetched->files << " file(s), " << fetched->bytes
              << " bytes, copied from the coordinator to " << run->results_dir() << "\n";
  }
}

}  // namespace mosdat

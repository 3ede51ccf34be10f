#include "runtime/evidence_copy.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "runtime/file_chunks.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr char kPartial[] = ".partial-";
constexpr char kReplaced[] = ".replaced-";

// Leftovers of copies whose process is gone (killed mid-copy): removed.
void RemoveStaleLeftovers(const fs::path& local) {
  std::error_code error;
  const std::string name = local.filename().string();
  for (const auto& entry : fs::directory_iterator(local.parent_path(), error)) {
    const std::string other = entry.path().filename().string();
    for (const char* kind : {kPartial, kReplaced}) {
      const std::string prefix = name + kind;
      int pid = 0;
      if (!absl::StartsWith(other, prefix) ||
          !absl::SimpleAtoi(other.substr(prefix.size()), &pid) || pid <= 0) {
        continue;
      }
      if (kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), error);
    }
  }
}

// Points `path` from the coordinator's run directory to the copy; a path outside it is
// not the run's evidence, whatever the coordinator says, and is dropped.
void Relocate(const std::string& from, const std::string& to, std::string* path) {
  if (*path == from) {
    *path = to;
  } else if (path->starts_with(from + "/")) {
    *path = to + path->substr(from.size());
  } else {
    path->clear();
  }
}

absl::Status Receive(const std::function<bool(v1::FileChunk*)>& next,
                     const std::function<absl::Status(bool)>& finish, FileChunkWriter& writer) {
  v1::FileChunk chunk;
  absl::Status refused;
  while (refused.ok() && next(&chunk)) refused = writer.Add(chunk);
  // How the stream ended comes first: a cut connection is said as such, not as the
  // truncated file it left.
  absl::Status ended = finish(!refused.ok());
  if (!refused.ok()) return refused;
  if (!ended.ok()) return ended;
  return writer.Finish();
}

// Moves `staging` to `local`, replacing an earlier copy there (kept if the move fails).
absl::Status SwapIn(const fs::path& staging, const fs::path& local) {
  std::error_code error;
  const fs::path replaced = local.string() + absl::StrCat(kReplaced, getpid());
  const bool had_copy = fs::exists(local, error);
  if (had_copy) {
    if (!fs::exists(local / kEvidenceCopyMarker, error)) {
      return absl::AlreadyExistsError(
          absl::StrCat(local.string(), " holds a run of this machine, not an earlier copy"));
    }
    fs::rename(local, replaced, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot move the earlier copy ", local.string(), ": ", error.message()));
    }
  }
  fs::rename(staging, local, error);
  if (error) {
    std::error_code ignored;
    if (had_copy) fs::rename(replaced, local, ignored);
    return absl::InternalError(
        absl::StrCat("cannot move the copy to ", local.string(), ": ", error.message()));
  }
  if (had_copy) fs::remove_all(replaced, error);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CopiedEvidence> CopyRunEvidence(const std::function<bool(v1::FileChunk*)>& next,
                                               const std::function<absl::Status(bool)>& finish,
                                               const std::string& results_root, v1::Run* run) {
  const std::string& id = run->run_id();
  if (!IsPlainFileName(id) || id.starts_with(".")) {
    (void)finish(true);
    return absl::InvalidArgumentError(absl::StrCat(
        "the coordinator named the run \"", id.substr(0, 100), "\", which is not a plain name"));
  }
  const fs::path local = fs::path(results_root) / "functional" / id;
  const fs::path staging = local.string() + absl::StrCat(kPartial, getpid());
  std::error_code error;
  fs::create_directories(local.parent_path(), error);
  RemoveStaleLeftovers(local);
  fs::remove_all(staging, error);
  fs::create_directory(staging, error);
  if (error) {
    (void)finish(true);
    return absl::InternalError(
        absl::StrCat("cannot create ", staging.string(), ": ", error.message()));
  }
  FileChunkWriter writer(staging.string(), kMaxEvidenceBytes, kMaxEvidenceFiles);
  absl::Status status = Receive(next, finish, writer);
  if (status.ok() && writer.files() > 0) {
    status =
        WriteFileAtomically((staging / kEvidenceCopyMarker).string(), run->results_dir() + "\n");
    if (status.ok()) status = SwapIn(staging, local);
  }
  fs::remove_all(staging, error);
  if (!status.ok()) return status;
  if (writer.files() == 0) return CopiedEvidence{};
  const std::string from = run->results_dir();
  const std::string to = local.string();
  Relocate(from, to, run->mutable_results_dir());
  for (v1::Job& job : *run->mutable_jobs()) {
    Relocate(from, to, job.mutable_results_dir());
    for (v1::JobAttempt& attempt : *job.mutable_attempts()) {
      Relocate(from, to, attempt.mutable_results_dir());
    }
  }
  return CopiedEvidence{.files = writer.files(), .bytes = writer.bytes()};
}

}  // namespace mosdat

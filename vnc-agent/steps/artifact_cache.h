// ArtifactCache: the packages of leased jobs on the agent's disk, kept by content as
// <dir>/<sha256> (an ArtifactStore, core/artifact_store.h), so the jobs of a run fetch
// each package once. A file is only ever there whole and with the SHA-256 its name
// says, and a held one is checked again before it is used. Whatever sends the bytes
// (the coordinator, over gRPC) is untrusted.
#ifndef MOSDAT_VNC_AGENT_STEPS_ARTIFACT_CACHE_H_
#define MOSDAT_VNC_AGENT_STEPS_ARTIFACT_CACHE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/artifact_store.h"
#include "core/job.h"

namespace mosdat {

// Hands each piece of the file to `sink`, in order; stops at the first error `sink`
// returns, and returns it.
using ArtifactSource =
    std::function<absl::Status(const std::function<absl::Status(std::string_view)>& sink)>;

class ArtifactCache {
 public:
  // The directory is opened (created, half downloads removed) at the first Get.
  explicit ArtifactCache(std::string dir) : dir_(std::move(dir)) {}

  // The local path of `ref`: the file held, or fetched from `source` first.
  // InvalidArgument for a reference that is not a plain name and a SHA-256; DataLoss
  // when the bytes do not match it (nothing is kept); Unavailable when the source or
  // the disk fails.
  absl::StatusOr<std::string> Get(const ArtifactRef& ref, const ArtifactSource& source);

  const std::string& dir() const { return dir_; }

 private:
  absl::StatusOr<ArtifactStore*> Store();

  std::string dir_;
  std::mutex mutex_;
  std::unique_ptr<ArtifactStore> store_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_ARTIFACT_CACHE_H_

// ArtifactStore: packages (and other build artifacts) kept by content in a directory:
// the coordinator's copies of what users upload (<state-dir>/artifacts/<sha256>), and
// each agent's cache of what its jobs deploy (vnc-agent/steps/artifact_cache.h). An
// upload is written to a temporary file and becomes visible only once its size and
// SHA-256 match what the uploader declared, fsync'd and renamed into place: a half
// upload (a client or the process killed) never looks complete. Thread-safe; no gRPC
// types.
#ifndef MOSDAT_CORE_ARTIFACT_STORE_H_
#define MOSDAT_CORE_ARTIFACT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/job.h"

namespace mosdat {

// The largest artifact accepted unless configured: an Electron app's packages are
// 100-200 MB, a Windows installer with its runtime more.
inline constexpr uint64_t kDefaultMaxArtifactBytes = uint64_t{8} << 30;

// InvalidArgument unless `ref` names a plain file (no directory part, no control
// characters, at most 255 bytes), a lower-case hex SHA-256 and a size up to `max_bytes`.
absl::Status CheckArtifactRef(const ArtifactRef& ref, uint64_t max_bytes);

class ArtifactStore {
 public:
  // Creates `dir` (0700) when missing and removes uploads a crash left half done.
  static absl::StatusOr<std::unique_ptr<ArtifactStore>> Open(std::string dir, uint64_t max_bytes);

  bool Has(const std::string& sha256) const;
  // Where a held artifact's bytes are (read-only for callers).
  std::string PathOf(const std::string& sha256) const;
  uint64_t max_bytes() const { return max_bytes_; }

  // One upload in progress. Destroying it without Commit() discards what was written.
  class Upload {
   public:
    virtual ~Upload() = default;
    // InvalidArgument once more bytes arrive than the declared size.
    virtual absl::Status Append(std::string_view data) = 0;
    // Checks size and SHA-256 against the declaration (InvalidArgument saying which
    // differs) and makes the artifact visible. Committing one already held is OK.
    virtual absl::Status Commit() = 0;
  };
  // Starts receiving `ref` (checked with CheckArtifactRef).
  absl::StatusOr<std::unique_ptr<Upload>> Begin(const ArtifactRef& ref);

 private:
  ArtifactStore(std::string dir, uint64_t max_bytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string dir_;
  uint64_t max_bytes_;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_ARTIFACT_STORE_H_

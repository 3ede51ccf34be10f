#include "vnc-agent/steps/artifact_cache.h"

#include "absl/strings/str_cat.h"
#include "core/sha256.h"

namespace mosdat {
namespace {

// Whatever size the coordinator was allowed to take (its --max-artifact-bytes bound).
constexpr uint64_t kMaxCachedBytes = uint64_t{1} << 40;

// The store refuses bytes that do not match their reference as InvalidArgument (an
// uploader's mistake); here they are what arrived broken.
absl::Status Arrived(absl::Status status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return status;
  return absl::DataLossError(status.message());
}

}  // namespace

absl::StatusOr<ArtifactStore*> ArtifactCache::Store() {
  std::lock_guard lock(mutex_);
  if (store_ == nullptr) {
    absl::StatusOr<std::unique_ptr<ArtifactStore>> opened =
        ArtifactStore::Open(dir_, kMaxCachedBytes);
    if (!opened.ok()) {
      return absl::UnavailableError(absl::StrCat("the package cache: ", opened.status().message()));
    }
    store_ = *std::move(opened);
  }
  return store_.get();
}

absl::StatusOr<std::string> ArtifactCache::Get(const ArtifactRef& ref,
                                               const ArtifactSource& source) {
  if (absl::Status s = CheckArtifactRef(ref, kMaxCachedBytes); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("package \"", ref.name.substr(0, 80), "\": ", s.message()));
  }
  absl::StatusOr<ArtifactStore*> store = Store();
  if (!store.ok()) return store.status();
  const std::string path = (*store)->PathOf(ref.sha256);
  if ((*store)->Has(ref.sha256)) {
    // Held: checked again, as the disk (or a person) may have changed it since.
    absl::StatusOr<std::string> digest = Sha256OfFile(path);
    if (digest.ok() && *digest == ref.sha256) return path;
  }
  absl::StatusOr<std::unique_ptr<ArtifactStore::Upload>> upload = (*store)->Begin(ref);
  if (!upload.ok()) return upload.status();
  absl::Status fetched =
      source([&](std::string_view piece) { return Arrived((*upload)->Append(piece)); });
  if (fetched.ok()) fetched = Arrived((*upload)->Commit());
  if (!fetched.ok()) {
    return absl::Status(fetched.code(),
                        absl::StrCat("package \"", ref.name, "\": ", fetched.message()));
  }
  return path;
}

}  // namespace mosdat

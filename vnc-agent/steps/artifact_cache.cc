#include "vnc-agent/steps/artifact_cache.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"

namespace mosdat {
namespace fs = std::filesystem;

absl::StatusOr<std::string> ArtifactCache::Get(const ArtifactRef& ref,
                                               const ArtifactSource& source) {
  if (!IsSha256Hex(ref.sha256)) {
    return absl::InvalidArgumentError(absl::StrCat("package \"", ref.name, "\": not a SHA-256: \"",
                                                   ref.sha256.substr(0, 80), "\""));
  }
  const std::string path = absl::StrCat(dir_, "/", ref.sha256);
  std::error_code error;
  if (fs::is_regular_file(path, error) && fs::file_size(path, error) == ref.size) {
    // Held: checked again, as the disk (or a person) may have changed it since.
    absl::StatusOr<std::string> digest = Sha256OfFile(path);
    if (digest.ok() && *digest == ref.sha256) return path;
  }
  fs::create_directories(dir_, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the package cache ", dir_, ": ", error.message()));
  }
  const std::string partial = absl::StrCat(path, ".part-", getpid(), "-", gettid());
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", partial, ": ", std::strerror(errno)));
  }
  Sha256 digest;
  uint64_t received = 0;
  absl::Status fetched = source([&](std::string_view piece) -> absl::Status {
    received += piece.size();
    if (received > ref.size) {
      return absl::DataLossError(
          absl::StrCat("package \"", ref.name, "\": more than its ", ref.size, " bytes arrived"));
    }
    digest.Update(piece);
    out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", partial));
    return absl::OkStatus();
  });
  out.close();
  if (fetched.ok() && out.fail())
    fetched = absl::UnavailableError(absl::StrCat("cannot write ", partial));
  if (fetched.ok() && received != ref.size) {
    fetched = absl::DataLossError(absl::StrCat("package \"", ref.name, "\": ", received,
                                               " bytes arrived, expected ", ref.size));
  }
  if (fetched.ok()) {
    std::string got = digest.HexDigest();
    if (got != ref.sha256) {
      fetched = absl::DataLossError(absl::StrCat("package \"", ref.name,
                                                 "\": the bytes that arrived have SHA-256 ", got,
                                                 ", expected ", ref.sha256));
    }
  }
  if (!fetched.ok()) {
    fs::remove(partial, error);
    return fetched;
  }
  fs::rename(partial, path, error);
  if (error) {
    fs::remove(partial, error);
    return absl::UnavailableError(absl::StrCat("cannot keep ", path, ": ", error.message()));
  }
  return path;
}

}  // namespace mosdat

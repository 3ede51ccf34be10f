#include "core/artifact_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"

namespace mosdat {
namespace fs = std::filesystem;
namespace {

constexpr char kPartial[] = ".partial-";

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

class FileUpload final : public ArtifactStore::Upload {
 public:
  FileUpload(ArtifactRef ref, std::string final_path, std::string temp_path, int fd)
      : ref_(std::move(ref)),
        final_path_(std::move(final_path)),
        temp_path_(std::move(temp_path)),
        fd_(fd) {}
  ~FileUpload() override {
    if (fd_ >= 0) close(fd_);
    if (!committed_) unlink(temp_path_.c_str());
  }

  absl::Status Append(std::string_view data) override {
    if (data.size() > ref_.size - received_) {
      return absl::InvalidArgumentError(
          absl::StrCat(ref_.name, ": more than the declared ", ref_.size, " bytes arrived"));
    }
    hash_.Update(data);
    received_ += data.size();
    while (!data.empty()) {
      ssize_t n = write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(absl::StrCat("writing ", temp_path_));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    if (received_ != ref_.size) {
      return absl::InvalidArgumentError(absl::StrCat(
          ref_.name, ": ", received_, " bytes arrived, the upload declared ", ref_.size));
    }
    const std::string digest = hash_.HexDigest();
    if (digest != ref_.sha256) {
      return absl::InvalidArgumentError(absl::StrCat(
          ref_.name, ": the content's SHA-256 is ", digest, ", the upload declared ", ref_.sha256));
    }
    if (fsync(fd_) != 0) return Errno(absl::StrCat("fsync ", temp_path_));
    close(fd_);
    fd_ = -1;
    if (rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
      return Errno(absl::StrCat("rename to ", final_path_));
    }
    committed_ = true;
    // The rename is durable once the directory is.
    int dir = open(fs::path(final_path_).parent_path().c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
      fsync(dir);
      close(dir);
    }
    return absl::OkStatus();
  }

 private:
  ArtifactRef ref_;
  std::string final_path_;
  std::string temp_path_;
  int fd_;
  Sha256 hash_;
  uint64_t received_ = 0;
  bool committed_ = false;
};

}  // namespace

absl::Status CheckArtifactRef(const ArtifactRef& ref, uint64_t max_bytes) {
  const std::string& name = ref.name;
  bool plain = !name.empty() && name.size() <= 255 && name != "." && name != "..";
  for (char c : name) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) plain = false;
  }
  if (!plain) {
    return absl::InvalidArgumentError(
        "an artifact's name must be a plain file name (no \"/\", no control characters, at "
        "most 255 bytes)");
  }
  if (!IsSha256Hex(ref.sha256)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": sha256 must be 64 lower-case hex digits"));
  }
  if (ref.size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", ref.size,
                                                   " bytes is more than the coordinator takes (",
                                                   max_bytes, "; --max-artifact-bytes)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(std::string dir,
                                                                   uint64_t max_bytes) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.path().filename().string().rfind(kPartial, 0) == 0) fs::remove(entry.path(), error);
  }
  return std::unique_ptr<ArtifactStore>(new ArtifactStore(std::move(dir), max_bytes));
}

bool ArtifactStore::Has(const std::string& sha256) const {
  std::error_code error;
  return IsSha256Hex(sha256) && fs::is_regular_file(PathOf(sha256), error);
}

std::string ArtifactStore::PathOf(const std::string& sha256) const {
  return (fs::path(dir_) / sha256).string();
}

absl::StatusOr<std::unique_ptr<ArtifactStore::Upload>> ArtifactStore::Begin(
    const ArtifactRef& ref) {
  if (absl::Status s = CheckArtifactRef(ref, max_bytes_); !s.ok()) return s;
  std::string temp = (fs::path(dir_) / absl::StrCat(kPartial, ref.sha256, "-XXXXXX")).string();
  int fd = mkstemp(temp.data());
  if (fd < 0) return Errno(absl::StrCat("cannot create a file in ", dir_));
  return std::unique_ptr<Upload>(new FileUpload(ref, PathOf(ref.sha256), temp, fd));
}

}  // namespace mosdat

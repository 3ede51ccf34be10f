#include "core/owned_temp_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/orphan_reaper.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr absl::Duration kKillTimeout = absl::Seconds(10);
constexpr int kCreateAttempts = 5;

// Whether `name` is "<prefix>-<digits>-XXXXXX": made by Create(), so it has a lock.
// (Older versions made "<prefix>-XXXXXX" without one; those are never swept.)
bool IsOwnedName(const std::string& name, const std::string& prefix) {
  if (!absl::StartsWith(name, prefix + "-")) return false;
  std::string rest = name.substr(prefix.size() + 1);
  size_t dash = rest.find('-');
  if (dash == std::string::npos || dash == 0 || rest.size() - dash - 1 != 6) return false;
  pid_t pid = 0;
  return absl::SimpleAtoi(rest.substr(0, dash), &pid);
}

// Whether the open directory `fd` is still the one at `path` (a sweep may have removed
// it between mkdtemp and flock, or between listing and flock).
bool StillAt(int fd, const std::string& path) {
  struct stat opened, named;
  return fstat(fd, &opened) == 0 && lstat(path.c_str(), &named) == 0 &&
         opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OwnedTempDir>> OwnedTempDir::Create(const std::string& prefix) {
  for (char ch : prefix) {
    if (!absl::ascii_isalnum(ch) && ch != '-') {
      return absl::InvalidArgumentError(absl::StrCat("bad temporary directory prefix ", prefix));
    }
  }
  std::error_code error;
  const fs::path parent = fs::temp_directory_path(error);
  if (error) return absl::FailedPreconditionError(absl::StrCat("$TMPDIR: ", error.message()));
  SweepStale(parent.string(), prefix);
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    std::string path = (parent / absl::StrCat(prefix, "-", getpid(), "-XXXXXX")).string();
    if (mkdtemp(path.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("cannot create a private directory in ",
                                              parent.string(), ": ", strerror(errno)));
    }
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // Another process's sweep may hold it (and remove it): then make another.
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !StillAt(fd, path)) {
      close(fd);
      continue;
    }
    std::unique_ptr<OwnedTempDir> dir(new OwnedTempDir(path, fd));
    if (absl::Status watched = OrphanReaper::WatchDir(path); !watched.ok()) return watched;
    return dir;
  }
  return absl::UnavailableError(
      absl::StrCat("could not create and lock a private directory in ", parent.string()));
}

OwnedTempDir::~OwnedTempDir() { Remove(); }

std::pair<std::string, std::string> OwnedTempDir::marker() const {
  return {kOwnerDirVariable, path_};
}

void OwnedTempDir::Remove() {
  if (path_.empty()) return;
  KillProcessesMarked(kOwnerDirVariable, path_, kKillTimeout);
  std::error_code ignored;
  fs::remove_all(path_, ignored);
  OrphanReaper::ForgetDir(path_);
  close(lock_fd_);  // after the removal: a sweep must not find it unlocked before
  lock_fd_ = -1;
  path_.clear();
}

std::vector<std::string> OwnedTempDir::SweepStale(const std::string& parent,
                                                  const std::string& prefix) {
  std::vector<std::string> removed;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(parent, error)) {
    const std::string path = entry.path().string();
    if (!IsOwnedName(entry.path().filename().string(), prefix)) continue;
    struct stat info;
    if (lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != geteuid()) {
      continue;
    }
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // Held: its owner lives. Free: the owner is gone, and while we hold it no new owner
    // can take this directory (Create() locks before using it).
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && StillAt(fd, path)) {
      KillProcessesMarked(kOwnerDirVariable, path, kKillTimeout);
      std::error_code ignored;
      fs::remove_all(path, ignored);
      removed.push_back(path);
    }
    close(fd);
  }
  return removed;
}

}  // namespace mosdat

// OwnedTempDir: a private directory under $TMPDIR for the files and processes of one
// owner (a local desktop: its HOME, sockets, logs, private sshd), which goes away with
// its owner however the owner ends.
//  - Named "<prefix>-<pid>-XXXXXX" (the pid is for people reading `ls`; whether the
//    owner lives is told by the lock).
//  - Locked with flock(2) while this object lives. A lock is released by the kernel
//    when its holder dies, so a free lock proves the owner is gone; a pid in a name
//    cannot, as pids are reused.
//  - Registered with the OrphanReaper (core/orphan_reaper.h): if this process dies, the
//    reaper kills the processes marked with the directory (marker() in their
//    environment) and removes it.
//  - Create() first sweeps "<prefix>-<pid>-XXXXXX" directories of the current user whose
//    lock is free: their owner died and its reaper could not clean up (it was killed
//    too). Their marked processes are killed, then they are removed.
//
// Example:
//   absl::StatusOr<std::unique_ptr<OwnedTempDir>> dir = OwnedTempDir::Create("mosdat-desktop");
//   env[dir->marker().first] = dir->marker().second;  // for every process started for it
#ifndef MOSDAT_CORE_OWNED_TEMP_DIR_H_
#define MOSDAT_CORE_OWNED_TEMP_DIR_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mosdat {

class OwnedTempDir {
 public:
  // `prefix`: letters, digits and '-' only.
  static absl::StatusOr<std::unique_ptr<OwnedTempDir>> Create(const std::string& prefix);
  ~OwnedTempDir();  // Remove()

  OwnedTempDir(const OwnedTempDir&) = delete;
  OwnedTempDir& operator=(const OwnedTempDir&) = delete;

  const std::string& path() const { return path_; }
  // The environment entry that marks a process as this directory's:
  // {kOwnerDirVariable, path()}.
  std::pair<std::string, std::string> marker() const;

  // Kills every process still marked with this directory, removes it and releases the
  // lock. Idempotent.
  void Remove();

  // Removes `parent`/<prefix>-<pid>-XXXXXX directories whose owner is gone (see above);
  // returns their paths.
  static std::vector<std::string> SweepStale(const std::string& parent, const std::string& prefix);

 private:
  OwnedTempDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_OWNED_TEMP_DIR_H_

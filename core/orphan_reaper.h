// OrphanReaper: what this process starts for a while (a local desktop's Xvnc, D-Bus,
// window manager and app, a private sshd) dies with this process, however it dies —
// SIGKILL, a crash, exit() while other threads still run — and the directories it
// registered go too.
//
// How: the first registration starts a watchdog process, the reaper, connected to this
// process by a socket of which only this process holds the other end. Registrations
// travel over the socket. When this process dies the kernel closes its end; the reaper
// reads end-of-file (or sees that its parent changed) and then
//   1. SIGKILLs every registered process group, and the descendants of each group's
//      leader (sshd's connections leave its group with setsid);
//   2. SIGKILLs, until none is left, every process whose environment holds
//      kOwnerDirVariable=<dir> for a registered directory (what left both the group
//      and the tree: D-Bus activations, programs started over SSH, daemons);
//   3. removes the registered directories, and exits.
//
// Why not PR_SET_PDEATHSIG in each child: it fires when the *thread* that forked the
// child exits, not the process, and the agent starts desktops on job threads that end
// while a desktop may live on; it reaches direct children only; and posix_spawn()
// cannot set it. A watchdog process sees the process's death itself, and a process
// cannot prevent the kernel from closing its sockets when it dies.
//
// The reaper is this very program again: /proc/self/exe started with an environment
// variable that a static initializer of orphan_reaper.cc looks for, and then runs the
// reaper instead of main(). So every binary that can register has the reaper built in,
// with nothing to install or find; its process name (`ps -o comm`) is mosdat-reaper.
// It ignores SIGINT/SIGTERM/SIGHUP and sits in its own session, so a Ctrl-C or a
// terminal hang-up meant for its owner does not stop it before it cleaned up.
//
// What it cannot cover: an unmarked process started but not yet registered when this
// one dies (microseconds after posix_spawn), and the reaper being SIGKILLed itself.
// OwnedTempDir's sweep covers the latter on the next start.
//
// Thread-safe. If the reaper dies, the next registration starts a new one and gives it
// every registration still held.
#ifndef MOSDAT_CORE_ORPHAN_REAPER_H_
#define MOSDAT_CORE_ORPHAN_REAPER_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace mosdat {

// The environment variable that marks a process as belonging to a registered
// directory: kOwnerDirVariable=<the directory's path>.
inline constexpr char kOwnerDirVariable[] = "MOSDAT_OWNER_DIR";

class OrphanReaper {
 public:
  // The process group `pgid` (a child started with its own group) is killed if this
  // process dies before ForgetGroup(pgid). Internal when no reaper can be started.
  static absl::Status WatchGroup(pid_t pgid);
  // Call while the group's leader is still unreaped (a zombie keeps its pid from being
  // reused), so the reaper never holds a number that could name a stranger's group.
  static void ForgetGroup(pid_t pgid);

  // `dir` (an absolute path without line breaks) and the processes marked with it are
  // removed and killed if this process dies before ForgetDir(dir).
  static absl::Status WatchDir(const std::string& dir);
  static void ForgetDir(const std::string& dir);

  // The reaper's pid, or -1 when none runs (for tests).
  static pid_t ReaperPid();
};

// Kills (SIGKILL) every other process whose environment holds `name`=`value`, round
// after round until none is left or `timeout` passes, waiting for each to die.
// Returns how many were killed. Processes of other users are not seen.
int KillProcessesMarked(const std::string& name, const std::string& value, absl::Duration timeout);

}  // namespace mosdat

#endif  // MOSDAT_CORE_ORPHAN_REAPER_H_

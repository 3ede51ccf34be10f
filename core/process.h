// Child processes without a shell: spawn with an exact argv and environment, optional
// redirections, then poll or wait with a deadline. Used by the local desktop provider
// (Xvnc, dbus-daemon, openbox, the app) and by tests that run the built binaries.
#ifndef MOSDAT_CORE_PROCESS_H_
#define MOSDAT_CORE_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mosdat {

using Environment = std::map<std::string, std::string>;

// The current process's environment as a map.
Environment CurrentEnvironment();

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is a path or a name looked up on PATH
  Environment env;                // the child's whole environment
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";  // truncated; "" inherits ours
  std::string stderr_path = "/dev/null";
  // Extra descriptors: child fd → our fd (dup2'ed in the child), e.g. {3, pipe_write}.
  std::map<int, int> extra_fds;
  // Start the child in its own process group, so a kill reaches its children too.
  bool new_process_group = true;
  // The child's process group is SIGKILLed if this process dies before reaping the
  // child, however it dies (core/orphan_reaper.h). Needs new_process_group.
  bool dies_with_this_process = false;
};

struct ExitStatus {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string ToString() const;  // "exit code 3" / "killed by signal 9"
};

class Process {
 public:
  static absl::StatusOr<Process> Spawn(const SpawnOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();  // kills (SIGKILL) and reaps a child still running

  pid_t pid() const { return pid_; }

  // The exit status if the child has exited (reaps it), nullopt while it runs.
  std::optional<ExitStatus> Poll();
  // Waits up to `timeout`; nullopt if it is still running then.
  std::optional<ExitStatus> Wait(absl::Duration timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns how it ended.
  ExitStatus Terminate(absl::Duration grace);
  void Signal(int signal);

 private:
  explicit Process(pid_t pid, bool group, bool watched)
      : pid_(pid), group_(group), watched_(watched) {}
  // Collects the child's exit status if it has exited (waiting for that with `block`).
  void Reap(bool block);

  pid_t pid_ = -1;
  bool group_ = false;
  bool watched_ = false;  // registered with the OrphanReaper
  std::optional<ExitStatus> exited_;
};

// Runs to completion (killed after `timeout`) capturing stdout and stderr.
struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;
  bool timed_out = false;
};
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const Environment& env, absl::Duration timeout);

// Every process below `root` (children, their children, ...), from /proc parentage.
std::vector<pid_t> Descendants(pid_t root);

// The full path of `program` on $PATH (or `program` itself if it contains '/' and is
// executable); "" when not found.
std::string FindExecutable(const std::string& program);

}  // namespace mosdat

#endif  // MOSDAT_CORE_PROCESS_H_

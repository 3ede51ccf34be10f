// OrphanReaper (see the header): the client side, which registers over a socket, and the
// reaper itself, which this program becomes before main() when started as one.
#include "core/orphan_reaper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/process.h"

namespace mosdat {
namespace {

// Set (to the owner's pid) in the environment of a program started as the reaper.
constexpr char kReaperEnvironment[] = "MOSDAT_ORPHAN_REAPER_OF";
constexpr absl::Duration kReaperReadyTimeout = absl::Seconds(10);
// How long the reaper (or a sweep) keeps killing marked processes that keep appearing.
constexpr absl::Duration kMarkedKillTimeout = absl::Seconds(10);
// Between two looks at whether the owner is still the reaper's parent.
constexpr int kOwnerCheckMs = 1000;

struct Registrations {
  std::set<pid_t> groups;
  std::set<std::string> dirs;
};

// The protocol, one registration per line: "+g <pgid>", "-g <pgid>", "+d <dir>",
// "-d <dir>".
std::string Line(char op, char kind, std::string_view value) {
  return absl::StrCat(std::string(1, op), std::string(1, kind), " ", Absl(value), "\n");
}

void Apply(std::string_view line, Registrations* registrations) {
  if (line.size() < 4 || line[2] != ' ') return;
  const bool add = line[0] == '+';
  const std::string value(line.substr(3));
  if (line[1] == 'g') {
    pid_t pgid = 0;
    if (!absl::SimpleAtoi(value, &pgid) || pgid <= 1) return;
    add ? (void)registrations->groups.insert(pgid) : (void)registrations->groups.erase(pgid);
  } else if (line[1] == 'd') {
    if (value.empty() || value[0] != '/') return;
    add ? (void)registrations->dirs.insert(value) : (void)registrations->dirs.erase(value);
  }
}

// ---- The reaper ---------------------------------------------------------------------

void CleanUp(const Registrations& registrations) {
  // The descendants first, while their parents (e.g. sshd) still run and the tree can
  // still be read.
  for (pid_t group : registrations.groups) {
    for (pid_t pid : Descendants(group)) kill(pid, SIGKILL);
    kill(-group, SIGKILL);
  }
  for (const std::string& dir : registrations.dirs) {
    KillProcessesMarked(kOwnerDirVariable, dir, kMarkedKillTimeout);
  }
  for (const std::string& dir : registrations.dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

[[noreturn]] void RunReaper(pid_t owner) {
  prctl(PR_SET_NAME, "mosdat-reaper");
  // Signals meant for the owner (Ctrl-C, a terminal hanging up, a service manager's
  // SIGTERM) must not end the reaper before it cleaned up after the owner.
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU}) {
    signal(s, SIG_IGN);
  }
  setsid();  // out of the owner's process group and terminal
  // Only the socket (fd 0) and /dev/null (1, 2): nothing of the owner's stays open here.
  syscall(SYS_close_range, 3U, ~0U, 0U);
  Registrations registrations;
  std::string buffer;
  if (getppid() == owner && write(0, "ready\n", 6) == 6) {
    while (true) {
      pollfd socket{0, POLLIN, 0};
      int ready = poll(&socket, 1, kOwnerCheckMs);
      if (ready < 0 && errno != EINTR) break;
      if (ready > 0) {
        char chunk[4096];
        ssize_t got = read(0, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // the owner's end closed: it is gone
        buffer.append(chunk, static_cast<size_t>(got));
        for (size_t end; (end = buffer.find('\n')) != std::string::npos;) {
          Apply(std::string_view(buffer).substr(0, end), &registrations);
          buffer.erase(0, end + 1);
        }
      }
      // Reparented: the owner died, even if a copy of its end lingers somewhere.
      if (getppid() != owner) break;
    }
  }
  CleanUp(registrations);
  _exit(0);
}

// Runs before main(): a program started as the reaper becomes it and never reaches its
// own main(). Only functions and literals are used, so the order in which static
// initializers run does not matter.
[[maybe_unused]] const bool kStartedAsReaper = [] {
  const char* owner = getenv(kReaperEnvironment);
  pid_t pid = 0;
  if (owner == nullptr || !absl::SimpleAtoi(owner, &pid)) return false;
  RunReaper(pid);
}();

// ---- The owner's side ---------------------------------------------------------------

class Client {
 public:
  // Never destroyed: the reaper must outlive every static destructor, exit() included.
  static Client& Get() {
    static Client* client = new Client();
    return *client;
  }

  absl::Status Update(char op, char kind, const std::string& value) {
    std::lock_guard lock(mutex_);
    std::set<std::string>* dirs = &held_.dirs;
    if (kind == 'g') {
      pid_t pgid = 0;
      absl::SimpleAtoi(value, &pgid);
      op == '+' ? (void)held_.groups.insert(pgid) : (void)held_.groups.erase(pgid);
    } else {
      op == '+' ? (void)dirs->insert(value) : (void)dirs->erase(value);
    }
    if (socket_ >= 0 && SendAll(Line(op, kind, value))) return absl::OkStatus();
    // No reaper yet, or it died: a new one gets everything still held.
    if (held_.groups.empty() && held_.dirs.empty()) return absl::OkStatus();
    return Restart();
  }

  pid_t pid() {
    std::lock_guard lock(mutex_);
    return reaper_ ? reaper_->pid() : -1;
  }

 private:
  bool SendAll(const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
      ssize_t n = send(socket_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  absl::Status Restart() {
    if (socket_ >= 0) close(socket_);
    socket_ = -1;
    if (reaper_) reaper_->Terminate(absl::ZeroDuration());
    reaper_.reset();

    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
    }
    // Our end stays close-on-exec, so no program we start holds it open after us.
    absl::StatusOr<Process> reaper =
        Process::Spawn({.argv = {"/proc/self/exe"},
                        .env = {{kReaperEnvironment, absl::StrCat(getpid())}},
                        .extra_fds = {{0, fds[1]}},
                        .new_process_group = false});  // it leaves with setsid()
    close(fds[1]);
    if (!reaper.ok()) {
      close(fds[0]);
      return absl::InternalError(
          absl::StrCat("cannot start the orphan reaper: ", reaper.status().message()));
    }
    std::string greeting;
    const absl::Time deadline = absl::Now() + kReaperReadyTimeout;
    while (greeting.find('\n') == std::string::npos && absl::Now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()))) <= 0) {
        continue;
      }
      char chunk[16];
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      greeting.append(chunk, static_cast<size_t>(n));
    }
    if (greeting != "ready\n") {
      close(fds[0]);
      reaper->Terminate(absl::ZeroDuration());
      return absl::InternalError(
          "the orphan reaper did not start (is /proc mounted, and this program run directly, "
          "not through a loader?)");
    }
    socket_ = fds[0];
    reaper_.emplace(std::move(*reaper));
    std::string all;
    for (pid_t group : held_.groups) all += Line('+', 'g', absl::StrCat(group));
    for (const std::string& dir : held_.dirs) all += Line('+', 'd', dir);
    if (!SendAll(all)) return absl::InternalError("the orphan reaper hung up at once");
    return absl::OkStatus();
  }

  std::mutex mutex_;
  int socket_ = -1;
  std::optional<Process> reaper_;
  Registrations held_;
};

bool HasEntry(const std::string& environ, const std::string& entry) {
  size_t begin = 0;
  while (begin < environ.size()) {
    size_t end = environ.find('\0', begin);
    if (end == std::string::npos) end = environ.size();
    if (environ.compare(begin, end - begin, entry) == 0) return true;
    begin = end + 1;
  }
  return false;
}

}  // namespace

absl::Status OrphanReaper::WatchGroup(pid_t pgid) {
  if (pgid <= 1) return absl::InvalidArgumentError(absl::StrCat("not a process group: ", pgid));
  return Client::Get().Update('+', 'g', absl::StrCat(pgid));
}

void OrphanReaper::ForgetGroup(pid_t pgid) {
  Client::Get().Update('-', 'g', absl::StrCat(pgid)).IgnoreError();
}

absl::Status OrphanReaper::WatchDir(const std::string& dir) {
  if (dir.empty() || dir[0] != '/' || dir.find_first_of("\n\r") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the orphan reaper takes absolute paths without line breaks, not \"", dir, "\""));
  }
  return Client::Get().Update('+', 'd', dir);
}

void OrphanReaper::ForgetDir(const std::string& dir) {
  Client::Get().Update('-', 'd', dir).IgnoreError();
}

pid_t OrphanReaper::ReaperPid() { return Client::Get().pid(); }

int KillProcessesMarked(const std::string& name, const std::string& value, absl::Duration timeout) {
  const std::string entry = absl::StrCat(name, "=", value);
  const absl::Time deadline = absl::Now() + timeout;
  const pid_t self = getpid();
  int killed = 0;
  while (true) {
    // pidfds: no signal reaches a recycled pid, and poll() tells when each one is dead.
    std::vector<pollfd> dying;
    std::error_code ignored;
    for (const auto& process : std::filesystem::directory_iterator("/proc", ignored)) {
      pid_t pid = 0;
      if (!absl::SimpleAtoi(process.path().filename().string(), &pid) || pid == self) continue;
      if (!HasEntry(ReadFileOrEmpty(process.path() / "environ"), entry)) continue;
      // Raw syscalls: Debian 12's <sys/pidfd.h> lacks extern "C" and does not link.
      int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
      if (fd < 0) continue;  // already gone
      if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0) == 0) ++killed;
      dying.push_back({fd, POLLIN, 0});
    }
    for (pollfd& p : dying) {
      int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      poll(&p, 1, std::max(left, 0));
      close(p.fd);
    }
    // Done when a look finds nobody; the processes killed may have started others.
    if (dying.empty() || absl::Now() >= deadline) return killed;
  }
}

}  // namespace mosdat

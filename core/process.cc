#include "core/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/orphan_reaper.h"

extern char** environ;

namespace mosdat {
namespace {

ExitStatus FromWaitStatus(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

// Poll interval while waiting for a child: short, so waits end promptly.
constexpr absl::Duration kPollInterval = absl::Milliseconds(5);

}  // namespace

Environment CurrentEnvironment() {
  Environment env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, eq - *e)] = std::string(eq + 1);
  }
  return env;
}

std::string ExitStatus::ToString() const {
  if (signal != 0) return absl::StrCat("killed by signal ", signal);
  return absl::StrCat("exit code ", exit_code);
}

std::vector<pid_t> Descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::string stat = ReadFileOrEmpty(entry.path() / "stat");
    size_t paren = stat.rfind(')');  // the command name may contain spaces and ')'
    if (paren == std::string::npos || paren + 2 > stat.size()) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
    pid_t parent = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &parent)) continue;
    children.emplace(parent, pid);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> queue = {root};
  while (!queue.empty()) {
    pid_t parent = queue.back();
    queue.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return out;
}

std::string FindExecutable(const std::string& program) {
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos) {
    return access(program.c_str(), X_OK) == 0 ? program : "";
  }
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "/usr/bin:/bin", ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

absl::StatusOr<Process> Process::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("empty command");
  if (options.dies_with_this_process && !options.new_process_group) {
    return absl::InvalidArgumentError("dies_with_this_process needs new_process_group");
  }
  std::string executable = FindExecutable(options.argv[0]);
  if (executable.empty()) {
    return absl::NotFoundError(absl::StrCat("\"", options.argv[0], "\" is not installed"));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, options.stdin_path.c_str(), O_RDONLY, 0);
  if (!options.stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, options.stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  if (!options.stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 2, options.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  for (const auto& [child_fd, our_fd] : options.extra_fds) {
    posix_spawn_file_actions_adddup2(&actions, our_fd, child_fd);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_process_group) flags |= POSIX_SPAWN_SETPGROUP;
  posix_spawnattr_setflags(&attributes, flags);
  posix_spawnattr_setpgroup(&attributes, 0);
  // Children start with no blocked signals and default dispositions, whatever ours are
  // (services block SIGTERM to wait for it synchronously).
  sigset_t empty, defaults;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  sigemptyset(&defaults);
  for (int s : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attributes, &defaults);

  std::vector<std::string> env_strings;
  for (const auto& [k, v] : options.env) env_strings.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> argv, envp;
  std::vector<std::string> argv_copy = options.argv;
  for (std::string& a : argv_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, executable.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", executable, ": ", strerror(rc)));
  }
  Process process(pid, options.new_process_group, /*watched=*/false);
  if (options.dies_with_this_process) {
    if (absl::Status watched = OrphanReaper::WatchGroup(pid); !watched.ok()) {
      return watched;  // `process` kills the child: it could outlive us
    }
    process.watched_ = true;
  }
  return process;
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), group_(other.group_), watched_(other.watched_), exited_(other.exited_) {
  other.pid_ = -1;
  other.watched_ = false;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exited_) Terminate(absl::ZeroDuration());
    pid_ = other.pid_;
    group_ = other.group_;
    watched_ = other.watched_;
    exited_ = other.exited_;
    other.pid_ = -1;
    other.watched_ = false;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !exited_) Terminate(absl::ZeroDuration());
}

void Process::Signal(int signal) {
  if (pid_ <= 0 || exited_) return;
  // The whole group, so helpers the child started (e.g. a shell's children) go too.
  if (group_) {
    kill(-pid_, signal);
  } else {
    kill(pid_, signal);
  }
}

std::optional<ExitStatus> Process::Poll() {
  if (exited_ || pid_ <= 0) return exited_;
  Reap(/*block=*/false);
  return exited_;
}

void Process::Reap(bool block) {
  if (watched_) {
    // Look without reaping first: until waitpid() the zombie keeps its pid (and so its
    // group id) from being reused, so the reaper forgets the group while the number
    // still names it.
    siginfo_t info{};
    int rc;
    do {
      rc = waitid(P_PID, pid_, &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 || info.si_pid != pid_) return;  // still running
    OrphanReaper::ForgetGroup(pid_);
    watched_ = false;
  }
  int status = 0;
  if (waitpid(pid_, &status, block ? 0 : WNOHANG) == pid_) exited_ = FromWaitStatus(status);
}

std::optional<ExitStatus> Process::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<ExitStatus> status = Poll()) return status;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(kPollInterval);
  }
}

ExitStatus Process::Terminate(absl::Duration grace) {
  if (std::optional<ExitStatus> status = Poll()) return *status;
  if (grace > absl::ZeroDuration()) {
    Signal(SIGTERM);
    if (std::optional<ExitStatus> status = Wait(grace)) return *status;
  }
  Signal(SIGKILL);
  Reap(/*block=*/true);
  return exited_.value_or(ExitStatus{.signal = SIGKILL});
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const Environment& env, absl::Duration timeout) {
  char dir_template[] = "/tmp/mosdat-cmd-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return absl::InternalError("cannot create temp dir");
  std::string dir = dir_template;
  SpawnOptions options{
      .argv = argv, .env = env, .stdout_path = dir + "/out", .stderr_path = dir + "/err"};
  absl::StatusOr<Process> process = Process::Spawn(options);
  CommandResult result;
  if (process.ok()) {
    std::optional<ExitStatus> status = process->Wait(timeout);
    result.timed_out = !status.has_value();
    result.status = status ? *status : process->Terminate(absl::Seconds(1));
    result.out = ReadFileOrEmpty(dir + "/out");
    result.err = ReadFileOrEmpty(dir + "/err");
  }
  std::remove((dir + "/out").c_str());
  std::remove((dir + "/err").c_str());
  rmdir(dir.c_str());
  if (!process.ok()) return process.status();
  return result;
}

}  // namespace mosdat

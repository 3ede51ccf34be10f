#include "packaging/build_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/outcome.h"

namespace mosdat {
namespace {

// A line longer than this is cut for the callback and the tail (the log keeps it all),
// so a tool printing megabytes without a newline cannot exhaust memory.
constexpr size_t kMaxLineChars = 4096;
// After the command exits, how long to wait for its output pipe to close: a daemon it
// left behind may hold the pipe open forever.
constexpr absl::Duration kDrainGrace = absl::Seconds(2);

// Splits the output into lines for the callback and keeps the last few.
class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(std::string_view)>& on_line) : on_line_(on_line) {}

  void Feed(std::string_view bytes) {
    for (char c : bytes) {
      if (c == '\n' || c == '\r') {
        // "\r\n" is one line end; a lone "\r" (a progress bar) is one too.
        if (!(c == '\n' && last_was_cr_)) Emit();
        last_was_cr_ = c == '\r';
        continue;
      }
      last_was_cr_ = false;
      if (line_.size() < kMaxLineChars) line_.push_back(c);
    }
  }
  void Finish() {
    if (!line_.empty()) Emit();
  }
  void Note(const std::string& line) {
    Finish();
    line_ = line;
    Emit();
  }
  std::string Tail() const { return absl::StrJoin(tail_, "\n"); }

 private:
  void Emit() {
    if (on_line_) on_line_(line_);
    tail_.push_back(line_);
    if (tail_.size() > kBuildLogTailLines) tail_.pop_front();
    line_.clear();
  }

  const std::function<void(std::string_view)>& on_line_;
  std::string line_;
  bool last_was_cr_ = false;
  std::deque<std::string> tail_;
};

struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    if (read >= 0) close(read);
    if (write >= 0) close(write);
  }
};

}  // namespace

absl::Status RunBuildCommands(const BuildRunOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.workdir, ec)) {
    return ConfigError(absl::StrCat("the build directory ", options.workdir,
                                    " does not exist (check "
                                    "[build].workdir, and that the checkout has it)"));
  }
  std::ofstream log(options.log_path, std::ios::app | std::ios::binary);
  if (!log) {
    return InfrastructureError(absl::StrCat("cannot write the build log ", options.log_path));
  }
  LineSplitter lines(options.on_line);
  auto log_note = [&](const std::string& note) {
    log << note << "\n";
    log.flush();
    lines.Note(note);
  };
  const absl::Time deadline = absl::Now() + options.timeout;
  for (const std::string& command : options.commands) {
    log_note(absl::StrCat("$ ", command));
    Pipe pipe;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return InfrastructureError("cannot create a pipe");
    pipe.read = fds[0];
    pipe.write = fds[1];
    // `cd` in the shell: posix_spawn has no portable working directory, and this way a
    // missing directory is reported by the shell in the log.
    SpawnOptions spawn{
        .argv = {"/bin/sh", "-c", "cd -- \"$1\" && exec /bin/sh -c \"$2\"", "mosdat-build",
                 options.workdir, command},
        .env = options.env,
        .stdout_path = "",
        .stderr_path = "",
        .extra_fds = {{1, pipe.write}, {2, pipe.write}},
        .new_process_group = true,
        .dies_with_this_process = true,
    };
    absl::StatusOr<Process> process = Process::Spawn(spawn);
    if (!process.ok()) {
      return InfrastructureError(absl::StrCat("cannot start the build command \"", command,
                                              "\": ", process.status().message()));
    }
    close(pipe.write);
    pipe.write = -1;

    std::optional<ExitStatus> status;
    bool timed_out = false;
    std::optional<absl::Time> drain_until;
    char buffer[16384];
    while (true) {
      if (!status) {
        status = process->Poll();
        if (status) drain_until = absl::Now() + kDrainGrace;
      }
      if (!status && absl::Now() >= deadline) {
        timed_out = true;
        status = process->Terminate(absl::Seconds(5));
        drain_until = absl::Now() + kDrainGrace;
      }
      if (drain_until && absl::Now() >= *drain_until) break;
      struct pollfd pfd = {.fd = pipe.read, .events = POLLIN, .revents = 0};
      int ready = poll(&pfd, 1, 50);
      if (ready > 0) {
        ssize_t n = read(pipe.read, buffer, sizeof(buffer));
        if (n > 0) {
          log.write(buffer, n);
          log.flush();
          lines.Feed(std::string_view(buffer, static_cast<size_t>(n)));
          continue;
        }
        if (n == 0) {  // every writer closed: the command and its children are done
          if (!status)
            status = process->Wait(std::max(deadline - absl::Now(), absl::ZeroDuration()));
          if (!status) {
            timed_out = true;
            status = process->Terminate(absl::Seconds(5));
          }
          break;
        }
        if (errno != EINTR && errno != EAGAIN) break;
      }
    }
    lines.Finish();
    if (timed_out) {
      log_note(absl::StrCat("mosdat: stopped after ", absl::FormatDuration(options.timeout)));
      return InfrastructureError(absl::StrCat(
          "the build command \"", command, "\" did not finish within the build timeout (",
          absl::FormatDuration(options.timeout), ", [build].timeout) and was stopped; log ",
          options.log_path, ", last lines:\n", lines.Tail()));
    }
    if (status->exit_code != 0) {
      log_note(absl::StrCat("mosdat: the command ended with ", status->ToString()));
      return InfrastructureError(absl::StrCat("the build command \"", command, "\" failed with ",
                                              status->ToString(), "; log ", options.log_path,
                                              ", last lines:\n", lines.Tail()));
    }
  }
  return absl::OkStatus();
}

}  // namespace mosdat

#include "tests/integration/local_line_process.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace mosdat {
absl::StatusOr<std::unique_ptr<LocalLineProcess>> LocalLineProcess::Start(
    const std::vector<std::string>& argv, const Environment& env, const std::string& stderr_path) {
  int to_child[2], from_child[2];
  // CLOEXEC: the child keeps only the dup2'ed ends, so EOF works both ways.
  if (pipe2(to_child, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return absl::InternalError("pipe2 failed");
  }
  absl::StatusOr<Process> process =
      Process::Spawn({.argv = argv,
                      .env = env,
                      .stdout_path = "",
                      .stderr_path = stderr_path,
                      .extra_fds = {{0, to_child[0]}, {1, from_child[1]}}});
  close(to_child[0]);
  close(from_child[1]);
  if (!process.ok()) {
    close(to_child[1]);
    close(from_child[0]);
    return process.status();
  }
  return std::unique_ptr<LocalLineProcess>(
      new LocalLineProcess(std::move(*process), to_child[1], from_child[0], stderr_path));
}

LocalLineProcess::~LocalLineProcess() {
  close(to_child_);  // EOF on its stdin: a well-behaved helper exits
  close(from_child_);
  process_.Terminate(absl::Seconds(2));
}

bool LocalLineProcess::alive() { return !process_.Poll().has_value(); }

absl::Status LocalLineProcess::WriteLine(std::string_view line) {
  std::string data(line);
  data.push_back('\n');
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = write(to_child_, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("the helper process is gone: ", FileTail(stderr_path_, 400)));
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LocalLineProcess::ReadLine(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("the helper did not answer in time");
    }
    pollfd fd{from_child_, POLLIN, 0};
    int ready = poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[65536];
    ssize_t n = read(from_child_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("the helper process ended: ", FileTail(stderr_path_, 400)));
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace mosdat

// Runs the [build] commands: each with /bin/sh in the build directory, one after the
// other, with the build's environment. Every output line (stdout and stderr merged, in
// order) goes to a kept log file and to a callback for progress. The commands share one
// timeout; on expiry their whole process group is stopped (SIGTERM, then SIGKILL).
#ifndef MOSDAT_PACKAGING_BUILD_RUNNER_H_
#define MOSDAT_PACKAGING_BUILD_RUNNER_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/process.h"

namespace mosdat {

struct BuildRunOptions {
  std::vector<std::string> commands;        // shell commands, run in order
  std::string workdir;                      // where they run
  Environment env;                          // their whole environment
  std::string log_path;                     // the build log (created, or appended to)
  absl::Duration timeout = absl::Hours(1);  // for all the commands together
  // Each output line as it comes (without its newline; "\r" also ends a line, so
  // progress bars show), e.g. to print progress.
  std::function<void(std::string_view line)> on_line;
};

// Lines of the log kept for an error message.
inline constexpr size_t kBuildLogTailLines = 40;

// OK when every command exits 0. A failing command is Unavailable (an infrastructure
// error, never a test failure) naming the command, how it ended, the log path and the
// last kBuildLogTailLines lines of output; so is a timeout. A workdir that does not
// exist is InvalidArgument (the config names it).
absl::Status RunBuildCommands(const BuildRunOptions& options);

}  // namespace mosdat

#endif  // MOSDAT_PACKAGING_BUILD_RUNNER_H_

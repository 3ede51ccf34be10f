// A local child process driven as a LineChannel through pipes: how the agent talks to
// the AT-SPI helper of a desktop on its own host.
#ifndef MOSDAT_TESTS_INTEGRATION_LOCAL_LINE_PROCESS_H_
#define MOSDAT_TESTS_INTEGRATION_LOCAL_LINE_PROCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/process.h"
#include "vnc-agent/guest/line_channel.h"

namespace mosdat {

class LocalLineProcess : public LineChannel {
 public:
  static absl::StatusOr<std::unique_ptr<LocalLineProcess>> Start(
      const std::vector<std::string>& argv, const Environment& env, const std::string& stderr_path);
  ~LocalLineProcess() override;

  absl::Status WriteLine(std::string_view line) override;
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout) override;
  bool alive();
  pid_t pid() const { return process_.pid(); }

 private:
  LocalLineProcess(Process process, int to_child, int from_child, std::string stderr_path)
      : process_(std::move(process)),
        to_child_(to_child),
        from_child_(from_child),
        stderr_path_(std::move(stderr_path)) {}

  Process process_;
  int to_child_;
  int from_child_;
  std::string stderr_path_;
  std::string buffer_;  // bytes read past the last returned line
};

}  // namespace mosdat

#endif  // MOSDAT_TESTS_INTEGRATION_LOCAL_LINE_PROCESS_H_

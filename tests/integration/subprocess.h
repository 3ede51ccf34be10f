// Test helpers for running the built binaries as real processes: run-to-completion with
// captured output, and long-running services that report readiness through a ready file.
#ifndef MOSDAT_TESTS_INTEGRATION_SUBPROCESS_H_
#define MOSDAT_TESTS_INTEGRATION_SUBPROCESS_H_

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/process.h"

namespace mosdat::testing {

// The path of a binary built by this tree, e.g. BuiltBinary("cli/mosdat").
std::string BuiltBinary(const std::string& relative);
std::string SourcePath(const std::string& relative);

// A fresh private directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after `timeout`), with extra environment variables.
RunResult RunCommand(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env = {},
                     std::chrono::seconds timeout = std::chrono::seconds(60));

// A service binary started with --listen/--metrics-listen on free loopback ports (or
// gRPC on set_listen's address) and a ready file; Start() polls the file with a
// deadline (no sleeps). argv may start with a wrapper that execs the service, such as
// `ip netns exec NS` (NetnsLan::Exec).
class ServiceProcess {
 public:
  ServiceProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~ServiceProcess();

  // True once the ready file appeared; false if the process exited or the deadline passed.
  bool Start(std::chrono::seconds deadline = std::chrono::seconds(30));
  // SIGTERM, then waits; returns the exit code (-1 if killed by a signal or timed out).
  int Terminate(std::chrono::seconds deadline = std::chrono::seconds(15));

  // SIGKILL to the service's own process only (not its process group), then reaps it:
  // a crash, leaving whatever it started behind.
  void Kill();

  // The gRPC address it listens on; set before Start() (default "127.0.0.1:0").
  void set_listen(std::string address) { listen_ = std::move(address); }
  const std::string& grpc_address() const { return grpc_address_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  int metrics_port() const { return metrics_port_; }
  std::string stderr_text() const;

 private:
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
  TempDir dir_;
  std::optional<Process> process_;
  std::string listen_ = "127.0.0.1:0";
  std::string grpc_address_;
  int metrics_port_ = 0;
};

// The TCP ports process `pid` listens on (IPv4 and IPv6), from its sockets in /proc.
std::set<int> ListeningTcpPorts(int pid);

// GET http://127.0.0.1:port/path; returns the body, or "" on failure.
std::string HttpGet(int port, const std::string& path);

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_SUBPROCESS_H_

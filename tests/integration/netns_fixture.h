// Several "hosts" on one machine for multi-host tests: each host is a network
// namespace of its own (loopback up, one veth to a Linux bridge in a "switch"
// namespace), all on 10.213.0.0/24, so services talk over real, non-loopback TCP and a
// test can cut, kill or restart one host's processes without touching the others.
// Traffic stays inside these namespaces: the machine's own network is not involved.
//
// Needs root and iproute2 (`ip netns`). Namespaces are named mdt<pid>-<host> (the
// switch: mdt<pid>-sw); creating a LAN first removes those an earlier test process
// left behind when it crashed (its pid no longer runs), killing what still runs in them.
#ifndef MOSDAT_TESTS_INTEGRATION_NETNS_FIXTURE_H_
#define MOSDAT_TESTS_INTEGRATION_NETNS_FIXTURE_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace mosdat::testing {

class NetnsLan {
 public:
  // Hosts get 10.213.0.1, .2, ... in the order given. Host names: [a-z0-9], at most 8.
  static absl::StatusOr<std::unique_ptr<NetnsLan>> Create(const std::vector<std::string>& hosts);
  // Kills whatever still runs in the namespaces, then deletes them (and so the veths).
  ~NetnsLan();

  NetnsLan(const NetnsLan&) = delete;
  NetnsLan& operator=(const NetnsLan&) = delete;

  const std::string& Namespace(const std::string& host) const { return hosts_.at(host).netns; }
  const std::string& Address(const std::string& host) const { return hosts_.at(host).address; }
  // `argv` run inside the host's namespace (`ip netns exec NS argv...`); the process
  // keeps its pid (ip execs it), so signals reach it directly.
  std::vector<std::string> Exec(const std::string& host, std::vector<std::string> argv) const;
  // The pids of the processes that run in the host's namespace now.
  std::vector<int> Pids(const std::string& host) const;

 private:
  struct Host {
    std::string netns;
    std::string address;
  };
  NetnsLan() = default;
  absl::Status AddHost(const std::string& name, int index);
  std::vector<std::string> namespaces_;  // created, switch first
  std::map<std::string, Host> hosts_;
};

// Lets the test process reach a TCP service inside a namespace: every connection to a
// unix socket (`target()`, e.g. for grpc::CreateChannel) is forwarded to host:port by
// a connection made from inside the namespace. A failed connect closes the client's
// connection, as a refused TCP connect would.
class NetnsForward {
 public:
  static absl::StatusOr<std::unique_ptr<NetnsForward>> Start(const std::string& netns,
                                                             const std::string& host, int port,
                                                             const std::string& socket_path);
  ~NetnsForward();  // closes every connection and joins its threads

  std::string target() const { return "unix:" + socket_path_; }

 private:
  struct Connection {
    int client = -1;
    int server = -1;
    std::thread up, down;
  };
  NetnsForward() = default;
  void Accept();  // on the acceptor thread, inside the namespace

  std::string socket_path_;
  std::string host_;
  int port_ = 0;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

// Holds host:port inside a namespace like a service that is down but whose callers can
// be counted: each connection is accepted and closed at once, and counted by the
// caller's address.
class NetnsRefuser {
 public:
  static absl::StatusOr<std::unique_ptr<NetnsRefuser>> Start(const std::string& netns,
                                                             const std::string& host, int port);
  ~NetnsRefuser();  // stops listening, so a real service can take the port

  // Connections refused so far from `address`.
  int Count(const std::string& address);

 private:
  NetnsRefuser() = default;
  void Accept();

  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread acceptor_;
  std::mutex mutex_;
  std::map<std::string, int> counts_;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_NETNS_FIXTURE_H_

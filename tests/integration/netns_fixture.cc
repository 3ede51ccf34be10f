#include "tests/integration/netns_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/process.h"

namespace mosdat::testing {
namespace {

constexpr char kPrefix[] = "mdt";
constexpr char kSubnet[] = "10.213.0.";

// Runs `ip args...`; the error names the command and says what ip said.
absl::StatusOr<std::string> Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> ran =
      mosdat::RunCommand(argv, CurrentEnvironment(), absl::Seconds(20));
  if (!ran.ok()) return ran.status();
  if (ran->status.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(argv, " "), ": ", absl::StripAsciiWhitespace(ran->err)));
  }
  return ran->out;
}

std::vector<int> NamespacePids(const std::string& netns) {
  std::vector<int> pids;
  absl::StatusOr<std::string> out = Ip({"netns", "pids", netns});
  if (!out.ok()) return pids;
  for (absl::string_view line : absl::StrSplit(*out, '\n', absl::SkipWhitespace())) {
    int pid = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &pid) && pid > 1) pids.push_back(pid);
  }
  return pids;
}

// Kills what runs in `netns` (processes our tests started there) and deletes it.
void Remove(const std::string& netns) {
  // A process may fork while we kill (a desktop's helpers): go round until none is left.
  for (int round = 0; round < 20; ++round) {
    std::vector<int> pids = NamespacePids(netns);
    if (pids.empty()) break;
    for (int pid : pids) kill(pid, SIGKILL);
    const absl::Time until = absl::Now() + absl::Seconds(2);
    while (absl::Now() < until && !NamespacePids(netns).empty()) {
      absl::SleepFor(absl::Milliseconds(20));  // poll interval while they die
    }
  }
  Ip({"netns", "delete", netns}).IgnoreError();
}

// Namespaces of earlier test processes that are gone (crashed before their destructor
// ran), and any of ours with this pid's names (a recycled pid).
void RemoveLeftovers() {
  absl::StatusOr<std::string> list = Ip({"netns", "list"});
  if (!list.ok()) return;
  for (absl::string_view line : absl::StrSplit(*list, '\n', absl::SkipWhitespace())) {
    std::string name(line.substr(0, line.find(' ')));
    absl::string_view rest = name;
    if (!absl::ConsumePrefix(&rest, kPrefix)) continue;
    const size_t dash = rest.find('-');
    int pid = 0;
    if (dash == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, dash), &pid)) continue;
    if (pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)) Remove(name);
  }
}

// Starts `thread` inside `netns`: a network namespace belongs to a thread, so only the
// sockets that thread creates live there. `setup` runs there first, and its status is
// returned; `loop` follows when it succeeded.
absl::Status StartThreadIn(const std::string& netns, std::thread* thread,
                           std::function<absl::Status()> setup, std::function<void()> loop) {
  const int netns_fd = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (netns_fd < 0) return absl::NotFoundError(absl::StrCat("no network namespace ", netns));
  std::promise<absl::Status> started;
  std::future<absl::Status> result = started.get_future();
  *thread = std::thread([started = std::move(started), netns_fd, netns, setup = std::move(setup),
                         loop = std::move(loop)]() mutable {
    absl::Status status =
        setns(netns_fd, CLONE_NEWNET) == 0
            ? absl::OkStatus()
            : absl::InternalError(absl::StrCat("setns into ", netns, ": ", std::strerror(errno)));
    close(netns_fd);
    if (status.ok()) status = setup();
    const bool ok = status.ok();
    started.set_value(std::move(status));
    if (ok) loop();
  });
  return result.get();
}

bool ValidHostName(const std::string& name) {
  if (name.empty() || name.size() > 8 || name == "sw") return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NetnsLan>> NetnsLan::Create(const std::vector<std::string>& hosts) {
  if (hosts.empty() || hosts.size() > 200) {
    return absl::InvalidArgumentError("a LAN needs between 1 and 200 hosts");
  }
  RemoveLeftovers();
  std::unique_ptr<NetnsLan> lan(new NetnsLan());
  const std::string sw = absl::StrCat(kPrefix, getpid(), "-sw");
  if (absl::StatusOr<std::string> s = Ip({"netns", "add", sw}); !s.ok()) return s.status();
  lan->namespaces_.push_back(sw);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"-n", sw, "link", "set", "lo", "up"},
                                             {"-n", sw, "link", "add", "br0", "type", "bridge"},
                                             {"-n", sw, "link", "set", "br0", "up"}}) {
    if (absl::StatusOr<std::string> s = Ip(args); !s.ok()) return s.status();
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (!ValidHostName(hosts[i]) || lan->hosts_.contains(hosts[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "host name \"", hosts[i], "\": use up to 8 of [a-z0-9], unique, not \"sw\""));
    }
    if (absl::Status s = lan->AddHost(hosts[i], static_cast<int>(i) + 1); !s.ok()) return s;
  }
  // Every link up before anything is started: no service sees a network still coming up.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (const auto& [name, host] : lan->hosts_) {
    for (;;) {
      absl::StatusOr<std::string> link = Ip({"-n", host.netns, "-br", "link", "show", "eth0"});
      if (link.ok() && absl::StrContains(*link, " UP ")) break;
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "eth0 of ", host.netns,
            " did not come up: ", link.ok() ? *link : std::string(link.status().message())));
      }
      absl::SleepFor(absl::Milliseconds(20));  // poll interval
    }
  }
  return lan;
}

absl::Status NetnsLan::AddHost(const std::string& name, int index) {
  const std::string sw = namespaces_.front();  // a copy: namespaces_ grows below
  Host host{.netns = absl::StrCat(kPrefix, getpid(), "-", name),
            .address = absl::StrCat(kSubnet, index)};
  if (absl::StatusOr<std::string> s = Ip({"netns", "add", host.netns}); !s.ok()) return s.status();
  namespaces_.push_back(host.netns);
  const std::string port = "p-" + name;  // the switch's side; names live in their namespace
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-n", host.netns, "link", "set", "lo", "up"},
           {"-n", host.netns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns",
            sw},
           {"-n", sw, "link", "set", port, "master", "br0"},
           {"-n", sw, "link", "set", port, "up"},
           {"-n", host.netns, "addr", "add", host.address + "/24", "dev", "eth0"},
           {"-n", host.netns, "link", "set", "eth0", "up"}}) {
    if (absl::StatusOr<std::string> s = Ip(args); !s.ok()) return s.status();
  }
  hosts_.emplace(name, std::move(host));
  return absl::OkStatus();
}

NetnsLan::~NetnsLan() {
  // Hosts first, the switch last.
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) Remove(*it);
}

std::vector<std::string> NetnsLan::Exec(const std::string& host,
                                        std::vector<std::string> argv) const {
  std::vector<std::string> out = {"ip", "netns", "exec", Namespace(host)};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<int> NetnsLan::Pids(const std::string& host) const {
  return NamespacePids(Namespace(host));
}

absl::StatusOr<std::unique_ptr<NetnsForward>> NetnsForward::Start(const std::string& netns,
                                                                  const std::string& host, int port,
                                                                  const std::string& socket_path) {
  std::unique_ptr<NetnsForward> forward(new NetnsForward());
  forward->socket_path_ = socket_path;
  forward->host_ = host;
  forward->port_ = port;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  std::strcpy(address.sun_path, socket_path.c_str());
  unlink(socket_path.c_str());
  forward->listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (forward->listen_fd_ < 0 ||
      bind(forward->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(forward->listen_fd_, 64) != 0 || pipe2(forward->stop_pipe_, O_CLOEXEC) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot listen on ", socket_path, ": ", std::strerror(errno)));
  }
  NetnsForward* self = forward.get();
  if (absl::Status s = StartThreadIn(
          netns, &forward->acceptor_, [] { return absl::OkStatus(); }, [self] { self->Accept(); });
      !s.ok()) {
    return s;
  }
  return forward;
}

void NetnsForward::Accept() {
  auto pump = [](int from, int to) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = read(from, buffer, sizeof(buffer));
      if (n <= 0) break;
      for (ssize_t sent = 0; sent < n;) {
        // MSG_NOSIGNAL: a peer gone (a killed service) must not SIGPIPE the test.
        const ssize_t w = send(to, buffer + sent, n - sent, MSG_NOSIGNAL);
        if (w <= 0) {
          shutdown(from, SHUT_RDWR);
          shutdown(to, SHUT_RDWR);
          return;
        }
        sent += w;
      }
    }
    shutdown(to, SHUT_WR);  // the other side's reader sees the end
  };
  for (;;) {
    pollfd fds[2] = {{.fd = listen_fd_, .events = POLLIN}, {.fd = stop_pipe_[0], .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, host_.c_str(), &to.sin_addr);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
      if (server >= 0) close(server);
      close(client);  // as a refused connection: the client tries again later
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->client = client;
    connection->server = server;
    connection->up = std::thread(pump, client, server);
    connection->down = std::thread(pump, server, client);
    std::lock_guard lock(mutex_);
    connections_.push_back(std::move(connection));
  }
}

NetnsForward::~NetnsForward() {
  if (stop_pipe_[1] >= 0) {
    const char stop = 's';
    (void)!write(stop_pipe_[1], &stop, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard lock(mutex_);
  for (const auto& c : connections_) {
    shutdown(c->client, SHUT_RDWR);
    shutdown(c->server, SHUT_RDWR);
  }
  for (const auto& c : connections_) {
    c->up.join();
    c->down.join();
    close(c->client);
    close(c->server);
  }
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
    if (fd >= 0) close(fd);
  }
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

absl::StatusOr<std::unique_ptr<NetnsRefuser>> NetnsRefuser::Start(const std::string& netns,
                                                                  const std::string& host,
                                                                  int port) {
  std::unique_ptr<NetnsRefuser> refuser(new NetnsRefuser());
  if (pipe2(refuser->stop_pipe_, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  NetnsRefuser* self = refuser.get();
  auto listen_there = [self, host, port]() -> absl::Status {
    self->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(self->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &address.sin_addr);
    if (self->listen_fd_ < 0 ||
        bind(self->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(self->listen_fd_, 64) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot listen on ", host, ":", port, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  };
  if (absl::Status s =
          StartThreadIn(netns, &refuser->acceptor_, listen_there, [self] { self->Accept(); });
      !s.ok()) {
    return s;
  }
  return refuser;
}

void NetnsRefuser::Accept() {
  for (;;) {
    pollfd fds[2] = {{.fd = listen_fd_, .events = POLLIN}, {.fd = stop_pipe_[0], .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    sockaddr_in peer{};
    socklen_t length = sizeof(peer);
    const int client =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
    if (client < 0) continue;
    close(client);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
    std::lock_guard lock(mutex_);
    ++counts_[text];
  }
}

int NetnsRefuser::Count(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(address);
  return it == counts_.end() ? 0 : it->second;
}

NetnsRefuser::~NetnsRefuser() {
  if (stop_pipe_[1] >= 0) {
    const char stop = 's';
    (void)!write(stop_pipe_[1], &stop, 1);
  }
  if (acceptor_.joinable()) acceptor_.join();
  for (int fd : {listen_fd_, stop_pipe_[0], stop_pipe_[1]}) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace mosdat::testing

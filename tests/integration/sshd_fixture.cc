// SshdFixture: runs /usr/sbin/sshd -D -e on 127.0.0.1 with generated keys (see header).
#include "tests/integration/sshd_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/net.h"

namespace mosdat::testing {
namespace {

constexpr char kSshd[] = "/usr/sbin/sshd";  // sshd insists on an absolute path
constexpr absl::Duration kStartDeadline = absl::Seconds(15);
constexpr absl::Duration kKeygenTimeout = absl::Seconds(30);

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Output of a helper program, or an error carrying its stderr.
absl::StatusOr<std::string> Run(const std::vector<std::string>& argv) {
  absl::StatusOr<CommandResult> result =
      mosdat::RunCommand(argv, CurrentEnvironment(), kKeygenTimeout);
  if (!result.ok()) return result.status();
  if (result->status.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(argv[0], " failed (", result->status.ToString(), "): ", result->err));
  }
  return result->out;
}

// Every process below `root`, from /proc parentage.
std::vector<pid_t> Descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFileOrEmpty(entry.path() / "stat");
    size_t paren = stat.rfind(')');  // the command name may contain spaces and ')'
    if (paren == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
    if (fields.size() < 2) continue;
    children.emplace(std::stoi(fields[1]), std::stoi(name));
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

// True when something on 127.0.0.1:port accepts a connection and sends an SSH banner
// before `deadline`.
bool GreetsWithSshBanner(int port, absl::Time deadline) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string banner;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    while (banner.size() < 4) {
      int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      struct pollfd p = {fd, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
      char buffer[64];
      ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      banner.append(buffer, n);
    }
  }
  close(fd);
  return banner.rfind("SSH-", 0) == 0;
}

}  // namespace

SshdFixture::~SshdFixture() { Stop(); }

std::string SshdFixture::log() const { return ReadFileOrEmpty(dir_.File("sshd.log")); }

SshOptions SshdFixture::ClientOptions() const {
  SshOptions options;
  options.host = "127.0.0.1";
  options.port = port_;
  options.user = user_;
  options.private_key_path = client_key_.private_path;
  options.known_hosts_path = known_hosts_path_;
  return options;
}

absl::StatusOr<SshKeyFiles> SshdFixture::GenerateKey(const std::string& name) {
  SshKeyFiles key;
  key.private_path = dir_.File(name);
  key.public_path = key.private_path + ".pub";
  absl::StatusOr<std::string> generated = Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                               "mosdat-test-" + name, "-f", key.private_path});
  if (!generated.ok()) return generated.status();
  std::vector<std::string> public_fields =
      absl::StrSplit(ReadFileOrEmpty(key.public_path), ' ', absl::SkipWhitespace());
  if (public_fields.size() < 2) {
    return absl::InternalError(absl::StrCat("unexpected public key in ", key.public_path));
  }
  key.public_key = absl::StrCat(public_fields[0], " ", public_fields[1]);
  // "256 SHA256:... comment (ED25519)"
  absl::StatusOr<std::string> listed = Run({"ssh-keygen", "-lf", key.public_path});
  if (!listed.ok()) return listed.status();
  std::vector<std::string> listed_fields = absl::StrSplit(*listed, ' ', absl::SkipWhitespace());
  if (listed_fields.size() < 2 || listed_fields[1].rfind("SHA256:", 0) != 0) {
    return absl::InternalError(absl::StrCat("unexpected ssh-keygen -l output: ", *listed));
  }
  key.fingerprint = listed_fields[1];
  return key;
}

std::string SshdFixture::WriteKnownHosts(const std::string& name,
                                         const std::string& public_key) const {
  std::string path = dir_.File(name);
  std::string line =
      public_key.empty() ? "" : absl::StrCat("[127.0.0.1]:", port_, " ", public_key, "\n");
  (void)WriteFile(path, line);
  return path;
}

absl::Status SshdFixture::Prepare() {
  // sshd's privilege separation directory (it refuses to start without it).
  std::error_code error;
  std::filesystem::create_directories("/run/sshd", error);
  if (!std::filesystem::is_directory("/run/sshd")) {
    return absl::FailedPreconditionError("cannot create /run/sshd (run the tests as root)");
  }
  struct passwd* pw = getpwuid(geteuid());
  if (pw == nullptr) return absl::InternalError("the current user has no passwd entry");
  user_ = pw->pw_name;

  absl::StatusOr<SshKeyFiles> host = GenerateKey("host_ed25519");
  if (!host.ok()) return host.status();
  host_key_ = *host;
  absl::StatusOr<SshKeyFiles> client = GenerateKey("client_ed25519");
  if (!client.ok()) return client.status();
  client_key_ = *client;
  if (absl::Status s = WriteFile(dir_.File("authorized_keys"), client_key_.public_key + "\n");
      !s.ok()) {
    return s;
  }
  prepared_ = true;
  return absl::OkStatus();
}

absl::Status SshdFixture::Launch() {
  // StrictModes no: the key files live under /tmp, whose modes sshd would reject.
  // SetEnv SHLVL=1: Debian's bash sources ~/.bashrc for commands run by sshd unless it is
  // a nested shell; this machine's root .bashrc (pyenv init) costs ~1 s per command.
  std::string config = absl::StrCat(
      "ListenAddress 127.0.0.1\n"
      "Port ",
      port_,
      "\n"
      "HostKey ",
      host_key_.private_path,
      "\n"
      "PidFile ",
      dir_.File("sshd.pid"),
      "\n"
      "AuthorizedKeysFile ",
      dir_.File("authorized_keys"),
      "\n"
      "UsePAM no\n"
      "StrictModes no\n"
      "PasswordAuthentication no\n"
      "KbdInteractiveAuthentication no\n"
      "PubkeyAuthentication yes\n"
      "PermitRootLogin prohibit-password\n"
      "Subsystem sftp internal-sftp\n"
      "PrintMotd no\n"
      "UseDNS no\n"
      "SetEnv SHLVL=1\n"
      "LogLevel VERBOSE\n");
  if (absl::Status s = WriteFile(dir_.File("sshd_config"), config); !s.ok()) return s;

  absl::StatusOr<Process> sshd =
      Process::Spawn({.argv = {kSshd, "-D", "-e", "-f", dir_.File("sshd_config")},
                      .env = CurrentEnvironment(),
                      .stderr_path = dir_.File("sshd.log")});
  if (!sshd.ok()) return sshd.status();
  sshd_.emplace(std::move(*sshd));
  const absl::Time deadline = absl::Now() + kStartDeadline;
  while (absl::Now() < deadline) {
    if (GreetsWithSshBanner(port_, deadline)) return absl::OkStatus();
    // Doubles as the poll interval: returns at once if sshd died.
    if (std::optional<ExitStatus> status = sshd_->Wait(absl::Milliseconds(10))) {
      sshd_.reset();
      return absl::UnavailableError(
          absl::StrCat("sshd exited (", status->ToString(), "): ", log()));
    }
  }
  Stop();
  return absl::DeadlineExceededError(
      absl::StrCat("sshd did not greet on port ", port_, " within 15 s: ", log()));
}

absl::Status SshdFixture::Start() {
  if (sshd_) return absl::OkStatus();
  if (!prepared_) {
    if (absl::Status s = Prepare(); !s.ok()) return s;
  }
  absl::Status status;
  // Another test may grab the free port before sshd binds it: try a few ports.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) {
      absl::StatusOr<int> free_port = PickFreeLoopbackPort();
      port_ = free_port.ok() ? *free_port : 0;
      known_hosts_path_ = WriteKnownHosts("known_hosts", host_key_.public_key);
    }
    status = Launch();
    if (status.ok() || status.message().find("Address already in use") == absl::string_view::npos) {
      return status;
    }
  }
  return status;
}

absl::Status SshdFixture::Restart() {
  Stop();
  return Launch();
}

void SshdFixture::Stop() {
  if (!sshd_) return;
  // Each connection's handler calls setsid(), leaving sshd's process group: find them
  // by parentage while sshd still lives, so a killed server drops its clients.
  // pidfds: no signal reaches a recycled pid, and poll() tells when each one is dead
  // (its sockets closed) without a sleep loop.
  std::vector<struct pollfd> dying;
  for (pid_t pid : Descendants(sshd_->pid())) {
    // Raw syscalls: Debian 12's <sys/pidfd.h> lacks extern "C" and does not link from C++.
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) continue;  // already gone
    syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
    dying.push_back({fd, POLLIN, 0});
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (struct pollfd& p : dying) {
    int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    poll(&p, 1, std::max(left, 0));
    close(p.fd);
  }
  sshd_->Terminate(absl::Seconds(5));
  sshd_.reset();
}

}  // namespace mosdat::testing

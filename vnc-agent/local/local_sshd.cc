// LocalSshd: runs /usr/sbin/sshd -D -e on 127.0.0.1 with generated keys (see header).
#include "vnc-agent/local/local_sshd.h"

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
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/net.h"

namespace mosdat {
namespace {

constexpr char kSshd[] = "/usr/sbin/sshd";  // sshd re-executes itself: an absolute path
constexpr absl::Duration kStartDeadline = absl::Seconds(15);
constexpr absl::Duration kKeygenTimeout = absl::Seconds(30);
constexpr absl::Duration kStopDeadline = absl::Seconds(5);
constexpr int kPortAttempts = 5;

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Output of a helper program, or an error carrying its stderr.
absl::StatusOr<std::string> Run(const std::vector<std::string>& argv) {
  absl::StatusOr<CommandResult> result = RunCommand(argv, CurrentEnvironment(), kKeygenTimeout);
  if (!result.ok()) return result.status();
  if (result->status.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(argv[0], " failed (", result->status.ToString(), "): ", result->err));
  }
  return result->out;
}

// `text` as one double-quoted sshd_config argument. OpenSSH 9.2 splits arguments at
// unquoted blanks; inside double quotes everything is literal except the escapes \\,
// \" and \' (so a backslash is written doubled). Callers rule out '"' and line breaks.
std::string ConfigQuote(const std::string& text) {
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\\", "\\\\"}}), "\"");
}

bool IsEnvName(const std::string& name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char ch) { return absl::ascii_isalnum(ch) || ch == '_'; });
}

// The sshd_config line "SetEnv "A=1" "B=x y"" for `env`, with SHLVL=1 unless `env`
// sets it.
//
// sshd_config quirks (OpenSSH 9.2): only the FIRST SetEnv line counts (later ones are
// silently ignored), and so does the first of duplicate names; hence one line for all.
// sshd itself accepts any name, e.g. "1A", hence the check; '"' and line breaks are
// refused rather than escaped (a line break cannot be carried at all).
//
// SHLVL=1: Debian's bash sources ~/.bashrc for commands run by sshd unless it is a
// nested shell; a slow .bashrc (pyenv init costs ~1 s) would slow every command.
absl::StatusOr<std::string> SetEnvLine(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> entries = {{"SHLVL", "1"}};
  for (const auto& [name, value] : env) {
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("session_env name \"", absl::CHexEscape(name),
                       "\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)"));
    }
    if (value.find_first_of(std::string("\"\n\r\0", 4)) != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("session_env value of ", name,
                       " contains a '\"', newline or NUL, which sshd_config cannot carry: \"",
                       absl::CHexEscape(value), "\""));
    }
    entries[name] = value;
  }
  std::string line = "SetEnv";
  for (const auto& [name, value] : entries) {
    absl::StrAppend(&line, " ", ConfigQuote(absl::StrCat(name, "=", value)));
  }
  return line;
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

absl::StatusOr<SshKeyFiles> GenerateSshKey(const std::string& dir, const std::string& name) {
  SshKeyFiles key;
  key.private_path = dir + "/" + name;
  key.public_path = key.private_path + ".pub";
  // ssh-keygen asks before overwriting, and its stdin is /dev/null.
  std::error_code ignored;
  std::filesystem::remove(key.private_path, ignored);
  std::filesystem::remove(key.public_path, ignored);
  absl::StatusOr<std::string> generated = Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                               "mosdat-" + name, "-f", key.private_path});
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

absl::StatusOr<std::unique_ptr<LocalSshd>> LocalSshd::Start(const LocalSshdOptions& options) {
  if (options.dir.empty() || !std::filesystem::is_directory(options.dir)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LocalSshd needs an existing directory, not \"", options.dir, "\""));
  }
  // The paths go into sshd_config, where AuthorizedKeysFile also expands %-tokens.
  if (options.dir.find_first_of("\"\n\r%") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("LocalSshd's directory must not contain '\"', '%' or a line break: \"",
                     absl::CHexEscape(options.dir), "\""));
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port ", options.port));
  }
  absl::StatusOr<std::string> set_env = SetEnvLine(options.session_env);
  if (!set_env.ok()) return set_env.status();

  std::unique_ptr<LocalSshd> sshd(new LocalSshd());
  sshd->dir_ = options.dir;
  sshd->set_env_ = *set_env;
  if (absl::Status s = sshd->Prepare(); !s.ok()) return s;
  if (options.port != 0) {
    sshd->port_ = options.port;
    if (absl::Status s = sshd->Launch(); !s.ok()) return s;
    return sshd;
  }
  // Another process may take the free port before sshd binds it: try a few ports.
  absl::Status status;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    absl::StatusOr<int> port = PickFreeLoopbackPort();
    if (!port.ok()) return port.status();
    sshd->port_ = *port;
    status = sshd->Launch();
    if (status.ok()) return sshd;
    if (sshd->log().find("Address already in use") == std::string::npos) break;
  }
  return status;
}

LocalSshd::~LocalSshd() { Stop(); }

std::string LocalSshd::log() const { return ReadFileOrEmpty(File("sshd.log")); }

SshOptions LocalSshd::ClientOptions() const {
  SshOptions options;
  options.host = "127.0.0.1";
  options.port = port_;
  options.user = user_;
  options.private_key_path = client_key_.private_path;
  options.host_key_fingerprint = host_key_.fingerprint;
  return options;
}

absl::Status LocalSshd::Prepare() {
  // sshd's privilege separation directory: as root it refuses to start without it.
  std::error_code ignored;
  std::filesystem::create_directories("/run/sshd", ignored);
  if (geteuid() == 0 && !std::filesystem::is_directory("/run/sshd")) {
    return absl::FailedPreconditionError("cannot create /run/sshd for sshd");
  }
  struct passwd* pw = getpwuid(geteuid());
  if (pw == nullptr) return absl::InternalError("the current user has no passwd entry");
  user_ = pw->pw_name;

  absl::StatusOr<SshKeyFiles> host = GenerateSshKey(dir_, "host_ed25519");
  if (!host.ok()) return host.status();
  host_key_ = *host;
  absl::StatusOr<SshKeyFiles> client = GenerateSshKey(dir_, "client_ed25519");
  if (!client.ok()) return client.status();
  client_key_ = *client;
  return WriteFile(File("authorized_keys"), client_key_.public_key + "\n");
}

absl::Status LocalSshd::Launch() {
  // StrictModes no: the directory may live under /tmp, whose modes sshd would reject.
  // UsePAM no: keys are checked by sshd itself, and PAM's session modules would
  // register a login on the host and add /etc/environment to the session.
  const std::vector<std::string> lines = {
      "ListenAddress 127.0.0.1",
      absl::StrCat("Port ", port_),
      absl::StrCat("HostKey ", ConfigQuote(host_key_.private_path)),
      absl::StrCat("PidFile ", ConfigQuote(File("sshd.pid"))),
      absl::StrCat("AuthorizedKeysFile ", ConfigQuote(File("authorized_keys"))),
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "Subsystem sftp internal-sftp",
      "PrintMotd no",
      "UseDNS no",
      set_env_,
      "LogLevel VERBOSE",
  };
  const std::string config = absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
  if (absl::Status s = WriteFile(File("sshd_config"), config); !s.ok()) return s;
  std::error_code ignored;
  std::filesystem::remove(File("sshd.pid"), ignored);

  absl::StatusOr<Process> sshd =
      Process::Spawn({.argv = {kSshd, "-D", "-e", "-f", File("sshd_config")},
                      .env = CurrentEnvironment(),
                      .stderr_path = File("sshd.log"),
                      .dies_with_this_process = true});
  if (!sshd.ok()) return sshd.status();
  sshd_.emplace(std::move(*sshd));
  const std::string pid = absl::StrCat(sshd_->pid());
  const absl::Time deadline = absl::Now() + kStartDeadline;
  while (absl::Now() < deadline) {
    // sshd writes its pid file once its socket is bound: only then is the banner ours,
    // not that of another server that took the port first.
    if (absl::StripAsciiWhitespace(ReadFileOrEmpty(File("sshd.pid"))) == pid &&
        GreetsWithSshBanner(port_, deadline)) {
      return absl::OkStatus();
    }
    // Doubles as the poll interval: returns at once if sshd died.
    if (std::optional<ExitStatus> status = sshd_->Wait(absl::Milliseconds(10))) {
      sshd_.reset();
      return absl::UnavailableError(
          absl::StrCat("sshd exited (", status->ToString(), "): ", FileTail(File("sshd.log"))));
    }
  }
  Stop();
  return absl::DeadlineExceededError(absl::StrCat("sshd did not greet on port ", port_, " within ",
                                                  absl::FormatDuration(kStartDeadline), ": ",
                                                  FileTail(File("sshd.log"))));
}

absl::Status LocalSshd::Restart() {
  Stop();
  return Launch();
}

void LocalSshd::Stop() {
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
  const absl::Time deadline = absl::Now() + kStopDeadline;
  for (struct pollfd& p : dying) {
    int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    poll(&p, 1, std::max(left, 0));
    close(p.fd);
  }
  sshd_->Terminate(kStopDeadline);
  sshd_.reset();
}

}  // namespace mosdat

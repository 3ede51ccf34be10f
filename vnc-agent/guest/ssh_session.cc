// SshSession on libssh 0.10 (Debian 12): connect, verify the host key, authenticate
// with a private key, run commands on exec channels, upload over SFTP, and keep
// line-protocol processes. Every libssh call on a connection holds its mutex.
#include "vnc-agent/guest/ssh_session.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/shell_quote.h"

namespace mosdat {

// What a session and the processes it started share. A process remembers the
// generation it was started in: ssh_free() frees every channel of a session, so after a
// Reconnect() (or the session's destruction) its channel pointer must not be touched.
struct SshConnection {
  SshOptions options;
  std::string target;  // "user@host:port", for messages
  std::mutex mu;
  ssh_session session = nullptr;  // guarded by mu
  uint64_t generation = 0;        // guarded by mu; bumped whenever `session` is freed
};

namespace {

// Longest single wait under the mutex; other threads get their turn between slices.
constexpr absl::Duration kSlice = absl::Milliseconds(50);
// After the remote end sent EOF, how long to wait for its exit status at least.
constexpr absl::Duration kExitStatusGrace = absl::Seconds(2);
// WriteLine's limit for a remote process that stopped reading its stdin.
constexpr absl::Duration kWriteTimeout = absl::Seconds(30);
// Timeout of the `mv` that finishes an upload over an existing file.
constexpr absl::Duration kRenameTimeout = absl::Seconds(30);
constexpr size_t kReadChunk = 32 * 1024;
constexpr size_t kSftpChunk = 32 * 1024;          // well below OpenSSH's 256 KiB packet limit
constexpr size_t kUploadReadChunk = 1024 * 1024;  // UploadFile reads its file this much at a time
constexpr size_t kStderrTail = 4096;
// Exec's bounds on what a command prints (the VM is untrusted): stdout keeps its first
// bytes, stderr its last.
constexpr size_t kMaxExecStdout = size_t{64} << 20;
constexpr size_t kMaxExecStderr = size_t{1} << 20;
// Download reads this much per SFTP request.
constexpr size_t kDownloadChunk = 64 * 1024;

int ToMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d) + 1, INT_MAX));
}

std::string HostPort(const SshOptions& o) {
  if (o.host.find(':') != std::string::npos) return absl::StrCat("[", o.host, "]:", o.port);
  return absl::StrCat(o.host, ":", o.port);
}

// The host's name in known_hosts, as `ssh-keygen -R` expects it.
std::string KnownHostsName(const SshOptions& o) {
  if (o.port == 22) return o.host;
  return absl::StrCat("[", o.host, "]:", o.port);
}

std::string LocalUserName() {
  struct passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "";
}

// The program a command runs, for messages: commands may carry secrets in arguments.
std::string ProgramOf(const std::string& command) {
  size_t start = command.find_first_not_of(" \t\n");
  if (start == std::string::npos) return "(empty command)";
  size_t end = command.find_first_of(" \t\n", start);
  return command.substr(start, end == std::string::npos ? end : end - start);
}

std::string RandomSuffix() {
  std::random_device random;
  return absl::StrCat(absl::Hex(random()), absl::Hex(random()));
}

absl::Status SessionError(SshConnection& c, const std::string& what) {
  if (c.session == nullptr || !ssh_is_connected(c.session)) {
    std::string why = c.session != nullptr ? ssh_get_error(c.session) : "not connected";
    return absl::UnavailableError(absl::StrCat("ssh ", c.target, ": ", what, ": connection lost (",
                                               why, "); call Reconnect()"));
  }
  return absl::InternalError(
      absl::StrCat("ssh ", c.target, ": ", what, ": ", ssh_get_error(c.session)));
}

absl::Status RequireSession(SshConnection& c) {
  if (c.session != nullptr && ssh_is_connected(c.session)) return absl::OkStatus();
  absl::Status status = SessionError(c, "not usable");
  status.SetPayload(kCommandNotStarted, absl::Cord("1"));
  return status;
}

void FreeSession(SshConnection& c) {
  if (c.session == nullptr) return;
  ssh_disconnect(c.session);
  ssh_free(c.session);  // frees its channels too
  c.session = nullptr;
  ++c.generation;
}

absl::StatusOr<std::string> Sha256Fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != 0) {
    return absl::InternalError("cannot hash the server's host key");
  }
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  if (text == nullptr) return absl::InternalError("cannot format the host key fingerprint");
  std::string out = text;  // "SHA256:<base64 without padding>", as ssh-keygen -l prints
  ssh_string_free_char(text);
  return out;
}

absl::Status VerifyHostKey(ssh_session session, const SshOptions& o) {
  const std::string where = HostPort(o);
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK) {
    return absl::UnavailableError(
        absl::StrCat("ssh ", where, ": no host key from the server: ", ssh_get_error(session)));
  }
  std::unique_ptr<ssh_key_struct, decltype(&ssh_key_free)> key(raw, ssh_key_free);
  absl::StatusOr<std::string> fingerprint = Sha256Fingerprint(key.get());
  if (!fingerprint.ok()) return fingerprint.status();
  const std::string presented =
      absl::StrCat(ssh_key_type_to_char(ssh_key_type(key.get())), " ", *fingerprint);

  if (!o.host_key_fingerprint.empty()) {
    if (*fingerprint == o.host_key_fingerprint) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        "ssh ", where, ": the server's host key ", presented,
        " does not match the pinned fingerprint ", o.host_key_fingerprint,
        "; refusing to connect. If the VM was reinstalled, check its new key on the console "
        "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and update the pin"));
  }

  const std::string file = o.known_hosts_path.empty() ? "~/.ssh/known_hosts" : o.known_hosts_path;
  const std::string add_hint = absl::StrCat(
      "Check the fingerprint on the VM's console (ssh-keygen -lf "
      "/etc/ssh/ssh_host_ed25519_key.pub), then add the key to ",
      file, " (e.g. ssh-keyscan -p ", o.port, " ", o.host, " >> ", file,
      ") or pin the fingerprint");
  switch (ssh_session_is_known_server(session)) {
    case SSH_KNOWN_HOSTS_OK:
      return absl::OkStatus();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return absl::PermissionDeniedError(absl::StrCat(
          "ssh ", where, ": HOST KEY CHANGED: the server presents ", presented, " but ", file,
          " holds a different key for ", KnownHostsName(o),
          ". This can be a man-in-the-middle attack, or the VM was reinstalled. If the new "
          "key is genuine, remove the old entry (ssh-keygen -R '",
          KnownHostsName(o), "' -f ", file, ") and add the new one"));
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return absl::PermissionDeniedError(absl::StrCat("ssh ", where, ": unknown host key ",
                                                      presented, " (not in ", file,
                                                      "); refusing to trust it. ", add_hint));
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  return absl::FailedPreconditionError(absl::StrCat("ssh ", where, ": cannot check the host key ",
                                                    presented, " against ", file, ": ",
                                                    ssh_get_error(session)));
}

// A connected, verified and authenticated libssh session (owned by the caller).
absl::StatusOr<ssh_session> OpenSession(const SshOptions& o, const std::string& target) {
  // The key first: a bad key path is for the user to fix, whatever the network does.
  ssh_key raw_key = nullptr;
  if (ssh_pki_import_privkey_file(o.private_key_path.c_str(), nullptr, nullptr, nullptr,
                                  &raw_key) != SSH_OK) {
    if (access(o.private_key_path.c_str(), R_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("ssh ", target, ": cannot read private key ", o.private_key_path, ": ",
                       std::strerror(errno)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "ssh ", target, ": ", o.private_key_path,
        " is not a private key libssh can load (passphrase-protected keys are not supported)"));
  }
  std::unique_ptr<ssh_key_struct, decltype(&ssh_key_free)> key(raw_key, ssh_key_free);

  ssh_session session = ssh_new();
  if (session == nullptr) return absl::ResourceExhaustedError("ssh_new failed");
  std::unique_ptr<ssh_session_struct, void (*)(ssh_session)> owner(session, [](ssh_session s) {
    ssh_disconnect(s);
    ssh_free(s);
  });

  const std::string user = o.user.empty() ? LocalUserName() : o.user;
  const int port = o.port;
  const long seconds = absl::ToInt64Seconds(o.connect_timeout);
  const long micros = absl::ToInt64Microseconds(o.connect_timeout - absl::Seconds(seconds));
  const bool process_config = false;  // only these options count, not ~/.ssh/config
  // When pinned, known_hosts must play no part, not even in algorithm preferences.
  const bool pinned = !o.host_key_fingerprint.empty();
  const std::string known_hosts = pinned ? "/dev/null" : o.known_hosts_path;
  if (ssh_options_set(session, SSH_OPTIONS_HOST, o.host.c_str()) < 0 ||
      ssh_options_set(session, SSH_OPTIONS_PORT, &port) < 0 ||
      ssh_options_set(session, SSH_OPTIONS_USER, user.c_str()) < 0 ||
      ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &seconds) < 0 ||
      ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &micros) < 0 ||
      ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &process_config) < 0 ||
      (!known_hosts.empty() &&
       (ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str()) < 0 ||
        ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0))) {
    return absl::InvalidArgumentError(
        absl::StrCat("ssh ", target, ": invalid options: ", ssh_get_error(session)));
  }

  if (ssh_connect(session) != SSH_OK) {
    return absl::UnavailableError(absl::StrCat("ssh ", target, ": cannot connect to ", HostPort(o),
                                               ": ", ssh_get_error(session)));
  }
  if (absl::Status verified = VerifyHostKey(session, o); !verified.ok()) return verified;

  switch (ssh_userauth_publickey(session, nullptr, key.get())) {
    case SSH_AUTH_SUCCESS:
      return owner.release();
    case SSH_AUTH_DENIED:
      return absl::PermissionDeniedError(absl::StrCat(
          "ssh ", target, ": the server rejected the key ", o.private_key_path, " for user ", user,
          " (is its public half in that user's authorized_keys on the VM?)"));
    case SSH_AUTH_PARTIAL:
      return absl::PermissionDeniedError(
          absl::StrCat("ssh ", target, ": the key ", o.private_key_path,
                       " was accepted but the server wants further authentication methods, "
                       "which mOSdat does not do"));
    default:
      return absl::UnavailableError(
          absl::StrCat("ssh ", target, ": authentication failed: ", ssh_get_error(session)));
  }
}

// Opens a session channel and starts `command` on it through the remote shell.
absl::StatusOr<ssh_channel> OpenExecChannel(SshConnection& c, const std::string& command) {
  ssh_channel channel = ssh_channel_new(c.session);
  if (channel == nullptr) return SessionError(c, "cannot create a channel");
  if (ssh_channel_open_session(channel) != SSH_OK) {
    absl::Status status = SessionError(c, "cannot open a session channel");
    // The connection is gone and nothing was asked of it: after a reconnect, running
    // the command is safe. (A live server refusing the channel is not retried.)
    if (status.code() == absl::StatusCode::kUnavailable) {
      status.SetPayload(kCommandNotStarted, absl::Cord("1"));
    }
    ssh_channel_free(channel);
    return status;
  }
  if (ssh_channel_request_exec(channel, command.c_str()) != SSH_OK) {
    absl::Status status = SessionError(c, absl::StrCat("cannot start ", ProgramOf(command)));
    ssh_channel_free(channel);
    return status;
  }
  return channel;
}

// Moves what libssh buffered for one stream into `sink`, without waiting, keeping at
// most `limit` bytes: stdout its first ones, stderr its last (`keep_tail`); sets
// `*truncated` when some were dropped. False on a session error.
bool Drain(ssh_channel channel, int is_stderr, size_t limit, std::string* sink, bool* truncated) {
  char buffer[kReadChunk];
  for (;;) {
    int n = ssh_channel_read_nonblocking(channel, buffer, sizeof(buffer), is_stderr);
    if (n > 0) {
      if (is_stderr) {
        sink->append(buffer, n);
        // Trimmed in batches: erasing the front at every read would be quadratic.
        if (sink->size() > 2 * limit) {
          sink->erase(0, sink->size() - limit);
          *truncated = true;
        }
      } else {
        const size_t room = limit - std::min(limit, sink->size());
        sink->append(buffer, std::min(room, static_cast<size_t>(n)));
        if (static_cast<size_t>(n) > room) *truncated = true;
      }
      continue;
    }
    return n != SSH_ERROR;  // 0: nothing right now; SSH_EOF: the stream ended
  }
}

// libssh 0.10's ssh_channel_get_exit_status() may block forever if the server never
// sends a status; ask in non-blocking mode and wait on the socket ourselves.
std::optional<int> AwaitExitStatus(ssh_session session, ssh_channel channel, absl::Time deadline) {
  for (;;) {
    ssh_set_blocking(session, 0);
    int status = ssh_channel_get_exit_status(channel);
    ssh_set_blocking(session, 1);
    if (status >= 0) return status;
    if (ssh_channel_is_closed(channel) || !ssh_is_connected(session)) return std::nullopt;
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    struct pollfd fd = {ssh_get_fd(session), POLLIN, 0};
    poll(&fd, 1, ToMillis(std::min(left, kSlice)));
  }
}

// Exec with `lock` (on c.mu) held, released between poll slices.
absl::StatusOr<SshExecResult> ExecLocked(SshConnection& c, std::unique_lock<std::mutex>& lock,
                                         const std::string& command, absl::Duration timeout) {
  if (absl::Status usable = RequireSession(c); !usable.ok()) return usable;
  absl::StatusOr<ssh_channel> opened = OpenExecChannel(c, command);
  if (!opened.ok()) return opened.status();
  ssh_channel channel = *opened;
  // No input: like `ssh host cmd </dev/null`, a command reading stdin ends, not hangs.
  if (ssh_channel_send_eof(channel) != SSH_OK) {
    absl::Status status = SessionError(c, absl::StrCat("starting ", ProgramOf(command)));
    ssh_channel_free(channel);
    return status;
  }
  const uint64_t generation = c.generation;
  const absl::Time deadline = absl::Now() + timeout;
  SshExecResult result;
  for (;;) {
    if (!Drain(channel, 0, kMaxExecStdout, &result.out, &result.truncated) ||
        !Drain(channel, 1, kMaxExecStderr, &result.err, &result.truncated)) {
      absl::Status status = SessionError(c, absl::StrCat("reading from ", ProgramOf(command)));
      ssh_channel_free(channel);
      return status;
    }
    if (ssh_channel_is_eof(channel)) break;
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      result.timed_out = true;
      break;
    }
    // Wakes on stdout data or EOF; stderr is drained after each slice.
    if (ssh_channel_poll_timeout(channel, ToMillis(std::min(left, kSlice)), 0) == SSH_ERROR) {
      absl::Status status = SessionError(c, absl::StrCat("reading from ", ProgramOf(command)));
      ssh_channel_free(channel);
      return status;
    }
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
    if (c.generation != generation) {  // the channel went with the old session
      return absl::UnavailableError(absl::StrCat("ssh ", c.target, ": the session was closed or ",
                                                 "reconnected while ", ProgramOf(command), " ran"));
    }
  }
  if (result.timed_out) {
    // Closing the channel alone leaves a command that does not write running on the VM.
    // sshd signals the command's process group; OpenSSH ignores this for root logins
    // (no privilege separation after auth), so there the command runs on.
    ssh_channel_request_send_signal(channel, "TERM");
  } else {
    result.exit_code =
        AwaitExitStatus(c.session, channel, std::max(deadline, absl::Now() + kExitStatusGrace))
            .value_or(-1);
  }
  if (result.err.size() > kMaxExecStderr) result.err.erase(0, result.err.size() - kMaxExecStderr);
  ssh_channel_close(channel);
  ssh_channel_free(channel);
  return result;
}

absl::Status SftpError(SshConnection& c, sftp_session sftp, const std::string& what,
                       const std::string& path) {
  std::string message = absl::StrCat("ssh ", c.target, ": ", what, " ", path);
  switch (sftp_get_error(sftp)) {
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
      return absl::NotFoundError(absl::StrCat(message, ": no such file or directory"));
    case SSH_FX_PERMISSION_DENIED:
      return absl::PermissionDeniedError(absl::StrCat(message, ": permission denied"));
    case SSH_FX_FILE_ALREADY_EXISTS:
      return absl::AlreadyExistsError(absl::StrCat(message, ": already exists"));
    default:
      return SessionError(c, absl::StrCat(what, " ", path));
  }
}

// Writes `contents` to a new file `path` and gives it `mode`.
// Hands out an upload's contents piece by piece; an empty piece is the end.
using ChunkSource = std::function<absl::StatusOr<std::string_view>()>;

absl::Status WriteNewRemoteFile(SshConnection& c, sftp_session sftp, const std::string& path,
                                const ChunkSource& next, int mode) {
  sftp_file file = sftp_open(sftp, path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (file == nullptr) return SftpError(c, sftp, "cannot create", path);
  while (true) {
    absl::StatusOr<std::string_view> contents = next();
    if (!contents.ok()) {
      sftp_close(file);
      return contents.status();
    }
    if (contents->empty()) break;
    for (size_t offset = 0; offset < contents->size();) {
      size_t n = std::min(kSftpChunk, contents->size() - offset);
      ssize_t written = sftp_write(file, contents->data() + offset, n);
      if (written <= 0) {
        absl::Status status = SftpError(c, sftp, "cannot write", path);
        sftp_close(file);
        return status;
      }
      offset += static_cast<size_t>(written);
    }
  }
  // Durable before it replaces the target, where the server can do it.
  if (sftp_extension_supported(sftp, "fsync@openssh.com", "1") && sftp_fsync(file) != 0) {
    absl::Status status = SftpError(c, sftp, "cannot fsync", path);
    sftp_close(file);
    return status;
  }
  if (sftp_close(file) != SSH_OK) return SftpError(c, sftp, "cannot close", path);
  // The server's umask applied to the mode given to open(); set the exact one.
  if (sftp_chmod(sftp, path.c_str(), static_cast<mode_t>(mode)) != SSH_OK) {
    return SftpError(c, sftp, "cannot chmod", path);
  }
  return absl::OkStatus();
}

}  // namespace

SshSession::SshSession(std::shared_ptr<SshConnection> connection)
    : connection_(std::move(connection)) {}

SshSession::~SshSession() {
  std::lock_guard<std::mutex> lock(connection_->mu);
  FreeSession(*connection_);
}

absl::StatusOr<std::unique_ptr<SshSession>> SshSession::Connect(const SshOptions& options) {
  auto connection = std::make_shared<SshConnection>();
  connection->options = options;
  connection->target =
      absl::StrCat(options.user.empty() ? LocalUserName() : options.user, "@", HostPort(options));
  const std::string& target = connection->target;
  if (options.host.empty()) {
    return absl::InvalidArgumentError("ssh: no host given");
  }
  if (options.port <= 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("ssh ", target, ": invalid port"));
  }
  if (options.private_key_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ssh ", target, ": no private key given (mOSdat authenticates with keys only)"));
  }
  if (!options.host_key_fingerprint.empty() &&
      options.host_key_fingerprint.rfind("SHA256:", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ssh ", target, ": host key fingerprint \"", options.host_key_fingerprint,
        "\" is not of the form SHA256:<base64> (as `ssh-keygen -lf KEY.pub` prints it)"));
  }
  absl::StatusOr<ssh_session> session = OpenSession(options, target);
  if (!session.ok()) return session.status();
  connection->session = *session;
  return std::unique_ptr<SshSession>(new SshSession(std::move(connection)));
}

absl::StatusOr<SshExecResult> SshSession::Exec(const std::string& command, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(connection_->mu);
  return ExecLocked(*connection_, lock, command, timeout);
}

absl::Status SshSession::Upload(const std::string& remote_path, std::string_view contents,
                                int mode) {
  bool given = false;
  return UploadFrom(remote_path, mode, [&]() -> absl::StatusOr<std::string_view> {
    if (given) return std::string_view();
    given = true;
    return contents;
  });
}

absl::Status SshSession::UploadFile(const std::string& remote_path, const std::string& local_path,
                                    int mode) {
  const int fd = open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", local_path, ": ", std::strerror(errno)));
  }
  std::string buffer(kUploadReadChunk, '\0');
  absl::Status status = UploadFrom(remote_path, mode, [&]() -> absl::StatusOr<std::string_view> {
    while (true) {
      ssize_t n = read(fd, buffer.data(), buffer.size());
      if (n >= 0) return std::string_view(buffer.data(), static_cast<size_t>(n));
      if (errno != EINTR) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot read ", local_path, ": ", std::strerror(errno)));
      }
    }
  });
  close(fd);
  return status;
}

absl::Status SshSession::UploadFrom(const std::string& remote_path, int mode,
                                    const std::function<absl::StatusOr<std::string_view>()>& next) {
  SshConnection& c = *connection_;
  if (mode < 0 || mode > 07777) {
    return absl::InvalidArgumentError(
        absl::StrCat("ssh ", c.target, ": invalid mode ", absl::Hex(mode), " for ", remote_path));
  }
  std::unique_lock<std::mutex> lock(c.mu);
  if (absl::Status usable = RequireSession(c); !usable.ok()) return usable;
  // Same directory, so the final rename stays on one filesystem and is atomic.
  const std::string temp = absl::StrCat(remote_path, ".mosdat-upload-", RandomSuffix());
  sftp_session sftp = sftp_new(c.session);
  if (sftp == nullptr) return SessionError(c, "cannot open an SFTP channel");
  if (sftp_init(sftp) != SSH_OK) {
    absl::Status status = SessionError(
        c, "cannot start SFTP (does the server's sshd_config have a `Subsystem sftp` line?)");
    sftp_free(sftp);
    return status;
  }
  absl::Status status = WriteNewRemoteFile(c, sftp, temp, next, mode);
  bool replace_with_mv = false;
  if (!status.ok()) {
    sftp_unlink(sftp, temp.c_str());
  } else if (sftp_rename(sftp, temp.c_str(), remote_path.c_str()) != SSH_OK) {
    // OpenSSH speaks SFTP v3, whose rename refuses to replace an existing file, and
    // libssh 0.10 has no posix-rename; mv -f is rename(2), which replaces atomically.
    replace_with_mv = true;
  }
  sftp_free(sftp);
  if (!status.ok() || !replace_with_mv) return status;

  absl::StatusOr<SshExecResult> moved =
      ExecLocked(c, lock, absl::StrCat("mv -f -- ", ShellQuote(temp), " ", ShellQuote(remote_path)),
                 kRenameTimeout);
  if (moved.ok() && moved->exit_code == 0) return absl::OkStatus();
  if (moved.ok()) {
    (void)ExecLocked(c, lock, absl::StrCat("rm -f -- ", ShellQuote(temp)), kRenameTimeout);
    return absl::FailedPreconditionError(
        absl::StrCat("ssh ", c.target, ": cannot replace ", remote_path, ": ", moved->err));
  }
  return moved.status();
}

absl::StatusOr<std::string> SshSession::Download(const std::string& remote_path,
                                                 uint64_t max_bytes) {
  SshConnection& c = *connection_;
  std::lock_guard<std::mutex> lock(c.mu);
  if (absl::Status usable = RequireSession(c); !usable.ok()) return usable;
  sftp_session sftp = sftp_new(c.session);
  if (sftp == nullptr) return SessionError(c, "cannot open an SFTP channel");
  if (sftp_init(sftp) != SSH_OK) {
    absl::Status status = SessionError(
        c, "cannot start SFTP (does the server's sshd_config have a `Subsystem sftp` line?)");
    sftp_free(sftp);
    return status;
  }
  auto read_all = [&]() -> absl::StatusOr<std::string> {
    sftp_file file = sftp_open(sftp, remote_path.c_str(), O_RDONLY, 0);
    if (file == nullptr) return SftpError(c, sftp, "cannot open", remote_path);
    // fstat on the open file: what is read is what was checked.
    sftp_attributes attributes = sftp_fstat(file);
    if (attributes == nullptr) {
      absl::Status status = SftpError(c, sftp, "cannot stat", remote_path);
      sftp_close(file);
      return status;
    }
    const bool regular = attributes->type == SSH_FILEXFER_TYPE_REGULAR;
    const uint64_t size = attributes->size;
    sftp_attributes_free(attributes);
    auto refuse = [&](const std::string& why) {
      sftp_close(file);
      return absl::FailedPreconditionError(
          absl::StrCat("ssh ", c.target, ": ", remote_path, " ", why));
    };
    if (!regular) return refuse("is not a regular file");
    if (size > max_bytes) {
      return refuse(absl::StrCat("has ", size, " bytes, more than the ", max_bytes, " allowed"));
    }
    std::string contents;
    contents.reserve(static_cast<size_t>(size));
    std::string buffer(kDownloadChunk, '\0');
    for (;;) {
      ssize_t n = sftp_read(file, buffer.data(), buffer.size());
      if (n < 0) {
        absl::Status status = SftpError(c, sftp, "cannot read", remote_path);
        sftp_close(file);
        return status;
      }
      if (n == 0) break;
      if (contents.size() + static_cast<size_t>(n) > max_bytes) {
        return refuse(
            absl::StrCat("grew past the ", max_bytes, " bytes allowed while it was read"));
      }
      contents.append(buffer.data(), static_cast<size_t>(n));
    }
    sftp_close(file);
    return contents;
  };
  absl::StatusOr<std::string> contents = read_all();
  sftp_free(sftp);
  return contents;
}

absl::StatusOr<std::unique_ptr<SshProcess>> SshSession::Start(const std::string& command) {
  SshConnection& c = *connection_;
  std::lock_guard<std::mutex> lock(c.mu);
  if (absl::Status usable = RequireSession(c); !usable.ok()) return usable;
  absl::StatusOr<ssh_channel> channel = OpenExecChannel(c, command);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<SshProcess>(new SshProcess(connection_, c.generation, *channel, command));
}

bool SshSession::connected() const {
  std::lock_guard<std::mutex> lock(connection_->mu);
  ssh_session session = connection_->session;
  if (session == nullptr || !ssh_is_connected(session)) return false;
  // libssh only notices a dropped connection when it next reads; peek at the socket so
  // a server that went away shows up here without a failed call first.
  struct pollfd fd = {ssh_get_fd(session), POLLIN, 0};
  if (poll(&fd, 1, 0) <= 0) return true;
  if ((fd.revents & (POLLERR | POLLNVAL)) != 0) return false;
  char byte;
  ssize_t n = recv(fd.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

absl::Status SshSession::Reconnect() {
  SshConnection& c = *connection_;
  std::lock_guard<std::mutex> lock(c.mu);
  FreeSession(c);
  absl::StatusOr<ssh_session> session = OpenSession(c.options, c.target);
  if (!session.ok()) return session.status();
  c.session = *session;
  return absl::OkStatus();
}

SshProcess::SshProcess(std::shared_ptr<SshConnection> connection, uint64_t generation,
                       ssh_channel_struct* channel, std::string command)
    : connection_(std::move(connection)),
      generation_(generation),
      channel_(channel),
      command_(std::move(command)) {}

SshProcess::~SshProcess() {
  std::lock_guard<std::mutex> lock(connection_->mu);
  if (ChannelGone()) return;
  // Close sends EOF first, so a helper reading stdin sees its input end.
  if (ssh_is_connected(connection_->session)) ssh_channel_close(channel_);
  ssh_channel_free(channel_);
}

bool SshProcess::ChannelGone() const {
  return connection_->session == nullptr || connection_->generation != generation_;
}

absl::Status SshProcess::Pump(absl::Duration wait) {
  SshConnection& c = *connection_;
  std::string err;
  bool overflow = false;
  if (ssh_channel_poll_timeout(channel_, ToMillis(wait), 0) == SSH_ERROR ||
      !Drain(channel_, 0, kMaxExecStdout, &stdout_, &overflow) ||
      !Drain(channel_, 1, kMaxExecStderr, &err, &overflow)) {
    return SessionError(c, absl::StrCat("reading from ", ProgramOf(command_)));
  }
  // Unread stdout is bounded like Exec's: a peer that never ends its line is an error.
  if (overflow && stdout_.size() >= kMaxExecStdout) {
    return absl::DataLossError(absl::StrCat("ssh ", c.target, ": ", ProgramOf(command_),
                                            " wrote more than ", kMaxExecStdout,
                                            " bytes without ending its line"));
  }
  stderr_tail_ += err;
  if (stderr_tail_.size() > kStderrTail) {
    stderr_tail_.erase(0, stderr_tail_.size() - kStderrTail);
  }
  if (ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_)) eof_ = true;
  return absl::OkStatus();
}

absl::Status SshProcess::EndedStatus() {
  SshConnection& c = *connection_;
  if (!exit_code_) {
    exit_code_ = AwaitExitStatus(c.session, channel_, absl::Now() + kExitStatusGrace).value_or(-1);
  }
  std::string how = *exit_code_ >= 0 ? absl::StrCat("exit code ", *exit_code_)
                                     : std::string("no exit status, killed by a signal?");
  std::string tail = stderr_tail_;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  return absl::UnavailableError(
      absl::StrCat("ssh ", c.target, ": remote process ", ProgramOf(command_), " ended (", how, ")",
                   tail.empty() ? std::string("; no stderr") : absl::StrCat("; stderr: ", tail)));
}

absl::Status SshProcess::WriteLine(std::string_view line) {
  SshConnection& c = *connection_;
  std::string data(line);
  data.push_back('\n');
  const absl::Time deadline = absl::Now() + kWriteTimeout;
  std::unique_lock<std::mutex> lock(c.mu);
  for (size_t offset = 0; offset < data.size();) {
    if (ChannelGone()) {
      return absl::UnavailableError(absl::StrCat("ssh ", c.target, ": the session of ",
                                                 ProgramOf(command_),
                                                 " was closed or reconnected"));
    }
    if (eof_) return EndedStatus();
    // Write only what the remote window takes: libssh would otherwise wait for more
    // window with no deadline, holding the session.
    uint32_t window = ssh_channel_window_size(channel_);
    if (window > 0) {
      uint32_t n = static_cast<uint32_t>(std::min<size_t>(window, data.size() - offset));
      int written = ssh_channel_write(channel_, data.data() + offset, n);
      if (written == SSH_ERROR) {
        if (Pump(absl::ZeroDuration()).ok() && eof_) return EndedStatus();
        return SessionError(c, absl::StrCat("writing to ", ProgramOf(command_)));
      }
      offset += static_cast<size_t>(written);
      continue;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("ssh ", c.target, ": ", ProgramOf(command_),
                                                      " has not read its input for ",
                                                      absl::FormatDuration(kWriteTimeout)));
    }
    if (absl::Status pumped = Pump(kSlice); !pumped.ok()) return pumped;  // window adjusts
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SshProcess::ReadLine(absl::Duration timeout) {
  SshConnection& c = *connection_;
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_lock<std::mutex> lock(c.mu);
  for (;;) {
    if (size_t newline = stdout_.find('\n'); newline != std::string::npos) {
      std::string line = stdout_.substr(0, newline);
      stdout_.erase(0, newline + 1);
      return line;
    }
    if (ChannelGone()) {
      return absl::UnavailableError(absl::StrCat("ssh ", c.target, ": the session of ",
                                                 ProgramOf(command_),
                                                 " was closed or reconnected"));
    }
    if (eof_) {
      if (!stdout_.empty()) return std::exchange(stdout_, std::string());
      return EndedStatus();
    }
    if (absl::Status pumped = Pump(std::min(deadline - absl::Now(), kSlice)); !pumped.ok()) {
      return pumped;
    }
    if (eof_ || stdout_.find('\n') != std::string::npos) continue;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("ssh ", c.target, ": no line from ",
                                                      ProgramOf(command_), " within ",
                                                      absl::FormatDuration(timeout)));
    }
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
  }
}

bool SshProcess::alive() {
  std::lock_guard<std::mutex> lock(connection_->mu);
  if (ChannelGone()) return false;
  if (!eof_ && !Pump(absl::ZeroDuration()).ok()) return false;
  return !eof_;
}

}  // namespace mosdat

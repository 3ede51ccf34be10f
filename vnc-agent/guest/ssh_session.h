// SshSession: a key-authenticated SSH connection to a VM's sshd, on libssh. It runs
// shell commands, uploads files (SFTP) and keeps long-running helpers whose stdin and
// stdout speak a line protocol (SshProcess).
//
// Host keys are always verified: against known_hosts, or against a pinned SHA256
// fingerprint. An unknown or changed key is refused, never accepted silently.
//
// Thread safety: libssh sessions are not thread-safe, so every libssh call on one
// connection happens under one mutex, shared with the SshProcesses it started. Waits
// run in short slices and release the mutex in between, so a long Exec() or ReadLine()
// on one thread does not stall the others for its whole duration.
#ifndef MOSDAT_VNC_AGENT_GUEST_SSH_SESSION_H_
#define MOSDAT_VNC_AGENT_GUEST_SSH_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/time/time.h"
#include "vnc-agent/guest/line_channel.h"

struct ssh_channel_struct;  // libssh's channel, kept out of this header

namespace mosdat {

struct SshOptions {
  std::string host = "127.0.0.1";
  int port = 22;
  std::string user;                  // empty = the local user's name
  std::string private_key_path;      // key auth only (no passwords); unencrypted keys
  std::string known_hosts_path;      // only this file; empty = ~/.ssh/known_hosts and
                                     // /etc/ssh/ssh_known_hosts
  std::string host_key_fingerprint;  // "SHA256:<base64>" as `ssh-keygen -lf` prints; when
                                     // set it is pinned and known_hosts is not consulted
  absl::Duration connect_timeout = absl::Seconds(10);
};

// Payload URL on an Exec()/Start() error when the command certainly never reached the
// server (the connection was found dead before it was sent): retrying it is safe.
inline constexpr char kCommandNotStarted[] = "mosdat.dev/ssh/command-not-started";

inline bool CommandNotStarted(const absl::Status& status) {
  return status.GetPayload(kCommandNotStarted).has_value();
}

struct SshExecResult {
  int exit_code = -1;  // -1 when killed by a signal, timed out, or no status was sent
  std::string out;
  std::string err;
  bool timed_out = false;
  // The command printed more than Exec keeps (64 MiB of stdout: its start is kept; 1 MiB
  // of stderr: its end is kept).
  bool truncated = false;
};

// State shared by a session and its processes (defined in ssh_session.cc).
struct SshConnection;

class SshProcess;

class SshSession {
 public:
  // Connects, verifies the host key and authenticates with the private key.
  // Unavailable when the server cannot be reached; PermissionDenied for an unknown or
  // changed host key (the message names host, port and the key's SHA256 fingerprint)
  // and for a rejected client key; InvalidArgument/FailedPrecondition for bad options
  // or an unreadable key file.
  static absl::StatusOr<std::unique_ptr<SshSession>> Connect(const SshOptions& options);
  ~SshSession();

  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Runs `command` through the remote user's shell with stdin at EOF and captures
  // stdout, stderr and the exit code. On timeout it asks sshd to signal the command
  // (TERM; OpenSSH refuses for root logins), closes the channel, sets timed_out and
  // returns what was read. Unavailable when the connection is lost.
  absl::StatusOr<SshExecResult> Exec(const std::string& command, absl::Duration timeout);

  // Writes `contents` to `remote_path` with permissions `mode` over SFTP, atomically:
  // a temporary name in the same directory, then a rename over the target.
  absl::Status Upload(const std::string& remote_path, std::string_view contents, int mode);
  // Upload() of the local file `local_path`, streamed in pieces of 1 MiB (packages of
  // hundreds of MB are never held in memory). FailedPrecondition when it cannot be read.
  absl::Status UploadFile(const std::string& remote_path, const std::string& local_path, int mode);

  // The contents of the regular file `remote_path`, read over SFTP. NotFound when there
  // is no such file, FailedPrecondition when it is not a regular file or is larger than
  // `max_bytes` (checked before reading, and again while reading a file that grows).
  absl::StatusOr<std::string> Download(const std::string& remote_path, uint64_t max_bytes);

  // Starts a long-lived command whose stdin/stdout carry a line protocol.
  absl::StatusOr<std::unique_ptr<SshProcess>> Start(const std::string& command);

  // False once the connection is gone: a call failed, or the server closed the socket.
  bool connected() const;

  // Drops the current connection (if any) and connects again with the same options.
  // Processes started on the old connection become Unavailable.
  absl::Status Reconnect();

 private:
  explicit SshSession(std::shared_ptr<SshConnection> connection);
  // Upload()'s work: `next` gives the contents piece by piece, an empty piece ends them.
  absl::Status UploadFrom(const std::string& remote_path, int mode,
                          const std::function<absl::StatusOr<std::string_view>()>& next);

  std::shared_ptr<SshConnection> connection_;
};

// A remote command started by SshSession::Start(). Safe to use from several threads;
// lines come out in order.
class SshProcess : public LineChannel {
 public:
  ~SshProcess() override;  // closes the channel: the remote process sees EOF on stdin

  SshProcess(const SshProcess&) = delete;
  SshProcess& operator=(const SshProcess&) = delete;

  // Sends `line` plus '\n' to the process's stdin.
  absl::Status WriteLine(std::string_view line) override;

  // The next stdout line without its '\n' (a last line without '\n' is returned as is).
  // DeadlineExceeded when no full line arrived within `timeout`; Unavailable once the
  // process ended, with its exit code and the tail of its stderr in the message.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout) override;

  // True while the remote process has not closed its stdout and the session is alive.
  bool alive();

 private:
  friend class SshSession;
  SshProcess(std::shared_ptr<SshConnection> connection, uint64_t generation,
             ssh_channel_struct* channel, std::string command);

  // All below are guarded by the connection's mutex.
  bool ChannelGone() const;  // the session was closed or reconnected under us
  absl::Status Pump(absl::Duration wait);
  absl::Status EndedStatus();

  std::shared_ptr<SshConnection> connection_;
  uint64_t generation_;
  ssh_channel_struct* channel_;
  std::string command_;
  std::string stdout_;       // received, not yet returned
  std::string stderr_tail_;  // last few KiB of stderr, for error messages
  bool eof_ = false;
  std::optional<int> exit_code_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_SSH_SESSION_H_

// LocalSshd: a private OpenSSH server on a loopback port, so that the local VM provider
// can be driven over SSH exactly like a remote VM. It runs /usr/sbin/sshd -D with its
// own config, an ed25519 host key and a client key (the only authorized key), all in a
// caller-provided private directory; nothing in /etc/ssh is read or changed. Logins are
// by key only, as the current user.
//
// sshd gives sessions a fresh environment, not its own. `session_env` is therefore set
// through sshd_config's SetEnv in every session, e.g. the DISPLAY, D-Bus address and
// HOME of a local desktop, so commands run over SSH land in that desktop session like
// on a logged-in VM.
//
// Stop() ends exactly this sshd and everything it forked (connections and their
// commands), so a client sees the server drop it, as when a VM reboots. If this process
// dies first, however it dies, sshd and its connections are killed by the orphan
// reaper (core/orphan_reaper.h); what sessions started goes with the local desktop whose
// mark session_env carries.
//
// Example:
//   absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
//       LocalSshd::Start({.dir = dir, .session_env = desktop->session_env()});
//   if (!sshd.ok()) return sshd.status();
//   absl::StatusOr<std::unique_ptr<SshSession>> session =
//       SshSession::Connect((*sshd)->ClientOptions());
//
// Not thread-safe. As root, Start() creates sshd's privilege separation directory
// /run/sshd when missing; sshd run by another user needs none.
#ifndef MOSDAT_VNC_AGENT_LOCAL_LOCAL_SSHD_H_
#define MOSDAT_VNC_AGENT_LOCAL_LOCAL_SSHD_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/process.h"
#include "vnc-agent/guest/ssh_session.h"

namespace mosdat {

struct SshKeyFiles {
  std::string private_path;
  std::string public_path;  // private_path + ".pub"
  std::string public_key;   // "ssh-ed25519 AAAA..." (type and base64, no comment)
  std::string fingerprint;  // "SHA256:..." as `ssh-keygen -lf` prints it
};

// Generates an ed25519 key pair dir/name (+ .pub) without a passphrase using
// ssh-keygen, replacing existing files of those names, and reads its fingerprint.
absl::StatusOr<SshKeyFiles> GenerateSshKey(const std::string& dir, const std::string& name);

struct LocalSshdOptions {
  // An existing private directory for the keys, sshd_config, authorized_keys, the pid
  // file and sshd.log. Must outlive the LocalSshd. Spaces are fine; '"', '%' and line
  // breaks are not (the paths go into sshd_config).
  std::string dir;
  // Set in every session's environment (sshd_config SetEnv), e.g. DISPLAY,
  // DBUS_SESSION_BUS_ADDRESS, HOME, XDG_RUNTIME_DIR of a local desktop, so commands
  // run over SSH land in that desktop session like on a logged-in VM. These override
  // what sshd sets itself (HOME, USER, PATH, ...). Names must match
  // [A-Za-z_][A-Za-z0-9_]*; values may hold anything but '"', newlines and NUL.
  // SHLVL defaults to 1 (see local_sshd.cc) unless given here.
  std::map<std::string, std::string> session_env;
  // The loopback port; 0 picks a free one (retrying if another process takes it first).
  int port = 0;
};

class LocalSshd {
 public:
  // Validates the options (InvalidArgument), generates the host and client keys and
  // starts sshd on 127.0.0.1, waiting with a deadline until it greets with an SSH
  // banner. FailedPrecondition when /run/sshd cannot be made; Unavailable when sshd
  // exits (its log is in the message); DeadlineExceeded when it never greets.
  static absl::StatusOr<std::unique_ptr<LocalSshd>> Start(const LocalSshdOptions& options);
  ~LocalSshd();  // Stop()

  LocalSshd(const LocalSshd&) = delete;
  LocalSshd& operator=(const LocalSshd&) = delete;

  // Stop(), then starts sshd again on the same port with the same keys and config.
  // Unavailable if the port was taken meanwhile.
  absl::Status Restart();
  // Kills sshd and all its descendants and waits until they are gone; a no-op when not
  // running.
  void Stop();
  bool running() const { return sshd_.has_value(); }

  int port() const { return port_; }
  const std::string& user() const { return user_; }  // the current user's name
  const std::string& client_key_path() const { return client_key_.private_path; }
  const SshKeyFiles& host_key() const { return host_key_; }
  std::string log() const;  // sshd's stderr so far

  // Connects to 127.0.0.1:port() as user() with the client key; the host key is pinned
  // by fingerprint (no known_hosts file involved).
  SshOptions ClientOptions() const;

 private:
  LocalSshd() = default;
  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  absl::Status Prepare();  // user, keys, authorized_keys
  absl::Status Launch();   // writes sshd_config for port_, starts sshd, awaits its banner

  std::string dir_;
  int port_ = 0;
  std::string set_env_;  // the sshd_config SetEnv line
  std::string user_;
  SshKeyFiles host_key_;
  SshKeyFiles client_key_;
  std::optional<Process> sshd_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_LOCAL_LOCAL_SSHD_H_

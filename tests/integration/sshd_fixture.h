// A real OpenSSH server on a free loopback port for tests: host and client ed25519
// keys, authorized_keys and a known_hosts file, all in a private temp dir. Stop() ends
// exactly that sshd and everything it forked (connections and their commands), so a
// client sees the server drop it, as when a VM reboots.
#ifndef MOSDAT_TESTS_INTEGRATION_SSHD_FIXTURE_H_
#define MOSDAT_TESTS_INTEGRATION_SSHD_FIXTURE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/process.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/ssh_session.h"

namespace mosdat::testing {

struct SshKeyFiles {
  std::string private_path;
  std::string public_path;
  std::string public_key;   // "ssh-ed25519 AAAA..." (type and base64, no comment)
  std::string fingerprint;  // "SHA256:..." as `ssh-keygen -lf` prints it
};

class SshdFixture {
 public:
  SshdFixture() = default;
  ~SshdFixture();  // Stop()

  SshdFixture(const SshdFixture&) = delete;
  SshdFixture& operator=(const SshdFixture&) = delete;

  // First call: generates the keys and files and picks a port. Starts sshd and waits
  // (with a deadline) until it greets with an SSH banner.
  absl::Status Start();
  // Stop() and Start() again on the same port with the same keys.
  absl::Status Restart();
  // Kills the sshd and its descendants; a no-op when not running.
  void Stop();

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& client_key_path() const { return client_key_.private_path; }
  const std::string& known_hosts_path() const { return known_hosts_path_; }
  const std::string& host_key_fingerprint() const { return host_key_.fingerprint; }
  const std::string& dir() const { return dir_.path(); }
  std::string log() const;  // sshd's stderr

  // Options that connect as user() with the client key, checking known_hosts_path().
  SshOptions ClientOptions() const;

  // A fresh ed25519 key pair named `name` in dir(), e.g. a second host key for the
  // mismatch test or a client key the server does not know.
  absl::StatusOr<SshKeyFiles> GenerateKey(const std::string& name);
  // Writes dir()/name as a known_hosts file mapping this sshd's [127.0.0.1]:port to
  // `public_key` ("" = an empty file). Returns its path.
  std::string WriteKnownHosts(const std::string& name, const std::string& public_key) const;

 private:
  absl::Status Prepare();
  absl::Status Launch();

  TempDir dir_;
  std::string user_;
  int port_ = 0;
  bool prepared_ = false;
  SshKeyFiles host_key_;
  SshKeyFiles client_key_;
  std::string known_hosts_path_;
  std::optional<Process> sshd_;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_SSHD_FIXTURE_H_

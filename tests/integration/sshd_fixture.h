// A real OpenSSH server on a free loopback port for tests: a LocalSshd (host and client
// ed25519 keys, authorized_keys) in a private temp dir, plus a known_hosts file for it.
// Stop() ends exactly that sshd and everything it forked (connections and their
// commands), so a client sees the server drop it, as when a VM reboots.
#ifndef MOSDAT_TESTS_INTEGRATION_SSHD_FIXTURE_H_
#define MOSDAT_TESTS_INTEGRATION_SSHD_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/guest/ssh_session.h"
#include "vnc-agent/local/local_sshd.h"

namespace mosdat::testing {

using ::mosdat::SshKeyFiles;

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

  // Before the first successful Start(): 0 and empty strings.
  int port() const;
  const std::string& user() const;
  const std::string& client_key_path() const;
  const std::string& known_hosts_path() const { return known_hosts_path_; }
  const std::string& host_key_fingerprint() const;
  const std::string& dir() const { return dir_.path(); }
  std::string log() const;  // sshd's stderr (also after a failed Start())

  // Options that connect as user() with the client key, checking known_hosts_path()
  // (LocalSshd::ClientOptions() pins the fingerprint instead).
  SshOptions ClientOptions() const;

  // A fresh ed25519 key pair named `name` in dir(), e.g. a second host key for the
  // mismatch test or a client key the server does not know.
  absl::StatusOr<SshKeyFiles> GenerateKey(const std::string& name);
  // Writes dir()/name as a known_hosts file mapping this sshd's [127.0.0.1]:port to
  // `public_key` ("" = an empty file). Returns its path.
  std::string WriteKnownHosts(const std::string& name, const std::string& public_key) const;

 private:
  TempDir dir_;
  std::unique_ptr<LocalSshd> sshd_;
  std::string known_hosts_path_;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_SSHD_FIXTURE_H_

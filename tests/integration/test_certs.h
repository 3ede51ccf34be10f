// Certificates for TLS tests, made with Debian's openssl CLI in a private temporary
// directory that the destructor removes: a CA, a server certificate for 127.0.0.1 and
// localhost and a client certificate both signed by it, and an unrelated second CA that
// signed nothing of these. Issue*() signs more, e.g. for the addresses of other hosts in
// multi-host tests. Keys are P-256 (quick to make), valid for two days.
#ifndef MOSDAT_TESTS_INTEGRATION_TEST_CERTS_H_
#define MOSDAT_TESTS_INTEGRATION_TEST_CERTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {

class TestCerts {
 public:
  struct KeyPair {
    std::string cert;  // PEM file path
    std::string key;   // PEM file path (unencrypted)
  };

  static absl::StatusOr<std::unique_ptr<TestCerts>> Create();

  const std::string& ca() const { return ca_.cert; }
  const std::string& other_ca() const { return other_ca_.cert; }
  const KeyPair& server() const { return server_; }
  const KeyPair& client() const { return client_; }
  // The directory everything is in (for more files of a test's own).
  const std::string& dir() const { return dir_.path(); }

  // A server certificate signed by ca() for `hosts` (IP addresses and DNS names, all in
  // its subjectAltName). `name` names the files and is the CN.
  absl::StatusOr<KeyPair> IssueServer(const std::string& name,
                                      const std::vector<std::string>& hosts);
  // A client certificate (extendedKeyUsage clientAuth) signed by ca().
  absl::StatusOr<KeyPair> IssueClient(const std::string& name);

 private:
  TestCerts() = default;
  absl::StatusOr<KeyPair> MakeCa(const std::string& name);
  absl::StatusOr<KeyPair> Issue(const std::string& name, const std::string& extensions);

  TempDir dir_;
  KeyPair ca_;
  KeyPair other_ca_;
  KeyPair server_;
  KeyPair client_;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_TEST_CERTS_H_

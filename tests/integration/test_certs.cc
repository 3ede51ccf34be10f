#include "tests/integration/test_certs.h"

#include <arpa/inet.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mosdat::testing {
namespace {

absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  RunResult result = RunCommand(args, {}, std::chrono::seconds(60));
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), " failed: ", result.err));
  }
  return absl::OkStatus();
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

bool IsIpAddress(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestCerts>> TestCerts::Create() {
  std::unique_ptr<TestCerts> certs(new TestCerts());
  absl::StatusOr<KeyPair> ca = certs->MakeCa("ca");
  if (!ca.ok()) return ca.status();
  certs->ca_ = *ca;
  absl::StatusOr<KeyPair> other_ca = certs->MakeCa("other-ca");
  if (!other_ca.ok()) return other_ca.status();
  certs->other_ca_ = *other_ca;
  absl::StatusOr<KeyPair> server = certs->IssueServer("server", {"127.0.0.1", "localhost"});
  if (!server.ok()) return server.status();
  certs->server_ = *server;
  absl::StatusOr<KeyPair> client = certs->IssueClient("client");
  if (!client.ok()) return client.status();
  certs->client_ = *client;
  return certs;
}

absl::StatusOr<TestCerts::KeyPair> TestCerts::MakeCa(const std::string& name) {
  KeyPair ca{.cert = dir_.File(name + ".pem"), .key = dir_.File(name + ".key")};
  absl::Status made =
      Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-keyout", ca.key, "-out", ca.cert, "-days", "2", "-subj",
               "/CN=mosdat test " + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
               "keyUsage=critical,keyCertSign,cRLSign"});
  if (!made.ok()) return made;
  return ca;
}

absl::StatusOr<TestCerts::KeyPair> TestCerts::IssueServer(const std::string& name,
                                                          const std::vector<std::string>& hosts) {
  std::vector<std::string> names;
  for (const std::string& host : hosts) {
    names.push_back(absl::StrCat(IsIpAddress(host) ? "IP:" : "DNS:", host));
  }
  return Issue(name, absl::StrCat("basicConstraints=CA:FALSE\n"
                                  "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                  "extendedKeyUsage=serverAuth\n"
                                  "subjectAltName=",
                                  absl::StrJoin(names, ","), "\n"));
}

absl::StatusOr<TestCerts::KeyPair> TestCerts::IssueClient(const std::string& name) {
  return Issue(name,
               "basicConstraints=CA:FALSE\n"
               "keyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=clientAuth\n");
}

absl::StatusOr<TestCerts::KeyPair> TestCerts::Issue(const std::string& name,
                                                    const std::string& extensions) {
  KeyPair pair{.cert = dir_.File(name + ".pem"), .key = dir_.File(name + ".key")};
  const std::string csr = dir_.File(name + ".csr");
  const std::string ext = dir_.File(name + ".ext");
  if (absl::Status s = WriteText(ext, extensions); !s.ok()) return s;
  if (absl::Status s =
          Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-keyout", pair.key, "-out", csr, "-subj", "/CN=" + name});
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          Openssl({"x509", "-req", "-in", csr, "-CA", ca_.cert, "-CAkey", ca_.key,
                   "-CAcreateserial", "-out", pair.cert, "-days", "2", "-extfile", ext});
      !s.ok()) {
    return s;
  }
  return pair;
}

}  // namespace mosdat::testing

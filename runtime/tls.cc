#include "runtime/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"
#include "core/net.h"

namespace mosdat {
namespace {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// A key read without a passphrase: an encrypted key fails instead of prompting.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string NotAfterText(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(out.get(), X509_get0_notAfter(cert));
  char* data = nullptr;
  long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

absl::StatusOr<std::string> ReadFlagFile(const std::string& flag, const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", text.status().message()));
  }
  return *text;
}

// The file's PEM text, which holds at least one certificate; the first is returned in
// `first` when asked for.
absl::StatusOr<std::string> ReadCertificates(const std::string& flag, const std::string& path,
                                             X509Ptr* first = nullptr) {
  absl::StatusOr<std::string> pem = ReadFlagFile(flag, path);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemoryBio(*pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " ", path, ": no PEM certificate in it (\"-----BEGIN CERTIFICATE-----\")"));
  }
  if (first != nullptr) *first = std::move(cert);
  return *pem;
}

struct KeyPairPem {
  std::string cert_chain;
  std::string private_key;
};

// A certificate and its key, both given, readable, PEM, and belonging together; the
// certificate has not expired. The key's text never appears in an error.
absl::StatusOr<KeyPairPem> ReadKeyPair(const std::string& cert_flag, const std::string& cert_path,
                                       const std::string& key_flag, const std::string& key_path) {
  if (cert_path.empty() || key_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, " and ", key_flag, " go together: pass both, or neither"));
  }
  X509Ptr cert;
  absl::StatusOr<std::string> chain = ReadCertificates(cert_flag, cert_path, &cert);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key_pem = ReadFlagFile(key_flag, key_path);
  if (!key_pem.ok()) return key_pem.status();
  BioPtr bio = MemoryBio(*key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    if (absl::StrContains(*key_pem, "ENCRYPTED")) {
      return absl::InvalidArgumentError(absl::StrCat(
          key_flag, " ", key_path,
          ": the key is encrypted; gRPC needs it unencrypted (openssl pkey -in KEY -out "
          "PLAIN_KEY), readable only by the service's user"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(key_flag, " ", key_path, ": no PEM private key in it"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        key_flag, " ", key_path, " does not match the certificate in ", cert_flag, " ", cert_path));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        cert_flag, " ", cert_path, ": the certificate expired on ", NotAfterText(cert.get())));
  }
  return KeyPairPem{.cert_chain = std::move(*chain), .private_key = std::move(*key_pem)};
}

// "host:port", "[v6]:port", "host" or a bare IPv6 address → the host.
std::string HostOf(absl::string_view address) {
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    return std::string(close == absl::string_view::npos ? address : address.substr(1, close - 1));
  }
  size_t colon = address.find(':');
  if (colon != absl::string_view::npos && address.find(':', colon + 1) == absl::string_view::npos) {
    return std::string(address.substr(0, colon));
  }
  return std::string(address);
}

// The hosts a gRPC target names (see grpc's naming doc): "dns:[//authority/]host:port",
// "ipv4:a:p,b:p", "ipv6:[a]:p,..." or plain "host:port". Empty for a local socket.
std::vector<std::string> HostsOfTarget(const std::string& target, bool* local_socket) {
  *local_socket = absl::StartsWith(target, "unix:") || absl::StartsWith(target, "unix-abstract:");
  if (*local_socket) return {};
  absl::string_view rest = target;
  if (absl::ConsumePrefix(&rest, "dns:")) {
    if (absl::ConsumePrefix(&rest, "//")) {
      size_t slash = rest.find('/');
      rest = slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash + 1);
    }
    return {HostOf(rest)};
  }
  if (absl::ConsumePrefix(&rest, "ipv4:") || absl::ConsumePrefix(&rest, "ipv6:")) {
    std::vector<std::string> hosts;
    for (absl::string_view address : absl::StrSplit(rest, ',')) hosts.push_back(HostOf(address));
    return hosts;
  }
  return {HostOf(rest)};
}

// The first host of `target` that is not loopback, as a message names it; nullopt when
// every host is loopback.
std::optional<std::string> FirstRemoteHost(const std::string& target) {
  bool local_socket = false;
  std::vector<std::string> hosts = HostsOfTarget(target, &local_socket);
  if (local_socket) return std::nullopt;
  for (const std::string& host : hosts) {
    if (!IsLoopbackHost(host)) return host.empty() ? absl::StrCat("\"", target, "\"") : host;
  }
  return std::nullopt;
}

}  // namespace

std::string ServerTlsOptions::Describe() const {
  if (!enabled()) return "plaintext";
  return client_ca_file.empty() ? "TLS" : "TLS, client certificates required";
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  if (tls.cert_file.empty() && tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked "
        "only over TLS");
  }
  absl::StatusOr<KeyPairPem> pair =
      ReadKeyPair("--tls-cert", tls.cert_file, "--tls-key", tls.key_file);
  if (!pair.ok()) return pair.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> client_ca = ReadCertificates("--tls-client-ca", tls.client_ca_file);
    if (!client_ca.ok()) return client_ca.status();
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    options.pem_root_certs = std::move(*client_ca);
  }
  options.pem_key_cert_pairs.push_back(
      {.private_key = std::move(pair->private_key), .cert_chain = std::move(pair->cert_chain)});
  return grpc::SslServerCredentials(options);
}

absl::Status CheckServerPlaintext(const std::string& listen_address, bool tls, bool requires_token,
                                  bool allow_plaintext) {
  if (tls || !requires_token || allow_plaintext || IsLoopbackTarget(listen_address)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "refusing to listen on ", listen_address,
      " without TLS: it is not a loopback address, so bearer tokens and the VM-acting calls "
      "they allow would cross the network in clear; pass --tls-cert FILE --tls-key FILE, or "
      "--allow-plaintext on a trusted network"));
}

bool IsLoopbackTarget(const std::string& target) { return !FirstRemoteHost(target).has_value(); }

absl::Status CheckClientPlaintext(const std::string& target, const ClientTlsOptions& tls,
                                  bool sends_token) {
  if (tls.enabled() || !sends_token || tls.allow_plaintext) return absl::OkStatus();
  std::optional<std::string> remote = FirstRemoteHost(target);
  if (!remote.has_value()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      target,
      " is not a loopback address and no TLS is configured: refusing to "
      "send the token in clear to ",
      *remote, "; pass ", tls.flag_prefix, "-ca FILE, or --allow-plaintext on a trusted network"));
}

grpc::ChannelArguments ClientChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                           const ClientTlsOptions& tls,
                                                           bool sends_token) {
  if (!tls.enabled()) {
    if (absl::Status s = CheckClientPlaintext(target, tls, sends_token); !s.ok()) return s;
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                     ClientChannelArguments());
  }
  const std::string ca_flag = tls.flag_prefix + "-ca";
  const std::string cert_flag = tls.flag_prefix + "-cert";
  const std::string key_flag = tls.flag_prefix + "-key";
  if (tls.ca_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_flag, "/", key_flag, " need ", ca_flag,
                     " FILE: the CA certificate that signed the server's certificate"));
  }
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> ca = ReadCertificates(ca_flag, tls.ca_file);
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = std::move(*ca);
  if (!tls.cert_file.empty() || !tls.key_file.empty()) {
    absl::StatusOr<KeyPairPem> pair = ReadKeyPair(cert_flag, tls.cert_file, key_flag, tls.key_file);
    if (!pair.ok()) return pair.status();
    options.pem_cert_chain = std::move(pair->cert_chain);
    options.pem_private_key = std::move(pair->private_key);
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(options), ClientChannelArguments());
}

void AddClientTlsFlags(CLI::App& app, ClientTlsOptions* tls, const std::string& prefix,
                       const std::string& peer) {
  tls->flag_prefix = absl::StrCat("--", prefix, "tls");
  app.add_option(tls->flag_prefix + "-ca", tls->ca_file,
                 absl::StrCat("CA certificate (PEM) that signed ", peer,
                              "'s certificate: talk to it over TLS"));
  app.add_option(
      tls->flag_prefix + "-cert", tls->cert_file,
      absl::StrCat("client certificate (PEM) for ", peer, " when it requires one (mutual TLS)"));
  app.add_option(tls->flag_prefix + "-key", tls->key_file,
                 absl::StrCat("private key (PEM, unencrypted) of ", tls->flag_prefix, "-cert"));
}

}  // namespace mosdat

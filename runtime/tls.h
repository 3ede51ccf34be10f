// TLS for gRPC between hosts. Servers present --tls-cert/--tls-key and, with
// --tls-client-ca, require client certificates signed by that CA (mutual TLS). Clients
// open every channel through OpenChannel(), the one place that decides between TLS and
// plaintext, and that refuses to send a bearer token in clear to another host.
//
// Why refuse rather than warn: a token lets its holder click, type and run shell commands
// in test VMs and power them on and off; in plaintext anyone on the path can read it.
// Loopback (127.0.0.0/8, ::1, "localhost", unix: sockets) never leaves the machine, so
// it stays plaintext and needs no certificates; --allow-plaintext is the explicit opt-in
// for a trusted network.
#ifndef MOSDAT_RUNTIME_TLS_H_
#define MOSDAT_RUNTIME_TLS_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mosdat {

struct ServerTlsOptions {
  std::string cert_file;       // PEM certificate (chain) the server presents: --tls-cert
  std::string key_file;        // its unencrypted PEM private key: --tls-key
  std::string client_ca_file;  // set: require a client certificate signed by it: --tls-client-ca
  bool enabled() const {
    return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty();
  }
  // "TLS", "TLS, client certificates required" or "plaintext", for logs.
  std::string Describe() const;
};

// Plaintext credentials when !tls.enabled(). Otherwise the files are read and checked
// first, so that a mistake is an error naming the flag and the file instead of a failed
// bind or handshakes that fail later. InvalidArgument when a file is missing, unreadable
// or holds no PEM certificate/key, when the key does not match the certificate, when
// the certificate has expired, or when only one of cert and key is given.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& tls);

// The server-side rule: InvalidArgument (saying why and what to pass) when a server
// would listen on a non-loopback address without TLS while requiring a token, unless
// `allow_plaintext`.
absl::Status CheckServerPlaintext(const std::string& listen_address, bool tls, bool requires_token,
                                  bool allow_plaintext);

struct ClientTlsOptions {
  std::string ca_file;           // PEM CA certificate(s) the server's certificate must chain to
  std::string cert_file;         // client certificate for servers that require one (mutual TLS)
  std::string key_file;          // its unencrypted PEM private key
  bool allow_plaintext = false;  // send the token without TLS to a non-loopback host
  // How the user spells these flags, for messages: "--tls" (the CLI), "--coordinator-tls".
  std::string flag_prefix = "--tls";
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// True for a gRPC target that stays on this machine: host:port (or a dns:, ipv4:, ipv6:
// target) whose every host is loopback (see IsLoopbackHost), or a unix:/unix-abstract:
// socket.
bool IsLoopbackTarget(const std::string& target);

// The client-side rule alone (nothing is opened): OK with TLS, without a token, to a
// loopback target, or with allow_plaintext; otherwise InvalidArgument "...refusing to
// send the token in clear to HOST; pass --tls-ca FILE, or --allow-plaintext on a trusted
// network".
absl::Status CheckClientPlaintext(const std::string& target, const ClientTlsOptions& tls,
                                  bool sends_token);

// The channel every mOSdat client uses: TLS (grpc::SslCredentials, verifying the server
// against ca_file, presenting cert_file/key_file when given) when tls.enabled(), else
// plaintext subject to CheckClientPlaintext. InvalidArgument for a refused plaintext
// channel, for unreadable or mismatched files, or for a client certificate without a CA.
// Connecting itself is lazy, as with grpc::CreateChannel. A lost server is tried again
// at least once a second, however long it was away (ClientChannelArguments).
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                           const ClientTlsOptions& tls,
                                                           bool sends_token = true);

// The arguments of OpenChannel's channels. gRPC's default reconnect backoff grows to
// two minutes: an agent would come back long after a coordinator that was away for a
// minute had restarted, which by then gave away the leases of the jobs the agent still
// runs (it resumes them for one lease timeout); a watcher would sit idle as long.
// Reconnecting at most a second apart costs a down server nothing worth counting.
grpc::ChannelArguments ClientChannelArguments();

// Adds --<prefix>tls-ca, --<prefix>tls-cert and --<prefix>tls-key (e.g. prefix
// "coordinator-") bound to `tls`, whose flag_prefix it sets for messages. `peer` names
// the server in the help text ("the coordinator").
void AddClientTlsFlags(CLI::App& app, ClientTlsOptions* tls, const std::string& prefix,
                       const std::string& peer);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_TLS_H_

// TlsTrust: how a connection to a Proxmox VE node decides that it talks to the right
// server. Verification is never switched off: either the certificate chains to a CA
// (the system's, or `ca_file`) and names the host, or it is exactly the pinned
// certificate (`fingerprint`, SHA-256 of its DER bytes, "AA:BB:..:FF" as PVE's GUI and
// `pvenode cert info` show it) — the usual case for PVE's self-signed certificates.
// A pin replaces the chain and name checks: it names one certificate, not a CA.
#ifndef MOSDAT_PROXMOX_BRIDGE_TLS_TRUST_H_
#define MOSDAT_PROXMOX_BRIDGE_TLS_TRUST_H_

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

namespace mosdat {

struct TlsTrust {
  std::string ca_file;      // PEM bundle; empty = the system's CAs
  std::string fingerprint;  // pinned SHA-256, upper-case "AA:BB:..."; empty = CA checks
};

// "AA:BB:...:FF" of the DER encoding of `cert`.
std::string CertificateFingerprint(X509* cert);

// Installs `trust` on an OpenSSL context: with a pin, a verify callback that accepts
// the handshake only when the leaf certificate's fingerprint equals the pin (and
// records the fingerprint seen, for the error message); otherwise CA verification.
// `seen` (may be null) receives the leaf fingerprint the server presented, in both
// modes (under CA verification whenever the check reached the leaf, which a failure
// for an unknown or self-signed issuer does); it must outlive the context's connections.
void ApplyTlsTrust(SSL_CTX* context, const TlsTrust& trust, std::string* seen);

// The message for a failed handshake against a pin: names both fingerprints and how
// to read the server's real one.
std::string PinMismatchMessage(std::string_view host, int port, const TlsTrust& trust,
                               std::string_view seen);

}  // namespace mosdat

#endif  // MOSDAT_PROXMOX_BRIDGE_TLS_TRUST_H_

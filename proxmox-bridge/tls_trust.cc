#include "proxmox-bridge/tls_trust.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace mosdat {
namespace {

// Ex-data slots hold the pin and the place to record what the server showed; the
// verify callback has no other way to reach them.
struct PinState {
  std::string pin;
  std::string* seen = nullptr;
};

int PinSlot() {
  static const int slot = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* state, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<PinState*>(state);
      });
  return slot;
}

// With a pin, only the leaf decides: intermediate depths are accepted and the leaf
// must be the pinned certificate. Without one (CA mode, installed only to record the
// leaf the server showed), OpenSSL's chain verdict stands at every depth.
int VerifyAgainstPin(int preverified, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* state = static_cast<PinState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), PinSlot()));
  if (state == nullptr) return 0;
  const bool pinned = !state->pin.empty();
  if (X509_STORE_CTX_get_error_depth(store) != 0) return pinned ? 1 : preverified;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (leaf == nullptr) return 0;
  std::string fingerprint = CertificateFingerprint(leaf);
  if (state->seen != nullptr) *state->seen = fingerprint;
  if (!pinned) return preverified;
  if (fingerprint != state->pin) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

}  // namespace

std::string CertificateFingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) return "";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) out += ':';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

void ApplyTlsTrust(SSL_CTX* context, const TlsTrust& trust, std::string* seen) {
  if (!trust.fingerprint.empty()) {
    SSL_CTX_set_ex_data(context, PinSlot(), new PinState{trust.fingerprint, seen});
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, VerifyAgainstPin);
    return;
  }
  if (!trust.ca_file.empty()) {
    SSL_CTX_load_verify_locations(context, trust.ca_file.c_str(), nullptr);
  } else {
    SSL_CTX_set_default_verify_paths(context);
  }
  if (seen != nullptr) {
    // Records the leaf the server showed; OpenSSL's chain verdict stands.
    SSL_CTX_set_ex_data(context, PinSlot(), new PinState{"", seen});
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, VerifyAgainstPin);
    return;
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
}

std::string PinMismatchMessage(std::string_view host, int port, const TlsTrust& trust,
                               std::string_view seen) {
  return absl::StrCat(
      "the TLS certificate of ", Absl(host), ":", port, " is not the pinned one: fingerprint = \"",
      trust.fingerprint, "\" in the config, the server shows \"",
      seen.empty() ? absl::string_view("(none)") : Absl(seen),
      "\". If the node's certificate was renewed on purpose, pin the new one (read it with: "
      "openssl s_client -connect ",
      Absl(host), ":", port, " </dev/null | openssl x509 -noout -fingerprint -sha256)");
}

}  // namespace mosdat

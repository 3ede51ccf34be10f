// SHA-256 (OpenSSL libcrypto) as lower-case hex, for content-addressed cache keys.
#ifndef MOSDAT_VLM_GATEWAY_SHA256_H_
#define MOSDAT_VLM_GATEWAY_SHA256_H_

#include <string>
#include <string_view>

namespace mosdat {

// 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_SHA256_H_

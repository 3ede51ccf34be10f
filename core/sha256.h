// SHA-256 (OpenSSL libcrypto) as lower-case hex: content addresses of cache entries,
// build artifacts and uploaded packages.
#ifndef MOSDAT_CORE_SHA256_H_
#define MOSDAT_CORE_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

// 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// The digest of a file read in 1 MiB pieces; Unavailable when it cannot be read.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

// Whether `text` is 64 lower-case hex digits (safe as a file name, too).
bool IsSha256Hex(std::string_view text);

// A digest fed piece by piece (a file arriving in chunks).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  void Update(std::string_view data);
  std::string HexDigest();  // once; the hasher is spent afterwards

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_SHA256_H_

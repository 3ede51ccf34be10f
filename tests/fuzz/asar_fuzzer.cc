// libFuzzer target for the app.asar reader: any byte string must give an archive or an
// error, and reading every entry of an archive must never crash, hang or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/asar_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mosdat::AsarLimits limits;
  limits.max_entries = 10'000;
  limits.max_read_bytes = 1 << 20;
  // Unpacked files read back as that many 'u's (when small), so their integrity check runs.
  auto unpacked = [](const std::string&, uint64_t n) -> absl::StatusOr<std::string> {
    if (n > (1 << 16)) return absl::NotFoundError("too big");
    return std::string(n, 'u');
  };
  absl::StatusOr<mosdat::AsarArchive> archive = mosdat::AsarArchive::FromBytes(
      std::string(reinterpret_cast<const char*>(data), size), "fuzz.asar", unpacked, limits);
  if (!archive.ok()) return 0;
  for (const mosdat::AsarEntry& entry : archive->entries()) {
    (void)archive->Read(entry.path);
    (void)archive->Find(entry.path + "/x");
  }
  return 0;
}

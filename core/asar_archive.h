// AsarArchive: reads Electron's `app.asar` archives natively (no Node).
//
// The format, as @electron/asar writes it:
//   bytes 0..8    a Chromium Pickle holding one uint32: the size of the header pickle
//   bytes 8..     the header pickle: uint32 payload size, uint32 string length, the JSON
//                 index (padded to 4 bytes)
//   after it      the file data; each file's "offset" (a decimal string) counts from here
// The JSON index is a tree: {"files": {NAME: ENTRY}}, where ENTRY is a directory
// ({"files": {...}}), a link ({"link": "path/from/the/root"}) or a file ({"size": N,
// "offset": "N"} or {"size": N, "unpacked": true}, optional "executable": true and
// "integrity": {"algorithm": "SHA256", "hash", "blockSize", "blocks"}). Unpacked files live
// in `app.asar.unpacked/` next to the archive.
//
// Archives are untrusted input: every size and offset is checked against the file, the
// header size, tree depth and entry count are bounded, names that are empty, ".", ".."
// or hold '/' are refused, links must stay inside the archive, and unpacked files are
// read only from inside `app.asar.unpacked/` (no symbolic links followed there). Every
// problem is an absl::Status whose message starts with the archive's name.
#ifndef MOSDAT_CORE_ASAR_ARCHIVE_H_
#define MOSDAT_CORE_ASAR_ARCHIVE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace mosdat {

struct AsarLimits {
  uint64_t max_header_bytes = 64ull << 20;  // the JSON index; real apps: a few MiB
  int max_depth = 64;                       // directory nesting
  size_t max_entries = 1'000'000;           // files, directories and links
  uint64_t max_read_bytes = 512ull << 20;   // the largest file Read() returns
};

struct AsarIntegrity {
  std::string algorithm;  // "SHA256", the only one Electron knows
  std::string hash;       // lowercase hex of the whole file
  uint64_t block_size = 0;
  std::vector<std::string> blocks;  // hex hash of each block_size piece
};

struct AsarEntry {
  enum class Kind { kFile, kDirectory, kLink };
  std::string path;  // from the archive's root, '/'-separated: "dist/main.js"
  Kind kind = Kind::kFile;
  uint64_t size = 0;
  uint64_t offset = 0;  // in the data area; files that are not unpacked
  bool unpacked = false;
  bool executable = false;
  std::string link;  // kLink: the target, from the archive's root
  std::optional<AsarIntegrity> integrity;
};

class AsarArchive {
 public:
  // Reads an unpacked file: `path` is from the archive's root and already checked (no
  // "..", not absolute); the result must be `size` bytes.
  using UnpackedReader =
      std::function<absl::StatusOr<std::string>(const std::string& path, uint64_t size)>;

  // Opens `path`; unpacked files come from `path` + ".unpacked/".
  static absl::StatusOr<AsarArchive> Open(const std::string& path, const AsarLimits& limits = {});
  // An archive held in memory, named `name` in errors. Without `unpacked`, reading an
  // unpacked file is an error that says so.
  static absl::StatusOr<AsarArchive> FromBytes(std::string bytes, std::string name,
                                               UnpackedReader unpacked = nullptr,
                                               const AsarLimits& limits = {});

  const std::string& name() const { return name_; }
  // Every entry, in the index's order (a directory before what it holds).
  const std::vector<AsarEntry>& entries() const { return entries_; }
  // The entry at `path` ("a/b.js", leading "/" or "./" allowed), links followed (also in
  // the middle of the path); nullptr when there is none.
  const AsarEntry* Find(std::string_view path) const;
  bool Exists(std::string_view path) const { return Find(path) != nullptr; }
  // A file's contents, checked against its integrity hashes when the index has them.
  absl::StatusOr<std::string> Read(std::string_view path) const;

  // The data source (the file, or the bytes); shared by copies.
  class Source;

 private:
  AsarArchive() = default;
  static absl::StatusOr<AsarArchive> Parse(std::shared_ptr<const Source> source, std::string name,
                                           UnpackedReader unpacked, const AsarLimits& limits);
  absl::StatusOr<std::string> ReadEntry(const AsarEntry& entry) const;

  std::string name_;
  std::shared_ptr<const Source> source_;
  UnpackedReader unpacked_;
  AsarLimits limits_;
  uint64_t data_offset_ = 0;
  std::vector<AsarEntry> entries_;
  std::map<std::string, size_t, std::less<>> by_path_;  // path -> index in entries_
};

// Reads `root`/`relative` where `relative` has already been checked to hold no ".."
// and not be absolute, refusing symbolic links on the way (so nothing outside `root` is
// read) and anything but a regular file (of exactly `size` bytes when given; never more
// than `max_bytes`).
absl::StatusOr<std::string> ReadFileBeneath(const std::string& root, const std::string& relative,
                                            std::optional<uint64_t> size,
                                            uint64_t max_bytes = uint64_t{1} << 30);

}  // namespace mosdat

#endif  // MOSDAT_CORE_ASAR_ARCHIVE_H_

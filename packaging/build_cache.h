// Finished builds, kept by commit and build config so the same commit is not built
// twice. An entry is a directory <root>/<commit>-<config hash> holding the artifacts,
// the build log and manifest.json (commit, ref, config hash, artifacts with SHA-256,
// size and format, build log, time).
//
// Trust: an entry is used only when its manifest parses and matches the key and every
// artifact still has its recorded size and SHA-256; otherwise the build runs again and
// replaces it. Writes are atomic (a temporary directory renamed into place), so a build
// killed half-way leaves no entry that looks complete.
#ifndef MOSDAT_PACKAGING_BUILD_CACHE_H_
#define MOSDAT_PACKAGING_BUILD_CACHE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "packaging/artifacts.h"

namespace mosdat {

// SHA-256 over what decides a build's output besides the commit: the commands, the
// [build.env] variables, the working directory and the artifact globs.
std::string BuildConfigHash(const BuildConfig& build, const std::vector<std::string>& globs);

struct BuildKey {
  std::string commit;       // 40 hex digits
  std::string config_hash;  // BuildConfigHash
};

struct BuildManifest {
  std::string commit;
  std::string ref;  // what was asked for, e.g. "pull request 7"
  std::string config_hash;
  std::string built_at;   // RFC 3339, UTC
  std::string build_log;  // path of the kept log
  std::vector<Artifact> artifacts;
};

// manifest.json's text and back. Parsing checks every field (a manifest is read from
// disk, where anything may have happened to it).
std::string ManifestJson(const BuildManifest& manifest);
absl::StatusOr<BuildManifest> ParseManifest(std::string_view json);

// Manifests larger than this are not read (a real one is a few KiB).
inline constexpr size_t kMaxManifestBytes = 1 << 20;

class BuildCache {
 public:
  explicit BuildCache(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string EntryDir(const BuildKey& key) const;

  // The verified entry for `key` (artifact paths inside it), or nullopt with the
  // reason in *why_not (no entry, unreadable, an artifact changed).
  std::optional<BuildManifest> Lookup(const BuildKey& key, std::string* why_not) const;

  // Copies the artifacts and the log into the entry for `key`, replacing one that is
  // there, and returns its manifest (paths inside the entry).
  absl::StatusOr<BuildManifest> Store(const BuildKey& key, const std::string& ref,
                                      const std::vector<Artifact>& artifacts,
                                      const std::string& log_path) const;

 private:
  std::string root_;
};

}  // namespace mosdat

#endif  // MOSDAT_PACKAGING_BUILD_CACHE_H_

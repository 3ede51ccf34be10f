// The packages a build produced: found by glob, recognised by file name, measured and
// hashed (SHA-256), so later phases (cache, deploy) can trust and pick them.
#ifndef MOSDAT_PACKAGING_ARTIFACTS_H_
#define MOSDAT_PACKAGING_ARTIFACTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/sha256.h"

namespace mosdat {

struct Artifact {
  std::string path;    // absolute
  std::string name;    // file name
  std::string format;  // the [[vm.package]] format its name says ("deb", "tar", ...;
                       // core/package_install.h FormatOfFileName), or "" for none
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

// The [[vm.package]] format a file name says, as the config spells it (".deb" → "deb",
// ".tar.gz" → "tar", ".pkg.tar.zst" → "pacman"); "" for anything else.
std::string ArtifactFormatOf(std::string_view file_name);

// The regular files matched by `globs` (shell patterns, relative to `base_dir` unless
// absolute), each once, sorted by path, measured and hashed. A glob that matches no file
// is InvalidArgument naming the glob and listing what its directory holds. Two files
// with the same name from different directories are an error too (the cache and the
// VMs keep artifacts by name).
absl::StatusOr<std::vector<Artifact>> CollectArtifacts(const std::string& base_dir,
                                                       const std::vector<std::string>& globs);

// The globs of a [build] table, relative to its working directory: `artifacts`, or else
// the original's dist_dir joined with each [[vm.package]] file_glob ({version} and
// {app_name} filled in, as the original did), or dist_dir/* when no package names one.
// Empty when the config says nothing about artifacts.
std::vector<std::string> ArtifactGlobs(const Config& config);

// Deletes the package files (a format ArtifactFormatOf knows) `globs` match under
// `base_dir`, so a previous build's packages left in the build directory are never
// collected as this build's. Returns how many.
absl::StatusOr<int> RemoveStaleArtifacts(const std::string& base_dir,
                                         const std::vector<std::string>& globs);

}  // namespace mosdat

#endif  // MOSDAT_PACKAGING_ARTIFACTS_H_

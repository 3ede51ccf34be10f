// ArtifactFiles: the files of a built package or an installed app, as the artifact
// checks (core/artifact_checks.h) read them: a .deb, a tarball, a directory, a single
// app.asar or ELF file, or files already read into memory (by the agent, from a VM).
//
// Paths are relative, '/'-separated, without a leading "/" or "./": a .deb's
// "./opt/App/app" and an install's "/opt/App/app" are both "opt/App/app".
// Packages are untrusted input: nothing is ever written to disk, entries with ".."
// are ignored, sizes are bounded, and a corrupt package is a clear error.
#ifndef MOSDAT_CORE_ARTIFACT_FILES_H_
#define MOSDAT_CORE_ARTIFACT_FILES_H_

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

// "./opt/x", "/opt//x" -> "opt/x"; nullopt for paths with ".." or nothing in them.
std::optional<std::string> NormalizeArtifactPath(std::string_view path);

class ArtifactFiles {
 public:
  virtual ~ArtifactFiles() = default;
  // What the artifact is, for messages: "app.deb", "a directory /x".
  virtual const std::string& name() const = 0;
  // Every regular file (symbolic links not included), sorted.
  virtual std::vector<std::string> Paths() const = 0;
  // A file's contents. NotFound when there is no such regular file (a link names its
  // target in the message), an error when it cannot be read.
  virtual absl::StatusOr<std::string> Read(std::string_view path) const = 0;
  // True when the artifact is one file (a plain app.asar or ELF binary): checks of
  // files it does not have are skipped rather than failed.
  virtual bool single_file() const { return false; }
};

// Files held in memory: path -> contents (paths normalized on the way in).
std::unique_ptr<ArtifactFiles> InMemoryArtifact(std::string name,
                                                std::map<std::string, std::string> files);

// Which files an archive keeps in memory while it is read (every path is listed).
using WantedFile = std::function<bool(std::string_view path)>;

struct ArtifactLimits {
  uint64_t max_kept_bytes = uint64_t{2} << 30;  // of the kept (wanted) files
  size_t max_entries = 2'000'000;
};

// Opens `path`: a directory, a .deb (ar with data.tar.*), a tarball (.tar, .tar.gz,
// .tar.xz, .tar.zst...), or one app.asar or ELF file, told apart by their contents.
// Archives keep in memory only the files `wanted` accepts; directories are read on
// demand (symbolic links are not followed).
absl::StatusOr<std::unique_ptr<ArtifactFiles>> OpenArtifact(const std::string& path,
                                                            const WantedFile& wanted,
                                                            const ArtifactLimits& limits = {});

}  // namespace mosdat

#endif  // MOSDAT_CORE_ARTIFACT_FILES_H_

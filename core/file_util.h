// Reading files whole: configs, scenarios, references, logs, evidence.
#ifndef MOSDAT_CORE_FILE_UTIL_H_
#define MOSDAT_CORE_FILE_UTIL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

// The file's bytes. Errors say "PATH: why": NotFound when nothing is there,
// InvalidArgument for a directory, the errno's code when it cannot be opened, DataLoss
// on a read error.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// The file's bytes, or "" when it cannot be read (for callers where absent = empty).
std::string ReadFileOrEmpty(const std::string& path);

// Writes `data` to `path` whole or not at all: into a temporary file beside it, synced,
// then renamed over `path` (a reader never sees half a file; a crash leaves the old
// one). Errors say "PATH: why".
absl::Status WriteFileAtomically(const std::string& path, std::string_view data);

// The end of a log file for an error message: at most `max_chars`, prefixed with "..."
// when cut, trailing whitespace removed.
std::string FileTail(const std::string& path, size_t max_chars = 600);

// A screenshot name an agent or an events.jsonl gave: a plain "*.png" file name, with
// no directory part, so joining it to a result directory stays inside it.
bool IsPlainPngName(const std::string& name);

// A name that becomes part of a file name (a test, a VM, an import or routine of the
// original mOSdat): letters, digits, "_", "." and "-", and neither "." alone nor "..",
// so no path it is joined into can leave its folder or be the folder itself.
bool IsPlainFileName(std::string_view name);

// mOSdat's cache folder `name` of this user: $XDG_CACHE_HOME/mosdat/<name> (when that
// is absolute), else ~/.cache/mosdat/<name>.
std::string UserCacheDir(std::string_view name);

}  // namespace mosdat

#endif  // MOSDAT_CORE_FILE_UTIL_H_

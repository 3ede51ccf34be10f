// Parses a mOSdat TOML config (see core/config.h, examples/*.toml) into a Config,
// checking types, ranges, unknown keys and cross references, and reporting every
// problem as "file:line:column: key.path: message".
#ifndef MOSDAT_CORE_CONFIG_PARSER_H_
#define MOSDAT_CORE_CONFIG_PARSER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/diagnostics.h"

namespace mosdat {

// Parses `text`. `file_name` labels diagnostics and is the base for relative paths
// (test scenarios and "file:" secrets are resolved against its directory). Problems
// are appended to `diagnostics`, sorted by position; the returned Config is only
// meaningful when none were added. Does no I/O.
Config ParseConfig(std::string_view text, std::string_view file_name, Diagnostics* diagnostics);

// Reads and parses the file at `path`. An unreadable file is NotFound /
// PermissionDenied naming the path; a file with problems is InvalidArgument listing
// all diagnostics, one per line.
absl::StatusOr<Config> LoadConfig(const std::string& path);

}  // namespace mosdat

#endif  // MOSDAT_CORE_CONFIG_PARSER_H_

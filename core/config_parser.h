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
// (test scenarios and "file:" secrets are resolved against its directory; "~/" is
// $HOME). Problems are appended to `diagnostics`, errors and warnings each sorted by
// position; the returned Config is only meaningful when no error was added. Warnings
// say what was accepted but has no effect (keys of the original mOSdat this version
// cannot honour yet). Does no I/O.
Config ParseConfig(std::string_view text, std::string_view file_name, Diagnostics* diagnostics);

// Reads and parses the file at `path`. An unreadable file is NotFound /
// PermissionDenied naming the path; a file with errors is InvalidArgument listing
// all of them, one per line. Warnings go to `warnings` when given.
absl::StatusOr<Config> LoadConfig(const std::string& path, Diagnostics* warnings = nullptr);

}  // namespace mosdat

#endif  // MOSDAT_CORE_CONFIG_PARSER_H_

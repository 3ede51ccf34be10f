// Scenario parser options reading files from a map instead of the disk, for tests of
// imports, fragments and the original mOSdat's routines.
#ifndef MOSDAT_TESTS_UNIT_IN_MEMORY_FILES_H_
#define MOSDAT_TESTS_UNIT_IN_MEMORY_FILES_H_

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/scenario_parser.h"

namespace mosdat {

// `files` by path; any other path is NotFound. Confinement stays on unless the
// caller sets any_file.
inline ScenarioOptions WithFiles(std::map<std::string, std::string> files) {
  ScenarioOptions options;
  options.read_file =
      [files = std::move(files)](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(absl::StrCat("not found: ", path));
    return it->second;
  };
  return options;
}

}  // namespace mosdat

#endif  // MOSDAT_TESTS_UNIT_IN_MEMORY_FILES_H_

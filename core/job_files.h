// The files a run needs, gathered on the submitting machine: the config, each selected
// test's scenario, the fragments it imports and the reference images it compares
// against. They travel with the submission so coordinators and agents on other hosts
// parse exactly what the user has.
#ifndef MOSDAT_CORE_JOB_FILES_H_
#define MOSDAT_CORE_JOB_FILES_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/template_vars.h"

namespace mosdat {

// The most a submission's files may add up to: they are held in memory by the
// coordinator and the agent. Preflight checks it; the coordinator enforces it.
inline constexpr size_t kMaxJobFilesBytes = 64 << 20;

// Keys are the paths as the parsers resolve them (e.g. "examples/../scenarios/a.yaml").
// InvalidArgument lists every scenario problem or names a missing file.
absl::StatusOr<std::map<std::string, std::string>> CollectJobFiles(
    const Config& config, const std::string& config_text, const std::vector<std::string>& tests,
    const VarMap& vars);

}  // namespace mosdat

#endif  // MOSDAT_CORE_JOB_FILES_H_

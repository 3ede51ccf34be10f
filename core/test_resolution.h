// `--test NAME` when the config has no [[test]] named NAME: the original mOSdat took NAME
// as a scenario file in its functional tests folder ([functional].tests_dir), trying the
// VM's own sub-folder first, then the shared `linux` one (Linux VMs), then the folder
// itself. This turns such names into tests of the config, the same way on the machine
// that submits a run (looking at its disk) and in the coordinator (looking at the files
// sent with the run), so both agree on which file each VM runs.
#ifndef MOSDAT_CORE_TEST_RESOLUTION_H_
#define MOSDAT_CORE_TEST_RESOLUTION_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/config.h"

namespace mosdat {

// The folders searched, in order: [functional].tests_dir; without it, the original's
// shared/scenarios/functional next to the config, then one level up (an original
// checkout keeps its configs in examples/ and its scenarios in shared/).
std::vector<std::string> TestsDirs(const Config& config);

// The files looked at for NAME on `vm`, in order, for each folder of TestsDirs():
// <dir>/<vm>/NAME.yaml, <dir>/linux/NAME.yaml (Linux VMs only), <dir>/NAME.yaml.
std::vector<std::string> ScenarioCandidates(const Config& config, const VmConfig& vm,
                                            std::string_view name);

// For every name in `names` that no [[test]] has, adds tests to `config`: each VM of
// `vms` (every [[vm]] when empty; unknown names are left to the caller) runs the first
// candidate `exists` confirms, and the VMs that run the same file share one test named
// NAME. Its imports and images may also come from the folder the file was found in.
// A name found nowhere for some VM is InvalidArgument (a usage error) listing the places
// looked at and the [[test]] names the config has, one line per name.
absl::Status AddTestsFromScenarioFiles(Config* config, const std::vector<std::string>& names,
                                       const std::vector<std::string>& vms,
                                       const std::function<bool(const std::string&)>& exists);

// Adds a test named `name` running `scenario_path` on every [[vm]] (a test the command
// line defines, as `mosdat confirm --scenario` does). InvalidArgument when a [[test]]
// is named so already.
absl::Status AddScenarioTest(Config* config, const std::string& name,
                             const std::string& scenario_path);

}  // namespace mosdat

#endif  // MOSDAT_CORE_TEST_RESOLUTION_H_

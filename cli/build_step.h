// The build phase as the CLI runs it, for `mosdat build` and for `mosdat run` (which
// builds, then installs what it built in every VM and runs the matrix): checks out
// [build]'s source at a ref or pull request head, builds (or takes the build from the
// cache), and keeps build.log and manifest.json in a results folder
// <[report].output_dir>/build-<UTC time>-<random>. Progress goes to stderr.
#ifndef MOSDAT_CLI_BUILD_STEP_H_
#define MOSDAT_CLI_BUILD_STEP_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "packaging/build_phase.h"

namespace mosdat {

struct BuildOptions {
  std::string ref;  // "" = [build] ref
  int pr = 0;       // a pull request number instead of a ref
  bool no_cache = false;
  std::string build_dir;  // "" = ~/.cache/mosdat/build
};

// --ref, --pr, --no-cache, --build-dir.
void AddBuildFlags(CLI::App* cmd, BuildOptions* options);

struct BuiltPackages {
  BuildResult result;
  std::string results_dir;
};

// Builds `config`'s [build]. Errors carry their outcome (core/outcome.h): a config
// mistake (an unknown ref, a glob matching nothing) or an infrastructure error (git or
// a build command failed, with the log tail); never a test failure.
absl::StatusOr<BuiltPackages> BuildPackages(const Config& config, const BuildOptions& options);

// The built files some [[vm.package]] of the VMs named in `vms` (all when empty) takes:
// a build may also leave other formats, checksums or update feeds.
std::vector<std::string> PackagesTheVmsTake(const Config& config, const BuildResult& built,
                                            const std::vector<std::string>& vms);

// The built files as a table: name, format, size, SHA-256.
void PrintArtifacts(const std::vector<Artifact>& artifacts);

}  // namespace mosdat

#endif  // MOSDAT_CLI_BUILD_STEP_H_

// The build phase of `mosdat build` / `mosdat run`: check out the [build] source at the
// asked revision, run the build commands (or take the build from the cache), and return
// the artifacts. Deploy and the asar checks take the artifacts from here.
#ifndef MOSDAT_PACKAGING_BUILD_PHASE_H_
#define MOSDAT_PACKAGING_BUILD_PHASE_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "packaging/artifacts.h"
#include "packaging/build_cache.h"

namespace mosdat {

struct BuildRequest {
  std::string ref;        // --ref: overrides [build].ref (and checkout of [app].version)
  int pull_request = 0;   // --pr N: refs/pull/N/head; excludes ref
  bool use_cache = true;  // --no-cache: build even when the cache has this commit
  // Clones and the build cache: <build_dir>/sources/, <build_dir>/cache/. "" =
  // DefaultBuildDir().
  std::string build_dir;
  std::string log_path;  // this run's build log (required)
};

struct BuildResult {
  std::string commit;       // "" when the working tree is not in git
  std::string description;  // "pull request 7", "ref \"main\"", "the working tree", ...
  bool from_cache = false;
  // Why this build was not served from the cache, or was not stored in it ("" when it was).
  std::string cache_note;
  std::string source_dir;  // where the commands run(would run)
  std::string build_log;   // the log of the build that made the artifacts
  std::vector<Artifact> artifacts;
  BuildManifest manifest;  // what manifest.json records
};

// $XDG_CACHE_HOME/mosdat/build, or ~/.cache/mosdat/build.
std::string DefaultBuildDir();

using BuildProgress = std::function<void(std::string_view line)>;

// `progress` gets phase lines ("fetching ...", "running ...") and the commands' output
// lines, prefixed "| ". Errors carry their outcome (core/outcome.h): config mistakes
// (no [build], a bad workdir, a glob matching nothing, an unknown ref) are config
// errors naming the config's position; a failing build or an unreachable repository
// is an infrastructure error with the log tail; never a test failure.
absl::StatusOr<BuildResult> RunBuildPhase(const Config& config, const BuildRequest& request,
                                          const BuildProgress& progress);

}  // namespace mosdat

#endif  // MOSDAT_PACKAGING_BUILD_PHASE_H_

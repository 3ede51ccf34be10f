// `mosdat build --config X [--pr N | --ref R] [--no-cache] [--build-dir DIR]`: checks
// out the [build] source at a ref or pull request head, builds its packages (or takes
// them from the build cache), and writes a results folder under [report].output_dir
// with build.log and manifest.json. Exit 0 when built, 3 for a config mistake (an
// unknown ref, a glob matching nothing), 4 when the build or git failed (with the log
// tail); a build problem is never reported as a test failure.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"
#include "packaging/build_phase.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

struct BuildArgs {
  std::string config;
  std::string ref;
  int pr = 0;
  bool no_cache = false;
  std::string build_dir;
};

std::string HumanSize(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

void PrintArtifacts(const std::vector<Artifact>& artifacts) {
  size_t name_width = 4;
  for (const Artifact& a : artifacts) name_width = std::max(name_width, a.name.size());
  std::cout << absl::StrFormat("%-*s  %-8s  %10s  %s\n", name_width, "FILE", "FORMAT", "SIZE",
                               "SHA256");
  for (const Artifact& a : artifacts) {
    std::cout << absl::StrFormat("%-*s  %-8s  %10s  %s\n", name_width, a.name,
                                 a.format.empty() ? "-" : a.format, HumanSize(a.size), a.sha256);
  }
}

// <output_dir>/build-<UTC time>-<random>, created.
absl::StatusOr<std::string> CreateResultsDir(const std::string& output_dir) {
  std::random_device random;
  fs::path dir =
      fs::path(output_dir) /
      absl::StrCat("build-", absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::UTCTimeZone()),
                   "-", absl::StrFormat("%04x", random() & 0xffff));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return InfrastructureError(
        absl::StrCat("cannot create the results folder ", dir.string(), ": ", ec.message()));
  }
  return dir.string();
}

void WriteResultsManifest(const std::string& path, const BuildResult& result) {
  nlohmann::json doc = nlohmann::json::parse(ManifestJson(result.manifest));
  doc["from_cache"] = result.from_cache;
  if (!result.cache_note.empty()) doc["cache_note"] = result.cache_note;
  doc["source_dir"] = result.source_dir;
  std::ofstream(path) << doc.dump(2) << "\n";
}

int RunBuildCommand(const BuildArgs& args) {
  Diagnostics warnings;
  absl::StatusOr<Config> config = LoadConfig(args.config, &warnings);
  for (const Diagnostic& d : warnings.warnings()) std::cerr << "warning: " << d.ToString() << "\n";
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitConfigError;  // unreadable or invalid: either way the files need fixing
  }
  absl::StatusOr<std::string> results = CreateResultsDir(config->report.output_dir);
  if (!results.ok()) {
    std::cerr << "mosdat build: " << results.status().message() << "\n";
    return ExitCodeFor(results.status());
  }
  BuildRequest request{.ref = args.ref,
                       .pull_request = args.pr,
                       .use_cache = !args.no_cache,
                       .build_dir = args.build_dir,
                       .log_path = (fs::path(*results) / "build.log").string()};
  absl::StatusOr<BuildResult> built = RunBuildPhase(
      *config, request, [](std::string_view line) { std::cerr << "build: " << line << "\n"; });
  if (!built.ok()) {
    std::cerr << "mosdat build: " << built.status().message() << "\n";
    std::error_code ec;
    if (fs::is_empty(*results, ec)) {
      fs::remove(*results, ec);  // stopped before building: nothing to keep
    } else {
      std::cerr << "results: " << *results << "\n";
    }
    return ExitCodeFor(built.status());
  }
  // A build served from the cache keeps its log next to the results too.
  if (built->from_cache) {
    std::error_code ec;
    fs::copy_file(built->build_log, request.log_path, fs::copy_options::overwrite_existing, ec);
  }
  WriteResultsManifest((fs::path(*results) / "manifest.json").string(), *built);

  // Deploy and the asar checks (issue 15, parts 2 and 3) start here, from
  // built->artifacts.

  std::cout << (built->from_cache ? "from cache: " : "built: ") << built->description;
  if (!built->commit.empty()) std::cout << " at " << built->commit;
  std::cout << "\n";
  if (!built->cache_note.empty()) std::cout << built->cache_note << "\n";
  PrintArtifacts(built->artifacts);
  std::cout << "results: " << *results << "\n";
  return kExitPass;
}

}  // namespace

void AddBuildCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<BuildArgs>();
  CLI::App* cmd = root.add_subcommand(
      "build", "Check out a ref or pull request head, build its packages (cached per commit)");
  cmd->add_option("--config", args->config, "mOSdat TOML config with a [build] table")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::Option* ref = cmd->add_option("--ref", args->ref, "branch, tag or commit to build");
  CLI::Option* pr =
      cmd->add_option("--pr", args->pr, "pull request number to build")->check(CLI::PositiveNumber);
  ref->excludes(pr);
  cmd->add_flag("--no-cache", args->no_cache, "build even when this commit is in the cache");
  cmd->add_option("--build-dir", args->build_dir,
                  "clones and build cache (default: ~/.cache/mosdat/build)");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [args] { return RunBuildCommand(*args); });
  });
}

}  // namespace mosdat

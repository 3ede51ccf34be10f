#include "cli/build_step.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/outcome.h"
#include "core/package_install.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

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

}  // namespace

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

absl::StatusOr<BuiltPackages> BuildPackages(const Config& config, const BuildOptions& options) {
  absl::StatusOr<std::string> results = CreateResultsDir(config.report.output_dir);
  if (!results.ok()) return results.status();
  BuildRequest request{.ref = options.ref,
                       .pull_request = options.pr,
                       .use_cache = !options.no_cache,
                       .build_dir = options.build_dir,
                       .log_path = (fs::path(*results) / "build.log").string()};
  absl::StatusOr<BuildResult> built = RunBuildPhase(
      config, request, [](std::string_view line) { std::cerr << "build: " << line << "\n"; });
  if (!built.ok()) {
    std::error_code ec;
    if (fs::is_empty(*results, ec)) {
      fs::remove(*results, ec);  // stopped before building: nothing to keep
    } else {
      std::cerr << "results: " << *results << "\n";
    }
    return built.status();
  }
  // A build served from the cache keeps its log next to the results too.
  if (built->from_cache) {
    std::error_code ec;
    fs::copy_file(built->build_log, request.log_path, fs::copy_options::overwrite_existing, ec);
  }
  WriteResultsManifest((fs::path(*results) / "manifest.json").string(), *built);
  std::cout << (built->from_cache ? "from cache: " : "built: ") << built->description;
  if (!built->commit.empty()) std::cout << " at " << built->commit;
  std::cout << "\n";
  if (!built->cache_note.empty()) std::cout << built->cache_note << "\n";
  PrintArtifacts(built->artifacts);
  return BuiltPackages{*std::move(built), *std::move(results)};
}

void AddBuildFlags(CLI::App* cmd, BuildOptions* options) {
  CLI::Option* ref = cmd->add_option("--ref", options->ref, "branch, tag or commit to build");
  CLI::Option* pr = cmd->add_option("--pr", options->pr, "pull request number to build")
                        ->check(CLI::PositiveNumber);
  ref->excludes(pr);
  cmd->add_flag("--no-cache", options->no_cache, "build even when this commit is in the cache");
  cmd->add_option("--build-dir", options->build_dir,
                  "clones and build cache (default: ~/.cache/mosdat/build)");
}

}  // namespace mosdat

namespace mosdat {

std::vector<std::string> PackagesTheVmsTake(const Config& config, const BuildResult& built,
                                            const std::vector<std::string>& vms) {
  std::set<PackageFormat> taken;
  for (const VmConfig& vm : config.vms) {
    if (!vms.empty() && std::find(vms.begin(), vms.end(), vm.name) == vms.end()) continue;
    for (const PackageConfig& package : vm.packages) taken.insert(package.format);
  }
  std::vector<std::string> paths;
  for (const Artifact& artifact : built.artifacts) {
    std::optional<PackageFormat> format = FormatOfFileName(artifact.name);
    if (format && taken.contains(*format)) paths.push_back(artifact.path);
  }
  return paths;
}

}  // namespace mosdat

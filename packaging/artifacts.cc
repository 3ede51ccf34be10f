#include "packaging/artifacts.h"

#include <glob.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/absl_compat.h"
#include "core/outcome.h"
#include "core/package_install.h"
#include "core/sha256.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxListedEntries = 20;

std::string JoinGlob(const std::string& base_dir, const std::string& pattern) {
  if (!pattern.empty() && pattern[0] == '/') return pattern;
  // The base directory is taken literally: escape what glob(3) would interpret.
  std::string escaped;
  for (char c : base_dir) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return absl::StrCat(escaped, "/", pattern);
}

// The files (not directories) a pattern matches.
absl::StatusOr<std::vector<std::string>> Glob(const std::string& pattern) {
  glob_t result{};
  int rc = glob(pattern.c_str(), GLOB_MARK, nullptr, &result);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < result.gl_pathc; ++i) {
      std::string path = result.gl_pathv[i];
      if (path.empty() || path.back() == '/') continue;  // GLOB_MARK: a directory
      std::error_code ec;
      if (fs::is_regular_file(path, ec))
        out.push_back(fs::absolute(path).lexically_normal().string());
    }
  }
  globfree(&result);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    return InfrastructureError(absl::StrCat("cannot read the files matching ", pattern));
  }
  return out;
}

// The deepest directory of `pattern` without wildcards, and what it holds, for an error.
std::string DescribeWhere(const std::string& full_pattern) {
  fs::path dir = fs::path(full_pattern).parent_path();
  while (!dir.empty() && dir.string().find_first_of("*?[") != std::string::npos) {
    dir = dir.parent_path();
  }
  std::string shown = absl::StrReplaceAll(dir.string(), {{"\\", ""}});
  std::error_code ec;
  if (!fs::is_directory(shown, ec)) return absl::StrCat(shown, " does not exist");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(shown, ec)) {
    names.push_back(entry.path().filename().string() + (entry.is_directory() ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) return absl::StrCat(shown, " is empty");
  size_t total = names.size();
  if (names.size() > kMaxListedEntries) names.resize(kMaxListedEntries);
  return absl::StrCat(
      shown, " holds: ", absl::StrJoin(names, ", "),
      total > names.size() ? absl::StrCat(" (and ", total - names.size(), " more)") : "");
}

}  // namespace

std::string ArtifactFormatOf(std::string_view file_name) {
  std::optional<PackageFormat> format = FormatOfFileName(std::string(file_name));
  return format ? std::string(ToString(*format)) : std::string();
}

absl::StatusOr<std::vector<Artifact>> CollectArtifacts(const std::string& base_dir,
                                                       const std::vector<std::string>& globs) {
  if (globs.empty()) {
    return ConfigError(
        "[build] names no artifacts: set artifacts = [\"dist/*.deb\", ...] (globs of the "
        "packages the commands produce, relative to the build directory)");
  }
  std::set<std::string> paths;
  for (const std::string& pattern : globs) {
    const std::string full = JoinGlob(base_dir, pattern);
    absl::StatusOr<std::vector<std::string>> matched = Glob(full);
    if (!matched.ok()) return matched.status();
    if (matched->empty()) {
      return ConfigError(absl::StrCat("the artifact glob \"", pattern,
                                      "\" matched no file after the build; ", DescribeWhere(full)));
    }
    paths.insert(matched->begin(), matched->end());
  }
  std::vector<Artifact> out;
  std::map<std::string, std::string> by_name;
  for (const std::string& path : paths) {
    Artifact artifact;
    artifact.path = path;
    artifact.name = fs::path(path).filename().string();
    if (auto [it, inserted] = by_name.emplace(artifact.name, path); !inserted) {
      return ConfigError(absl::StrCat("two artifacts are named ", artifact.name, ": ", it->second,
                                      " and ", path, "; narrow the [build] artifact globs"));
    }
    artifact.format = ArtifactFormatOf(artifact.name);
    std::error_code ec;
    artifact.size = fs::file_size(path, ec);
    if (ec) return InfrastructureError(absl::StrCat(path, ": ", ec.message()));
    absl::StatusOr<std::string> sha = Sha256OfFile(path);
    if (!sha.ok()) return sha.status();
    artifact.sha256 = *sha;
    out.push_back(std::move(artifact));
  }
  return out;
}

std::vector<std::string> ArtifactGlobs(const Config& config) {
  if (!config.build) return {};
  const BuildConfig& build = *config.build;
  if (!build.artifacts.empty()) return build.artifacts;
  if (build.dist_dir.empty()) return {};
  std::vector<std::string> globs;
  for (const VmConfig& vm : config.vms) {
    for (const PackageConfig& package : vm.packages) {
      if (package.file_glob.empty()) continue;
      std::string glob = absl::StrReplaceAll(
          package.file_glob,
          {{"{version}", package.version.empty() ? config.app.version : package.version},
           {"{app_name}", config.app.name}});
      glob = (fs::path(build.dist_dir) / glob).string();
      if (std::find(globs.begin(), globs.end(), glob) == globs.end()) globs.push_back(glob);
    }
  }
  if (globs.empty()) globs.push_back((fs::path(build.dist_dir) / "*").string());
  return globs;
}

absl::StatusOr<int> RemoveStaleArtifacts(const std::string& base_dir,
                                         const std::vector<std::string>& globs) {
  int removed = 0;
  for (const std::string& pattern : globs) {
    absl::StatusOr<std::vector<std::string>> matched = Glob(JoinGlob(base_dir, pattern));
    if (!matched.ok()) return matched.status();
    for (const std::string& path : *matched) {
      // Only packages: a broad glob (dist_dir/*) must not delete anything else.
      if (ArtifactFormatOf(fs::path(path).filename().string()).empty()) continue;
      std::error_code ec;
      if (fs::remove(path, ec)) {
        ++removed;
      } else if (ec) {
        return InfrastructureError(
            absl::StrCat("cannot remove the previous build's ", path, ": ", ec.message()));
      }
    }
  }
  return removed;
}

}  // namespace mosdat

#include "packaging/build_phase.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/outcome.h"
#include "packaging/build_runner.h"
#include "packaging/git_source.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

// "file:line:column: build: message", for config errors the [build] table causes.
absl::Status BuildConfigError(const BuildConfig& build, std::string_view key,
                              std::string_view message) {
  return ConfigError(absl::StrCat(build.location.ToString(), ": build", key.empty() ? "" : ".",
                                  Absl(key), ": ", Absl(message)));
}

// A status from a step, with config errors placed at [build] when the config caused them.
absl::Status AtBuild(const BuildConfig& build, std::string_view key, const absl::Status& status) {
  if (OutcomeOf(status) != Outcome::kConfigError) return status;
  return BuildConfigError(build, key, Std(status.message()));
}

// A directory name for a repository's clone: readable, and unique per URL.
std::string CloneName(const std::string& repo) {
  std::string base = fs::path(repo).filename().string();
  if (base.size() > 4 && base.substr(base.size() - 4) == ".git") base.resize(base.size() - 4);
  std::string slug;
  for (char c : base) {
    slug.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                           c == '.'
                       ? c
                       : '_');
  }
  if (slug.empty() || slug[0] == '.') slug = "repo" + slug;
  if (slug.size() > 40) slug.resize(40);
  return absl::StrCat(slug, "-", Sha256Hex(repo).substr(0, 12));
}

// An exclusive lock on a file, held while the object lives: two builds of the same
// clone would check out and build over each other.
class FileLock {
 public:
  ~FileLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  // Takes the lock, saying so through `say` when another build holds it and waiting.
  absl::Status Acquire(const std::string& path, const BuildProgress& say) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return InfrastructureError(absl::StrCat("cannot open the lock file ", path));
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
    if (say) say(absl::StrCat("another build holds ", path, "; waiting for it to finish"));
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return InfrastructureError(absl::StrCat("cannot lock ", path));
    }
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
};

bool EscapesRoot(const fs::path& relative) {
  for (const fs::path& part : relative.lexically_normal()) {
    if (part == "..") return true;
  }
  return false;
}

}  // namespace

std::string DefaultBuildDir() { return UserCacheDir("build"); }

absl::StatusOr<BuildResult> RunBuildPhase(const Config& config, const BuildRequest& request,
                                          const BuildProgress& progress) {
  auto say = [&](std::string_view line) {
    if (progress) progress(line);
  };
  if (!config.build) {
    return ConfigError(absl::StrCat(config.source_path,
                                    ": the config has no [build] table (repo, ref, commands, "
                                    "artifacts) to build from"));
  }
  const BuildConfig& build = *config.build;
  if (request.pull_request > 0 && !request.ref.empty()) {
    return ConfigError("give --pr or --ref, not both");
  }
  const std::vector<std::string> globs = ArtifactGlobs(config);
  if (globs.empty()) {
    return BuildConfigError(build, "artifacts",
                            "names no artifacts: set artifacts = [\"dist/*.deb\", ...] (globs "
                            "of the packages the commands produce, relative to the build "
                            "directory), or the original's dist_dir with [[vm.package]] "
                            "file_glob");
  }
  const std::string build_dir = request.build_dir.empty() ? DefaultBuildDir() : request.build_dir;
  const fs::path config_dir = fs::absolute(config.source_path).parent_path();
  BuildResult result;
  bool cacheable = true;
  FileLock clone_lock;  // held until the artifacts are collected

  // 1. The source, at the asked revision.
  const std::string ref = !request.ref.empty() ? request.ref : build.ref;
  const bool ref_from_config = request.ref.empty() && request.pull_request == 0;
  if (!build.repo.empty()) {
    fs::path workdir(build.workdir);
    if (workdir.is_absolute() || EscapesRoot(workdir)) {
      return BuildConfigError(build, "workdir",
                              absl::StrCat("\"", build.workdir,
                                           "\" must be a directory inside the repository "
                                           "(relative, without \"..\") when repo is set"));
    }
    const fs::path clone = fs::path(build_dir) / "sources" / CloneName(build.repo);
    if (absl::Status locked = clone_lock.Acquire(clone.string() + ".lock", progress);
        !locked.ok()) {
      return locked;
    }
    GitCheckoutRequest checkout{.repo = build.repo,
                                .ref = request.pull_request > 0 ? "" : ref,
                                .pull_request = request.pull_request,
                                .dir = clone.string(),
                                .owned_clone = true};
    absl::StatusOr<GitCheckout> checked_out = CheckoutGitSource(checkout, progress);
    if (!checked_out.ok()) {
      return ref_from_config ? AtBuild(build, "ref", checked_out.status()) : checked_out.status();
    }
    result.commit = checked_out->commit;
    result.description = checked_out->description;
    result.source_dir = build.workdir.empty()
                            ? checked_out->dir
                            : (fs::path(checked_out->dir) / workdir).lexically_normal().string();
  } else {
    // A working tree the user keeps (the original's repo_path).
    fs::path root = build.workdir.empty() ? config_dir : fs::path(build.workdir);
    if (root.is_relative()) root = config_dir / root;
    root = root.lexically_normal();
    result.source_dir = root.string();
    std::string wanted_ref = request.ref;
    if (wanted_ref.empty() && request.pull_request == 0 && build.checkout_app_version) {
      wanted_ref = config.app.version;  // the original: git checkout <[app].version>
    }
    if (!wanted_ref.empty() || request.pull_request > 0) {
      GitCheckoutRequest checkout{.repo = "",
                                  .ref = wanted_ref,
                                  .pull_request = request.pull_request,
                                  .dir = root.string(),
                                  .owned_clone = false};
      absl::StatusOr<GitCheckout> checked_out = CheckoutGitSource(checkout, progress);
      if (!checked_out.ok()) {
        return request.ref.empty() && request.pull_request == 0
                   ? AtBuild(build, "checkout", checked_out.status())
                   : checked_out.status();
      }
      result.description = checked_out->description;
    } else {
      result.description = "the working tree";
    }
    absl::StatusOr<WorkingTreeState> state = InspectWorkingTree(root.string());
    if (!state.ok()) return state.status();
    result.commit = state->commit;
    if (state->commit.empty()) {
      cacheable = false;
      result.cache_note = "not cached: the build directory is not a git working tree";
    } else if (state->dirty) {
      cacheable = false;
      result.cache_note = "not cached: the working tree has uncommitted changes";
    }
  }
  if (!result.commit.empty()) {
    say(absl::StrCat("source: ", result.description, " at commit ", result.commit));
  }

  // 2. The cache.
  BuildCache cache((fs::path(build_dir) / "cache").string());
  const BuildKey key{.commit = result.commit, .config_hash = BuildConfigHash(build, globs)};
  if (cacheable && request.use_cache) {
    std::string why_not;
    if (std::optional<BuildManifest> cached = cache.Lookup(key, &why_not)) {
      say(absl::StrCat("cached build of ", result.commit.substr(0, 12), " (built ",
                       cached->built_at, "): not building again"));
      result.from_cache = true;
      result.build_log = cached->build_log;
      result.artifacts = cached->artifacts;
      result.manifest = *std::move(cached);
      return result;
    }
    say(absl::StrCat(why_not, ": building"));
  } else if (cacheable) {
    say("--no-cache: building");
  }

  // 3. The build.
  absl::StatusOr<int> stale = RemoveStaleArtifacts(result.source_dir, globs);
  if (!stale.ok()) return stale.status();
  if (*stale > 0) say(absl::StrCat("removed ", *stale, " package(s) left by an earlier build"));
  Environment env = CurrentEnvironment();
  for (const auto& [name, value] : build.env) env[name] = value;
  if (!result.commit.empty()) env["MOSDAT_BUILD_COMMIT"] = result.commit;
  say(absl::StrCat("building in ", result.source_dir, " (log ", request.log_path, ")"));
  BuildRunOptions run{
      .commands = build.commands,
      .workdir = result.source_dir,
      .env = std::move(env),
      .log_path = request.log_path,
      .timeout = absl::Seconds(build.timeout),
      .on_line = [&](std::string_view line) { say(absl::StrCat("| ", Absl(line))); },
  };
  if (absl::Status ran = RunBuildCommands(run); !ran.ok()) return AtBuild(build, "workdir", ran);
  result.build_log = request.log_path;

  // 4. The artifacts.
  absl::StatusOr<std::vector<Artifact>> artifacts = CollectArtifacts(result.source_dir, globs);
  if (!artifacts.ok()) {
    return AtBuild(build, build.artifacts.empty() ? "dist_dir" : "artifacts", artifacts.status());
  }
  if (cacheable) {
    absl::StatusOr<BuildManifest> stored =
        cache.Store(key, result.description, *artifacts, request.log_path);
    if (!stored.ok()) return stored.status();
    result.manifest = *std::move(stored);
    result.artifacts = result.manifest.artifacts;
  } else {
    result.artifacts = *std::move(artifacts);
    result.manifest = BuildManifest{
        .commit = result.commit,
        .ref = result.description,
        .config_hash = key.config_hash,
        .built_at = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()),
        .build_log = request.log_path,
        .artifacts = result.artifacts};
  }
  return result;
}

}  // namespace mosdat

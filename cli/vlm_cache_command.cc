// `mosdat vlm-cache stats|prune|clear`: inspects and trims the VLM answer cache that the
// vlm-gateway keeps in [vlm].cache_dir (relative to the working directory, as
// [report].output_dir is). Opens the SQLite cache directly, so it works whether or not
// a gateway is running — the cache is safe to share between processes.
//   mosdat vlm-cache stats --config X.toml [--json]
//   mosdat vlm-cache prune --older-than 7d --config X.toml   (entries unused for 7 days)
//   mosdat vlm-cache clear --config X.toml
#include <cctype>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "vlm-gateway/vlm_cache.h"

namespace mosdat {
namespace {

struct VlmCacheArgs {
  std::string action;
  std::string config;
  std::string cache_dir;
  std::string older_than;
  bool json = false;
};

// "7d", "12h", "1d12h", "30m", "90s", "2w", "1.5h".
absl::StatusOr<absl::Duration> ParseAge(const std::string& text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "--older-than \"", text, "\" is not an age such as 7d, 12h, 1d12h, 30m or 2w"));
  };
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  if (text.empty()) return bad();
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    double value = 0;
    if (start == i || i == text.size() ||
        !absl::SimpleAtod(text.substr(start, i - start), &value)) {
      return bad();
    }
    absl::Duration unit;
    switch (text[i++]) {
      case 'w':
        unit = absl::Hours(24 * 7);
        break;
      case 'd':
        unit = absl::Hours(24);
        break;
      case 'h':
        unit = absl::Hours(1);
        break;
      case 'm':
        unit = absl::Minutes(1);
        break;
      case 's':
        unit = absl::Seconds(1);
        break;
      default:
        return bad();
    }
    total += unit * value;
  }
  if (total <= absl::ZeroDuration()) return bad();
  return total;
}

std::string Bytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024.0));
}

std::string When(absl::Time t) {
  if (t == absl::InfinitePast()) return "-";
  absl::Duration ago = absl::Now() - t;
  std::string age = ago < absl::Hours(1) ? absl::StrFormat("%d min", absl::ToInt64Minutes(ago))
                    : ago < absl::Hours(48)
                        ? absl::StrFormat("%d h", absl::ToInt64Hours(ago))
                        : absl::StrFormat("%d days", absl::ToInt64Hours(ago) / 24);
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone()), " (", age,
                      " ago)");
}

int64_t UnixMs(absl::Time t) { return t == absl::InfinitePast() ? 0 : absl::ToUnixMillis(t); }

int RunVlmCache(const VlmCacheArgs& args) {
  std::string dir = args.cache_dir;
  if (dir.empty()) {
    if (args.config.empty()) {
      std::cerr << "mosdat vlm-cache: pass --config X.toml (its [vlm].cache_dir) or --cache-dir\n";
      return kExitUsage;
    }
    absl::StatusOr<VlmConfig> vlm =
        LoadVlmConfig(args.config, "mosdat vlm-cache", "pass --cache-dir");
    if (!vlm.ok()) {
      std::cerr << vlm.status().message() << "\n";
      return kExitConfigError;
    }
    dir = vlm->cache_dir;
  }
  std::optional<absl::Duration> age;
  if (args.action == "prune") {
    if (args.older_than.empty()) {
      std::cerr << "mosdat vlm-cache prune: needs --older-than AGE (e.g. 7d)\n";
      return kExitUsage;
    }
    absl::StatusOr<absl::Duration> parsed = ParseAge(args.older_than);
    if (!parsed.ok()) {
      std::cerr << "mosdat vlm-cache: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    age = *parsed;
  } else if (!args.older_than.empty()) {
    std::cerr << "mosdat vlm-cache: --older-than only applies to prune\n";
    return kExitUsage;
  }

  // Never create a cache just to look at it.
  absl::StatusOr<std::unique_ptr<VlmCache>> cache = VlmCache::Open(dir, /*create=*/false);
  if (!cache.ok() && cache.status().code() != absl::StatusCode::kNotFound) {
    std::cerr << "mosdat vlm-cache: " << cache.status().message() << "\n";
    return kExitInfrastructure;
  }
  const bool exists = cache.ok();
  int64_t removed = 0;
  if (exists && args.action == "prune") {
    absl::StatusOr<int64_t> pruned = (*cache)->PruneUnusedSince(absl::Now() - *age);
    if (!pruned.ok()) {
      std::cerr << "mosdat vlm-cache: " << pruned.status().message() << "\n";
      return kExitInfrastructure;
    }
    removed = *pruned;
  } else if (exists && args.action == "clear") {
    absl::StatusOr<int64_t> cleared = (*cache)->Clear();
    if (!cleared.ok()) {
      std::cerr << "mosdat vlm-cache: " << cleared.status().message() << "\n";
      return kExitInfrastructure;
    }
    removed = *cleared;
  }
  VlmCacheStats stats;
  stats.path = (std::filesystem::path(dir) / VlmCache::kFileName).string();
  stats.oldest = stats.newest = absl::InfinitePast();
  if (exists) {
    absl::StatusOr<VlmCacheStats> read = (*cache)->Stats();
    if (!read.ok()) {
      std::cerr << "mosdat vlm-cache: " << read.status().message() << "\n";
      return kExitInfrastructure;
    }
    stats = *read;
  }

  if (args.json) {
    nlohmann::json out = {{"path", stats.path},
                          {"exists", exists},
                          {"entries", stats.entries},
                          {"bytes", stats.bytes},
                          {"file_bytes", stats.file_bytes},
                          {"hits", stats.stored_hits},
                          {"oldest_unix_ms", UnixMs(stats.oldest)},
                          {"newest_unix_ms", UnixMs(stats.newest)}};
    if (args.action != "stats") out["removed"] = removed;
    std::cout << out.dump(2) << "\n";
    return kExitPass;
  }
  if (args.action == "prune") {
    std::cout << "removed " << removed << " entries not used for " << args.older_than << "\n";
  } else if (args.action == "clear") {
    std::cout << "removed " << removed << " entries\n";
  }
  if (!exists) {
    std::cout << "no VLM cache at " << stats.path << " yet (0 entries)\n";
    return kExitPass;
  }
  std::cout << "VLM cache " << stats.path << "\n"
            << "  entries  " << stats.entries << "\n"
            << "  answers  " << Bytes(stats.bytes) << " (file " << Bytes(stats.file_bytes) << ")\n"
            << "  hits     " << stats.stored_hits << " (by every process)\n"
            << "  oldest   " << When(stats.oldest) << "\n"
            << "  newest   " << When(stats.newest) << "\n";
  return kExitPass;
}

}  // namespace

void AddVlmCacheCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<VlmCacheArgs>();
  CLI::App* cmd =
      root.add_subcommand("vlm-cache", "Inspect, prune or clear the VLM response cache");
  cmd->add_option("action", args->action, "stats | prune | clear")
      ->required()
      ->check(CLI::IsMember({"stats", "prune", "clear"}));
  cmd->add_option("--config", args->config, "mOSdat TOML config (uses [vlm].cache_dir)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cache-dir", args->cache_dir, "the cache directory (instead of --config)");
  cmd->add_option("--older-than", args->older_than,
                  "with prune: remove entries not used for this long, e.g. 7d, 12h, 1d12h");
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunVlmCache(*args); });
  });
}

}  // namespace mosdat

#include "packaging/build_cache.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/outcome.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kManifestVersion = 1;
constexpr const char* kTempPrefix = ".tmp-";
constexpr const char* kOldPrefix = ".old-";

bool IsHex(std::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) || absl::ascii_isupper(c)) {
      return false;
    }
  }
  return true;
}

// A file name an entry can hold: no directory part, so joining it stays inside.
bool IsEntryFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::string RandomSuffix() {
  std::random_device device;
  return absl::StrCat(getpid(), "-", device() % 1000000);
}

// Removes temporary and replaced entries left by builds whose process is gone (named
// ".tmp-<key>-<pid>-<n>" / ".old-..."); a live build's are left alone.
void SweepAbandoned(const std::string& root) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0 && name.rfind(kOldPrefix, 0) != 0) continue;
    std::vector<std::string> parts = absl::StrSplit(name, '-');
    int pid = 0;
    if (parts.size() < 3 || !absl::SimpleAtoi(parts[parts.size() - 2], &pid) || pid <= 0) {
      continue;
    }
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;
    fs::remove_all(entry.path(), ec);
  }
}

}  // namespace

std::string BuildConfigHash(const BuildConfig& build, const std::vector<std::string>& globs) {
  json canonical = {{"commands", build.commands},
                    {"env", build.env},  // a std::map: sorted keys
                    {"workdir", build.workdir},
                    {"artifacts", globs}};
  return Sha256Hex(canonical.dump());
}

std::string ManifestJson(const BuildManifest& manifest) {
  json artifacts = json::array();
  for (const Artifact& a : manifest.artifacts) {
    artifacts.push_back({{"name", a.name},
                         {"path", a.path},
                         {"format", a.format},
                         {"size", a.size},
                         {"sha256", a.sha256}});
  }
  json out = {{"version", kManifestVersion},   {"commit", manifest.commit},
              {"ref", manifest.ref},           {"config_hash", manifest.config_hash},
              {"built_at", manifest.built_at}, {"build_log", manifest.build_log},
              {"artifacts", artifacts}};
  return out.dump(2) + "\n";
}

absl::StatusOr<BuildManifest> ParseManifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes) {
    return absl::DataLossError("manifest.json is larger than any real one");
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::DataLossError("manifest.json is not a JSON object");
  auto string_field = [&](const json& object, const char* key, std::string* out) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  BuildManifest manifest;
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() ||
      version->get<int>() != kManifestVersion) {
    return absl::DataLossError("manifest.json has an unknown version");
  }
  if (!string_field(doc, "commit", &manifest.commit) || !IsHex(manifest.commit, 40) ||
      !string_field(doc, "config_hash", &manifest.config_hash) ||
      !IsHex(manifest.config_hash, 64) || !string_field(doc, "ref", &manifest.ref) ||
      !string_field(doc, "built_at", &manifest.built_at) ||
      !string_field(doc, "build_log", &manifest.build_log)) {
    return absl::DataLossError("manifest.json lacks commit, ref, config_hash, built_at or log");
  }
  auto artifacts = doc.find("artifacts");
  if (artifacts == doc.end() || !artifacts->is_array() || artifacts->empty()) {
    return absl::DataLossError("manifest.json lists no artifacts");
  }
  for (const json& item : *artifacts) {
    Artifact a;
    if (!item.is_object() || !string_field(item, "name", &a.name) || !IsEntryFileName(a.name) ||
        !string_field(item, "path", &a.path) || !string_field(item, "format", &a.format) ||
        !string_field(item, "sha256", &a.sha256) || !IsHex(a.sha256, 64) ||
        !item.contains("size") || !item["size"].is_number_unsigned()) {
      return absl::DataLossError("manifest.json has a malformed artifact");
    }
    a.size = item["size"].get<uint64_t>();
    manifest.artifacts.push_back(std::move(a));
  }
  return manifest;
}

std::string BuildCache::EntryDir(const BuildKey& key) const {
  return (fs::path(root_) / absl::StrCat(key.commit, "-", key.config_hash.substr(0, 16))).string();
}

std::optional<BuildManifest> BuildCache::Lookup(const BuildKey& key, std::string* why_not) const {
  const fs::path dir = EntryDir(key);
  const fs::path manifest_path = dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) {
    *why_not = absl::StrCat("no cached build of ", key.commit.substr(0, 12), " with this config");
    return std::nullopt;
  }
  uintmax_t size = fs::file_size(manifest_path, ec);
  if (ec || size > kMaxManifestBytes) {
    *why_not = "the cached build's manifest.json is unreadable or too large";
    return std::nullopt;
  }
  std::ifstream in(manifest_path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  absl::StatusOr<BuildManifest> manifest = ParseManifest(text);
  if (!manifest.ok()) {
    *why_not = absl::StrCat("the cached build is damaged (", manifest.status().message(), ")");
    return std::nullopt;
  }
  if (manifest->commit != key.commit || manifest->config_hash != key.config_hash) {
    *why_not = "the cached build's manifest names another commit or config";
    return std::nullopt;
  }
  // Paths come from the entry's own layout, never from the file.
  manifest->build_log = (dir / "build.log").string();
  for (Artifact& a : manifest->artifacts) {
    a.path = (dir / "artifacts" / a.name).string();
    uintmax_t actual_size = fs::file_size(a.path, ec);
    if (ec || actual_size != a.size) {
      *why_not = absl::StrCat("the cached artifact ", a.name, " is missing or changed size");
      return std::nullopt;
    }
    absl::StatusOr<std::string> sha = Sha256OfFile(a.path);
    if (!sha.ok() || *sha != a.sha256) {
      *why_not = absl::StrCat("the cached artifact ", a.name, " no longer matches its SHA-256");
      return std::nullopt;
    }
  }
  return *manifest;
}

absl::StatusOr<BuildManifest> BuildCache::Store(const BuildKey& key, const std::string& ref,
                                                const std::vector<Artifact>& artifacts,
                                                const std::string& log_path) const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) {
    return InfrastructureError(
        absl::StrCat("cannot create the build cache ", root_, ": ", ec.message()));
  }
  SweepAbandoned(root_);
  const fs::path entry = EntryDir(key);
  const std::string suffix = RandomSuffix();
  const fs::path temp =
      fs::path(root_) / absl::StrCat(kTempPrefix, entry.filename().string(), "-", suffix);
  auto fail = [&](const std::string& what) {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
    return InfrastructureError(absl::StrCat("cannot store the build in ", root_, ": ", what));
  };
  fs::create_directories(temp / "artifacts", ec);
  if (ec) return fail(ec.message());

  BuildManifest manifest{
      .commit = key.commit,
      .ref = ref,
      .config_hash = key.config_hash,
      .built_at = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()),
      .build_log = (entry / "build.log").string()};
  for (const Artifact& a : artifacts) {
    fs::copy_file(a.path, temp / "artifacts" / a.name, ec);
    if (ec) return fail(absl::StrCat(a.path, ": ", ec.message()));
    // The copy must be what was hashed: a build tool still writing would show here.
    absl::StatusOr<std::string> sha = Sha256OfFile((temp / "artifacts" / a.name).string());
    if (!sha.ok() || *sha != a.sha256) {
      return fail(absl::StrCat(a.name, " changed while it was being copied"));
    }
    Artifact stored = a;
    stored.path = (entry / "artifacts" / a.name).string();
    manifest.artifacts.push_back(std::move(stored));
  }
  if (!log_path.empty()) {
    fs::copy_file(log_path, temp / "build.log", ec);
    if (ec) return fail(absl::StrCat(log_path, ": ", ec.message()));
  }
  {
    // Written last: an entry without it is never used.
    std::ofstream out(temp / "manifest.json", std::ios::binary);
    out << ManifestJson(manifest);
    out.flush();
    if (!out) return fail("cannot write manifest.json");
  }
  // Replace: move a previous entry aside first (rename cannot replace a non-empty
  // directory), then move the new one in.
  const fs::path old =
      fs::path(root_) / absl::StrCat(kOldPrefix, entry.filename().string(), "-", suffix);
  const bool had_entry = fs::exists(entry, ec);
  if (had_entry) {
    fs::rename(entry, old, ec);
    if (ec) return fail(absl::StrCat("cannot replace ", entry.string(), ": ", ec.message()));
  }
  fs::rename(temp, entry, ec);
  if (ec) return fail(absl::StrCat("cannot move the entry into place: ", ec.message()));
  if (had_entry) fs::remove_all(old, ec);
  return manifest;
}

}  // namespace mosdat

#include "vlm-gateway/vlm_cache.h"

#include <sqlite3.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/sha256.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;

// A hit rewrites its entry's last use at most this often.
constexpr absl::Duration kTouchInterval = absl::Minutes(1);
// More keys with unwritten hits than this are flushed at once.
constexpr size_t kMaxPendingHits = 1000;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS answers (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  model TEXT NOT NULL,
  answer TEXT NOT NULL,
  raw_answer TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL,
  hits INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS answers_by_last_used ON answers(last_used_ms);
)sql";

std::string Column(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  return text == nullptr
             ? ""
             : std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, column));
}

void Bind(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// Resets a prepared statement when leaving a scope.
struct Resetter {
  sqlite3_stmt* stmt;
  ~Resetter() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

uint64_t FileSize(const std::string& path) {
  std::error_code error;
  uintmax_t size = fs::file_size(path, error);
  return error ? 0 : size;
}

}  // namespace

std::string CacheKey(const std::string& image_sha256, const std::string& parameters,
                     const std::string& prompt) {
  return Sha256Hex(absl::StrCat("mosdat-vlm-cache-key\n", image_sha256.size(), ":", image_sha256,
                                "\n", parameters.size(), ":", parameters, "\n", prompt.size(), ":",
                                prompt));
}

VlmCache::VlmCache(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

VlmCache::~VlmCache() {
  if (db_ != nullptr && lookup_ != nullptr) (void)FlushHits();
  for (sqlite3_stmt* stmt : {lookup_, touch_, store_}) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status VlmCache::Error(const char* what) const {
  return absl::UnavailableError(
      absl::StrCat("VLM cache ", path_, ": ", what, ": ", sqlite3_errmsg(db_)));
}

absl::StatusOr<std::unique_ptr<VlmCache>> VlmCache::Open(const std::string& dir, bool create) {
  std::string path = (fs::path(dir) / kFileName).string();
  std::error_code error;
  if (!create) {
    if (!fs::exists(path, error)) {
      return absl::NotFoundError(absl::StrCat("no VLM cache at ", path, " yet"));
    }
  } else {
    fs::create_directories(dir, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat("cannot create the VLM cache directory ", dir,
                                                 ": ", error.message(),
                                                 " (set [vlm].cache_dir to a writable place)"));
    }
  }
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<VlmCache> cache(new VlmCache(db, path));
  if (rc != SQLITE_OK) return cache->Error("cannot open");
  sqlite3_busy_timeout(db, 5000);
  if (absl::Status s = cache->Prepare(); !s.ok()) return s;
  return cache;
}

absl::Status VlmCache::Prepare() {
  auto exec = [&](const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); };
  // WAL lets readers and one writer from any process work at once; NORMAL sync keeps a
  // hit's small write off the disk's flush path (a crash can lose the last answers, not
  // the file).
  if (exec("PRAGMA journal_mode=WAL") != SQLITE_OK) return Error("cannot enable WAL");
  if (exec("PRAGMA synchronous=NORMAL") != SQLITE_OK) return Error("cannot set synchronous");
  sqlite3_stmt* version = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &version, nullptr) != SQLITE_OK) {
    return Error("cannot read the schema version");
  }
  int found = sqlite3_step(version) == SQLITE_ROW ? sqlite3_column_int(version, 0) : 0;
  sqlite3_finalize(version);
  if (found > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("VLM cache ", path_, " was written by a newer mOSdat (format ", found,
                     "); use that version, or another cache_dir"));
  }
  if (exec(kSchema) != SQLITE_OK) return Error("cannot create the schema");
  if (found < kSchemaVersion &&
      exec(absl::StrCat("PRAGMA user_version=", kSchemaVersion).c_str()) != SQLITE_OK) {
    return Error("cannot record the schema version");
  }
  const std::pair<const char*, sqlite3_stmt**> statements[] = {
      {"SELECT kind, model, answer, raw_answer, created_ms, last_used_ms, hits FROM answers "
       "WHERE key = ?1",
       &lookup_},
      {"UPDATE answers SET last_used_ms = MAX(last_used_ms, ?2), hits = hits + ?3 WHERE key = ?1",
       &touch_},
      {"INSERT OR REPLACE INTO answers (key, kind, model, answer, raw_answer, bytes, "
       "created_ms, last_used_ms, hits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0)",
       &store_},
  };
  for (const auto& [sql, stmt] : statements) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK) {
      return Error("cannot prepare a statement");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CacheEntry>> VlmCache::Lookup(const std::string& key) {
  std::lock_guard lock(mu_);
  CacheEntry entry;
  {
    Resetter reset{lookup_};
    Bind(lookup_, 1, key);
    int rc = sqlite3_step(lookup_);
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) return Error("lookup failed");
    entry.kind = Column(lookup_, 0);
    entry.model = Column(lookup_, 1);
    entry.answer = Column(lookup_, 2);
    entry.raw_answer = Column(lookup_, 3);
    entry.created = absl::FromUnixMillis(sqlite3_column_int64(lookup_, 4));
    entry.last_used = absl::FromUnixMillis(sqlite3_column_int64(lookup_, 5));
    entry.hits = sqlite3_column_int64(lookup_, 6);
  }
  // The bookkeeping of a hit only feeds pruning and stats: written now and then, and a
  // busy writer elsewhere must not turn a hit into an error.
  absl::Time now = absl::Now();
  int64_t& pending = pending_hits_[key];
  ++pending;
  entry.hits += pending;
  if (entry.last_used < now - kTouchInterval) {
    Resetter reset{touch_};
    Bind(touch_, 1, key);
    sqlite3_bind_int64(touch_, 2, absl::ToUnixMillis(now));
    sqlite3_bind_int64(touch_, 3, pending);
    if (sqlite3_step(touch_) == SQLITE_DONE) pending_hits_.erase(key);
  } else if (pending_hits_.size() > kMaxPendingHits) {
    (void)FlushHitsLocked();
  }
  return entry;
}

absl::Status VlmCache::FlushHits() {
  std::lock_guard lock(mu_);
  return FlushHitsLocked();
}

absl::Status VlmCache::FlushHitsLocked() {
  if (pending_hits_.empty()) return absl::OkStatus();
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error("cannot record hits");
  }
  int64_t now = absl::ToUnixMillis(absl::Now());
  for (const auto& [key, hits] : pending_hits_) {
    Resetter reset{touch_};
    Bind(touch_, 1, key);
    sqlite3_bind_int64(touch_, 2, now);
    sqlite3_bind_int64(touch_, 3, hits);
    if (sqlite3_step(touch_) != SQLITE_DONE) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return Error("cannot record hits");
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Error("cannot record hits");
  }
  pending_hits_.clear();
  return absl::OkStatus();
}

absl::Status VlmCache::Store(const std::string& key, const CacheEntry& entry) {
  std::lock_guard lock(mu_);
  Resetter reset{store_};
  Bind(store_, 1, key);
  Bind(store_, 2, entry.kind);
  Bind(store_, 3, entry.model);
  Bind(store_, 4, entry.answer);
  Bind(store_, 5, entry.raw_answer);
  sqlite3_bind_int64(store_, 6,
                     static_cast<int64_t>(key.size() + entry.kind.size() + entry.model.size() +
                                          entry.answer.size() + entry.raw_answer.size()));
  sqlite3_bind_int64(store_, 7, absl::ToUnixMillis(absl::Now()));
  if (sqlite3_step(store_) != SQLITE_DONE) return Error("cannot store an answer");
  return absl::OkStatus();
}

absl::StatusOr<VlmCacheStats> VlmCache::Stats() {
  std::lock_guard lock(mu_);
  if (absl::Status s = FlushHitsLocked(); !s.ok()) return s;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(hits), 0), "
                         "MIN(created_ms), MAX(created_ms) FROM answers",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return Error("cannot read statistics");
  }
  VlmCacheStats stats;
  stats.path = path_;
  stats.oldest = stats.newest = absl::InfinitePast();
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    stats.entries = sqlite3_column_int64(stmt, 0);
    stats.bytes = sqlite3_column_int64(stmt, 1);
    stats.stored_hits = sqlite3_column_int64(stmt, 2);
    if (sqlite3_column_type(stmt, 3) != SQLITE_NULL) {
      stats.oldest = absl::FromUnixMillis(sqlite3_column_int64(stmt, 3));
      stats.newest = absl::FromUnixMillis(sqlite3_column_int64(stmt, 4));
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Error("cannot read statistics");
  stats.file_bytes = FileSize(path_) + FileSize(path_ + "-wal");
  return stats;
}

absl::StatusOr<int64_t> VlmCache::PruneUnusedSince(absl::Time cutoff) {
  std::lock_guard lock(mu_);
  if (absl::Status s = FlushHitsLocked(); !s.ok()) return s;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM answers WHERE last_used_ms < ?1", -1, &stmt, nullptr) !=
      SQLITE_OK) {
    return Error("cannot prune");
  }
  sqlite3_bind_int64(stmt, 1, absl::ToUnixMillis(cutoff));
  int rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Error("cannot prune");
  return static_cast<int64_t>(sqlite3_changes(db_));
}

absl::StatusOr<int64_t> VlmCache::Clear() {
  std::lock_guard lock(mu_);
  pending_hits_.clear();
  if (sqlite3_exec(db_, "DELETE FROM answers", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error("cannot clear");
  }
  int64_t removed = sqlite3_changes(db_);
  // Give the space back; another process holding the file open only delays this.
  sqlite3_exec(db_, "VACUUM", nullptr, nullptr, nullptr);
  sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  return removed;
}

}  // namespace mosdat

// The VLM answer cache: content-addressed, on disk, in SQLite (<dir>/cache.sqlite3).
// A key is the SHA-256 of everything that determines an answer (see CacheKey()); the
// value is the model's validated answer as canonical JSON plus its raw text for
// evidence. WAL mode and a busy timeout make one cache safe to share between
// processes (the gateway, `mosdat vlm-cache`, a second gateway); each object
// serialises its own threads.
//
// A hit is a read: its bookkeeping (last use, hit count) is written at most once a
// minute per entry and otherwise kept in memory until the next flush (Stats, prune,
// destruction), so hits stay well below a millisecond. A crash loses only those counts.
#ifndef MOSDAT_VLM_GATEWAY_VLM_CACHE_H_
#define MOSDAT_VLM_GATEWAY_VLM_CACHE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/vlm_types.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mosdat {

// SHA-256 hex of (SHA-256 of the image bytes, parameters, prompt), each length-prefixed
// so no two different triples collide by concatenation. `image_sha256` is
// Sha256Hex(png).
std::string CacheKey(const std::string& image_sha256, const std::string& parameters,
                     const std::string& prompt);

struct CacheEntry {
  std::string kind;  // "localize" | "verify"
  std::string model;
  std::string answer;  // canonical JSON (answer_parser.h ToJson)
  std::string raw_answer;
  absl::Time created;
  absl::Time last_used;
  int64_t hits = 0;
};

class VlmCache {
 public:
  static constexpr char kFileName[] = "cache.sqlite3";

  // Opens <dir>/cache.sqlite3. With `create`, makes the directory and the file as
  // needed; without, a missing cache is NOT_FOUND (so `vlm-cache stats` does not
  // create one). Errors name the path.
  static absl::StatusOr<std::unique_ptr<VlmCache>> Open(const std::string& dir, bool create = true);
  ~VlmCache();

  VlmCache(const VlmCache&) = delete;
  VlmCache& operator=(const VlmCache&) = delete;

  // The entry for `key`, recording the hit (last_used, hits); nullopt on a miss.
  // `hits` includes this one.
  absl::StatusOr<std::optional<CacheEntry>> Lookup(const std::string& key);

  // Inserts or replaces; created and last_used become now.
  absl::Status Store(const std::string& key, const CacheEntry& entry);

  absl::StatusOr<VlmCacheStats> Stats();

  // Removes entries not used (stored or hit) since `cutoff`; returns how many.
  absl::StatusOr<int64_t> PruneUnusedSince(absl::Time cutoff);

  // Removes every entry and shrinks the file; returns how many entries there were.
  absl::StatusOr<int64_t> Clear();

  // Writes the hits kept in memory. Stats(), PruneUnusedSince() and the destructor do.
  absl::Status FlushHits();

  const std::string& path() const { return path_; }

 private:
  VlmCache(sqlite3* db, std::string path);
  absl::Status Prepare();
  absl::Status Error(const char* what) const;  // sqlite's message, with the path
  absl::Status FlushHitsLocked();

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string path_;
  sqlite3_stmt* lookup_ = nullptr;
  sqlite3_stmt* touch_ = nullptr;
  sqlite3_stmt* store_ = nullptr;
  // Hits not yet written, by key.
  std::unordered_map<std::string, int64_t> pending_hits_;
};

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_VLM_CACHE_H_

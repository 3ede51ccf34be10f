// Tests for the vlm-gateway's on-disk answer cache (SQLite): keys, hits across
// instances (as across processes), stats, pruning by last use, clearing.
#include "vlm-gateway/vlm_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "absl/time/clock.h"
#include "tests/unit/temp_dir.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

CacheEntry Entry(const std::string& answer) {
  return {.kind = "verify", .model = "m", .answer = answer, .raw_answer = "raw " + answer};
}

TEST(VlmCacheTest, KeysSeparateEveryPart) {
  std::set<std::string> keys = {
      CacheKey("img", "params", "prompt"), CacheKey("img2", "params", "prompt"),
      CacheKey("img", "params2", "prompt"), CacheKey("img", "params", "prompt2"),
      // Same concatenation, different split.
      CacheKey("img", "paramsp", "rompt")};
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(CacheKey("img", "params", "prompt"), CacheKey("img", "params", "prompt"));
  EXPECT_EQ(CacheKey("a", "b", "c").size(), 64u);
}

TEST(VlmCacheTest, StoresAndFindsAcrossInstances) {
  TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<VlmCache>> cache = VlmCache::Open(dir.path() + "/sub");
    ASSERT_TRUE(cache.ok()) << cache.status();
    absl::StatusOr<std::optional<CacheEntry>> miss = (*cache)->Lookup("k1");
    ASSERT_TRUE(miss.ok()) << miss.status();
    EXPECT_FALSE(miss->has_value());
    ASSERT_TRUE((*cache)->Store("k1", Entry("{\"answer\":\"yes\"}")).ok());
  }
  absl::StatusOr<std::unique_ptr<VlmCache>> reopened = VlmCache::Open(dir.path() + "/sub");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  absl::StatusOr<std::optional<CacheEntry>> hit = (*reopened)->Lookup("k1");
  ASSERT_TRUE(hit.ok()) << hit.status();
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->answer, "{\"answer\":\"yes\"}");
  EXPECT_EQ((*hit)->raw_answer, "raw {\"answer\":\"yes\"}");
  EXPECT_EQ((*hit)->hits, 1);
  EXPECT_EQ((*reopened)->Stats()->stored_hits, 1u);
}

TEST(VlmCacheTest, HitsKeptInMemoryAreWrittenOnStatsAndClose) {
  TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<VlmCache>> cache = VlmCache::Open(dir.path());
    ASSERT_TRUE(cache.ok()) << cache.status();
    ASSERT_TRUE((*cache)->Store("k", Entry("x")).ok());
    for (int i = 1; i <= 3; ++i) EXPECT_EQ((*(*cache)->Lookup("k"))->hits, i);
    EXPECT_EQ((*cache)->Stats()->stored_hits, 3u);
    for (int i = 4; i <= 5; ++i) EXPECT_EQ((*(*cache)->Lookup("k"))->hits, i);
  }
  absl::StatusOr<std::unique_ptr<VlmCache>> reopened = VlmCache::Open(dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->Stats()->stored_hits, 5u);
}

TEST(VlmCacheTest, OpeningWithoutCreateDoesNotCreate) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VlmCache>> cache = VlmCache::Open(dir.path() + "/none", false);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(cache.status().message(), HasSubstr("cache.sqlite3"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/none"));
}

TEST(VlmCacheTest, ReportsStatsPrunesAndClears) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VlmCache>> cache = VlmCache::Open(dir.path());
  ASSERT_TRUE(cache.ok()) << cache.status();
  absl::StatusOr<VlmCacheStats> empty = (*cache)->Stats();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->entries, 0u);
  EXPECT_EQ(empty->oldest, absl::InfinitePast());

  absl::Time before = absl::Now();
  ASSERT_TRUE((*cache)->Store("a", Entry("1")).ok());
  ASSERT_TRUE((*cache)->Store("b", Entry("22")).ok());
  absl::StatusOr<VlmCacheStats> stats = (*cache)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->entries, 2u);
  EXPECT_GT(stats->bytes, 0u);
  EXPECT_GT(stats->file_bytes, 0u);
  EXPECT_GE(stats->oldest, absl::FromUnixMillis(absl::ToUnixMillis(before)));

  // Nothing is older than a cutoff in the past; everything is older than one ahead.
  EXPECT_EQ(*(*cache)->PruneUnusedSince(before - absl::Hours(1)), 0);
  EXPECT_EQ(*(*cache)->PruneUnusedSince(absl::Now() + absl::Hours(1)), 2);
  EXPECT_EQ((*cache)->Stats()->entries, 0u);

  ASSERT_TRUE((*cache)->Store("c", Entry("3")).ok());
  EXPECT_EQ(*(*cache)->Clear(), 1);
  EXPECT_FALSE((*(*cache)->Lookup("c")).has_value());
}

TEST(VlmCacheTest, TwoConnectionsShareTheFile) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<VlmCache>> one = VlmCache::Open(dir.path());
  absl::StatusOr<std::unique_ptr<VlmCache>> two = VlmCache::Open(dir.path());
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_TRUE((*one)->Store("k", Entry("x")).ok());
  absl::StatusOr<std::optional<CacheEntry>> seen = (*two)->Lookup("k");
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_TRUE(seen->has_value());
}

}  // namespace
}  // namespace mosdat

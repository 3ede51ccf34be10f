// ArtifactCache: a package is kept only whole and with the digest its name says; a
// held one is reused without fetching; bytes that do not match leave nothing behind.
#include "vnc-agent/steps/artifact_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/file_util.h"
#include "core/sha256.h"
#include "tests/unit/temp_dir.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

ArtifactRef RefOf(const std::string& data) {
  return {.name = "app_1.0_amd64.deb", .sha256 = Sha256Hex(data), .size = data.size()};
}

// A source that sends `data` in pieces of `piece` bytes, counting its calls.
struct Source {
  std::string data;
  size_t piece = 3;
  int calls = 0;
  absl::Status operator()(const std::function<absl::Status(std::string_view)>& sink) {
    ++calls;
    for (size_t at = 0; at < data.size(); at += piece) {
      if (absl::Status s = sink(std::string_view(data).substr(at, piece)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

size_t FilesIn(const std::string& dir) {
  std::error_code error;
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir, error); !error && it != fs::directory_iterator();
       ++it) {
    ++n;
  }
  return n;
}

TEST(ArtifactCacheTest, KeepsAPackageOnceAndReusesIt) {
  TempDir dir;
  ArtifactCache cache(dir.path() + "/cache");
  Source source{.data = "the package's bytes"};
  const ArtifactRef ref = RefOf(source.data);
  absl::StatusOr<std::string> path = cache.Get(ref, std::ref(source));
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir.path() + "/cache/" + ref.sha256);
  EXPECT_EQ(ReadFileOrEmpty(*path), source.data);
  ASSERT_TRUE(cache.Get(ref, std::ref(source)).ok());
  EXPECT_EQ(source.calls, 1);  // held: not fetched again

  // Changed on disk since: checked, and fetched again.
  std::ofstream(*path, std::ios::trunc) << "the package's BYTES";
  ASSERT_TRUE(cache.Get(ref, std::ref(source)).ok());
  EXPECT_EQ(source.calls, 2);
  EXPECT_EQ(ReadFileOrEmpty(*path), source.data);
}

TEST(ArtifactCacheTest, BytesThatDoNotMatchLeaveNothing) {
  TempDir dir;
  ArtifactCache cache(dir.path());
  const ArtifactRef ref = RefOf("what was uploaded");

  Source other{.data = "what else arrived"};  // same length, other bytes
  absl::StatusOr<std::string> path = cache.Get(ref, std::ref(other));
  EXPECT_EQ(path.status().code(), absl::StatusCode::kDataLoss) << path.status();
  EXPECT_NE(path.status().message().find("app_1.0_amd64.deb"), std::string::npos);

  Source longer{.data = "what was uploaded, and more"};
  EXPECT_EQ(cache.Get(ref, std::ref(longer)).status().code(), absl::StatusCode::kDataLoss);
  Source shorter{.data = "what was"};
  EXPECT_EQ(cache.Get(ref, std::ref(shorter)).status().code(), absl::StatusCode::kDataLoss);

  Source broken{.data = "what was uploaded"};
  auto failing = [&](const std::function<absl::Status(std::string_view)>& sink) {
    if (absl::Status s = sink("what"); !s.ok()) return s;
    return absl::UnavailableError("the coordinator went away");
  };
  EXPECT_EQ(cache.Get(ref, failing).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FilesIn(dir.path()), 0u);  // no partial file, nothing under the digest

  ArtifactRef not_a_digest = ref;
  not_a_digest.sha256 = "../../etc/passwd";
  EXPECT_EQ(cache.Get(not_a_digest, std::ref(broken)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(broken.calls, 0);
}

}  // namespace
}  // namespace mosdat

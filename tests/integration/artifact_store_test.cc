// ArtifactStore on a real directory: an upload becomes visible only whole and matching
// its declaration; hostile declarations are refused before a byte is written.
#include "core/artifact_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/file_util.h"
#include "core/sha256.h"

namespace mosdat {
namespace {
namespace fs = std::filesystem;

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mosdat-artifacts-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { fs::remove_all(dir_); }
  size_t FilesIn(const std::string& dir) {
    return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
  }
  std::string dir_;
};

ArtifactRef RefOf(const std::string& name, const std::string& data) {
  return {.name = name, .sha256 = Sha256Hex(data), .size = data.size()};
}

TEST_F(ArtifactStoreTest, AWholeMatchingUploadIsKeptByContent) {
  auto store = ArtifactStore::Open(dir_ + "/artifacts", 1 << 20);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string data = "a package's bytes, in three pieces";
  ArtifactRef ref = RefOf("app_1.0+dfsg~1_amd64.deb", data);
  EXPECT_FALSE((*store)->Has(ref.sha256));
  auto upload = (*store)->Begin(ref);
  ASSERT_TRUE(upload.ok()) << upload.status();
  for (size_t at = 0; at < data.size(); at += 12) {
    ASSERT_TRUE((*upload)->Append(std::string_view(data).substr(at, 12)).ok());
  }
  EXPECT_FALSE((*store)->Has(ref.sha256)) << "visible before it was checked";
  ASSERT_TRUE((*upload)->Commit().ok());
  EXPECT_TRUE((*store)->Has(ref.sha256));
  EXPECT_EQ(*ReadFile((*store)->PathOf(ref.sha256)), data);
  EXPECT_EQ(FilesIn(dir_ + "/artifacts"), 1u);
}

TEST_F(ArtifactStoreTest, AMismatchOrAnAbandonedUploadLeavesNothing) {
  auto store = ArtifactStore::Open(dir_ + "/artifacts", 1 << 20);
  ASSERT_TRUE(store.ok());
  const std::string data = "declared";
  {  // other bytes than declared
    auto upload = (*store)->Begin(RefOf("a.deb", data));
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Append("DECLARED").ok());
    absl::Status s = (*upload)->Commit();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("SHA-256 is"), std::string::npos) << s;
  }
  {  // too few
    auto upload = (*store)->Begin(RefOf("a.deb", data));
    ASSERT_TRUE((*upload)->Append("decl").ok());
    absl::Status s = (*upload)->Commit();
    EXPECT_NE(s.message().find("4 bytes arrived, the upload declared 8"), std::string::npos) << s;
  }
  {  // too many
    auto upload = (*store)->Begin(RefOf("a.deb", data));
    EXPECT_EQ((*upload)->Append("declared!").code(), absl::StatusCode::kInvalidArgument);
  }
  {  // abandoned half way (the client went away)
    auto upload = (*store)->Begin(RefOf("a.deb", data));
    ASSERT_TRUE((*upload)->Append("decl").ok());
  }
  EXPECT_FALSE((*store)->Has(Sha256Hex(data)));
  EXPECT_EQ(FilesIn(dir_ + "/artifacts"), 0u);
}

TEST_F(ArtifactStoreTest, HostileDeclarationsAreRefused) {
  auto store = ArtifactStore::Open(dir_ + "/artifacts", 100);
  ASSERT_TRUE(store.ok());
  const std::string sha = Sha256Hex("x");
  for (ArtifactRef ref :
       {ArtifactRef{"../escape.deb", sha, 1}, ArtifactRef{"a/b.deb", sha, 1},
        ArtifactRef{"..", sha, 1}, ArtifactRef{"", sha, 1}, ArtifactRef{"tab\t.deb", sha, 1},
        ArtifactRef{std::string(256, 'a'), sha, 1}, ArtifactRef{"ok.deb", "../../etc/passwd", 1},
        ArtifactRef{"ok.deb", std::string(64, 'A'), 1}, ArtifactRef{"big.deb", sha, 101}}) {
    auto upload = (*store)->Begin(ref);
    EXPECT_EQ(upload.status().code(), absl::StatusCode::kInvalidArgument) << ref.name;
  }
  EXPECT_FALSE((*store)->Has("../../etc/passwd"));
  EXPECT_EQ(FilesIn(dir_ + "/artifacts"), 0u);
}

TEST_F(ArtifactStoreTest, OpeningRemovesWhatACrashLeftHalfDone) {
  fs::create_directories(dir_ + "/artifacts");
  { std::ofstream(dir_ + "/artifacts/.partial-" + Sha256Hex("x") + "-abcdef") << "half"; }
  auto store = ArtifactStore::Open(dir_ + "/artifacts", 100);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(FilesIn(dir_ + "/artifacts"), 0u);
}

}  // namespace
}  // namespace mosdat

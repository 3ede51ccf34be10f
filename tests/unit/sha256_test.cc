#include "core/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mosdat {
namespace {

// FIPS 180-2 test vectors.
TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, PiecesHashLikeTheWhole) {
  std::string data(3'000'001, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  Sha256 hash;
  for (size_t at = 0; at < data.size(); at += 65'537)
    hash.Update(std::string_view(data).substr(at, 65'537));
  EXPECT_EQ(hash.HexDigest(), Sha256Hex(data));

  char path[] = "/tmp/mosdat-sha256-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << data;
  absl::StatusOr<std::string> of_file = Sha256OfFile(path);
  unlink(path);
  ASSERT_TRUE(of_file.ok()) << of_file.status();
  EXPECT_EQ(*of_file, Sha256Hex(data));
  EXPECT_EQ(Sha256OfFile(path).status().code(), absl::StatusCode::kUnavailable);
}

TEST(Sha256Test, OnlyLowerCaseHexOfTheRightLengthIsADigest) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("abc")));
  EXPECT_FALSE(IsSha256Hex(""));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex("../" + std::string(61, 'a')));
}

}  // namespace
}  // namespace mosdat

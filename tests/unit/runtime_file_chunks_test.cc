// Tests for job files on the wire: chunks reassemble to the same files, and the
// receiver refuses broken or oversized streams before taking the memory.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "runtime/file_chunks.h"

namespace mosdat {
namespace {

std::vector<v1::FileChunk> Chunks(const std::map<std::string, std::string>& files) {
  std::vector<v1::FileChunk> chunks;
  WriteFileChunks(files, [&](const v1::FileChunk& c) {
    chunks.push_back(c);
    return true;
  });
  return chunks;
}

TEST(FileChunksTest, FilesLargerThanAChunkRoundTrip) {
  std::string big(3 * kFileChunkBytes + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  const std::map<std::string, std::string> files = {
      {"c.toml", "[app]\n"}, {"empty.txt", ""}, {"refs/big.png", big}};
  std::vector<v1::FileChunk> chunks = Chunks(files);
  ASSERT_EQ(chunks.size(), 6u);  // 1 + 1 + 4
  for (const v1::FileChunk& c : chunks) EXPECT_LE(c.data().size(), kFileChunkBytes);
  FileAssembler assembler(10 * kFileChunkBytes);
  for (const v1::FileChunk& c : chunks) ASSERT_TRUE(assembler.Add(c).ok());
  std::map<std::string, std::string> out;
  ASSERT_TRUE(assembler.Finish(&out).ok());
  EXPECT_EQ(out, files);
}

TEST(FileChunksTest, MoreThanTheLimitIsRefusedAtTheAnnouncement) {
  std::vector<v1::FileChunk> chunks =
      Chunks({{"a.png", std::string(600, 'a')}, {"b.png", std::string(600, 'b')}});
  FileAssembler assembler(1000);
  ASSERT_TRUE(assembler.Add(chunks[0]).ok());
  absl::Status s = assembler.Add(chunks[1]);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "the job files are larger than the limit of 1000 bytes (\"b.png\" alone is 600 bytes, "
            "after 600 bytes of other files)");
}

TEST(FileChunksTest, BrokenStreamsAreRefused) {
  std::vector<v1::FileChunk> chunks = Chunks({{"a", std::string(kFileChunkBytes + 1, 'a')}});
  ASSERT_EQ(chunks.size(), 2u);
  {
    FileAssembler assembler(1 << 30);
    EXPECT_FALSE(assembler.Add(chunks[1]).ok());  // continuation first
  }
  {
    FileAssembler assembler(1 << 30);
    ASSERT_TRUE(assembler.Add(chunks[0]).ok());
    std::map<std::string, std::string> out;
    absl::Status s = assembler.Finish(&out);  // the last chunk never came
    EXPECT_EQ(s.message(), "file \"a\" ended after 1048576 of 1048577 bytes");
  }
  {
    FileAssembler assembler(1 << 30);
    ASSERT_TRUE(assembler.Add(chunks[0]).ok());
    ASSERT_TRUE(assembler.Add(chunks[1]).ok());
    v1::FileChunk again = chunks[0];
    EXPECT_EQ(assembler.Add(again).message(), "file \"a\" was sent twice");
  }
  {
    FileAssembler assembler(1 << 30);
    v1::FileChunk lying = chunks[0];
    lying.set_size(10);  // announces less than it sends
    EXPECT_FALSE(assembler.Add(lying).ok());
  }
}

}  // namespace
}  // namespace mosdat

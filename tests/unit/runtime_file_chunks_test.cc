// Tests for files on the wire: chunks reassemble to the same files (in memory, or on
// disk from a directory), and receivers refuse broken, oversized or escaping streams
// before taking the memory or writing outside their directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "runtime/file_chunks.h"
#include "tests/unit/temp_dir.h"

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

namespace fs = std::filesystem;

std::map<std::string, std::string> FilesUnder(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) {
      files[entry.path().lexically_relative(root).generic_string()] = ReadFileOrEmpty(entry.path());
    }
  }
  return files;
}

std::vector<v1::FileChunk> DirectoryChunks(const std::string& root) {
  std::vector<v1::FileChunk> chunks;
  EXPECT_TRUE(SendDirectoryChunks(root, [&](const v1::FileChunk& c) {
                chunks.push_back(c);
                return true;
              }).ok());
  return chunks;
}

TEST(DirectoryChunksTest, ADirectoryArrivesWholeAndLinksAreNeitherFollowedNorSent) {
  TempDir from, outside, to;
  std::string big(2 * kFileChunkBytes + 5, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13);
  fs::create_directories(from.path() + "/local/attempt-2");
  std::ofstream(from.path() + "/local/events.jsonl") << "{}\n";
  std::ofstream(from.path() + "/local/attempt-2/001-step01-step.png") << big;
  std::ofstream(from.path() + "/empty") << "";
  std::ofstream(outside.path() + "/secret") << "not part of the run";
  fs::create_symlink(outside.path() + "/secret", from.path() + "/local/link");
  fs::create_directory_symlink(outside.path(), from.path() + "/local/dirlink");

  std::vector<v1::FileChunk> chunks = DirectoryChunks(from.path());
  ASSERT_EQ(chunks.size(), 5u);  // empty, 3 of the PNG, events
  EXPECT_EQ(chunks[0].path(), "empty");
  EXPECT_EQ(chunks[1].path(), "local/attempt-2/001-step01-step.png");
  FileChunkWriter writer(to.path(), 1 << 30, 10);
  for (const v1::FileChunk& c : chunks) ASSERT_TRUE(writer.Add(c).ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(writer.files(), 3u);
  EXPECT_EQ(writer.bytes(), big.size() + 3);
  EXPECT_EQ(FilesUnder(to.path()),
            (std::map<std::string, std::string>{{"empty", ""},
                                                {"local/attempt-2/001-step01-step.png", big},
                                                {"local/events.jsonl", "{}\n"}}));
  EXPECT_TRUE(absl::IsNotFound(SendDirectoryChunks(from.path() + "/nothing", nullptr)));
  // A broken stream stops the sending.
  int sent = 0;
  EXPECT_TRUE(absl::IsCancelled(
      SendDirectoryChunks(from.path(), [&](const v1::FileChunk&) { return ++sent < 2; })));
  EXPECT_EQ(sent, 2);
}

TEST(DirectoryChunksTest, APeerCannotWriteOutsideTheDirectoryNorPastTheLimits) {
  TempDir to, outside;
  auto first = [](const std::string& path, const std::string& data) {
    v1::FileChunk chunk;
    chunk.set_path(path);
    chunk.set_first(true);
    chunk.set_size(data.size());
    chunk.set_data(data);
    return chunk;
  };
  for (const std::string& path :
       {std::string("../escaped"), std::string("/abs"), std::string("a/../../b"),
        std::string("a//b"), std::string("./a"), std::string("a/"), std::string(""),
        std::string("a\\..\\b"), std::string("a\0b", 3), std::string(5000, 'x')}) {
    FileChunkWriter writer(to.path() + "/in", 1 << 20, 10);
    absl::Status s = writer.Add(first(path, "x"));
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << path << ": " << s;
  }
  EXPECT_FALSE(fs::exists(to.path() + "/escaped"));
  EXPECT_FALSE(fs::exists("/abs"));
  {
    FileChunkWriter writer(to.path(), 10, 10);
    EXPECT_TRUE(absl::IsResourceExhausted(writer.Add(first("a", std::string(11, 'a')))));
    EXPECT_FALSE(fs::exists(to.path() + "/a")) << "refused before it was written";
  }
  {
    FileChunkWriter writer(to.path(), 1 << 20, 1);
    ASSERT_TRUE(writer.Add(first("one", "1")).ok());
    EXPECT_TRUE(absl::IsResourceExhausted(writer.Add(first("two", "2"))));
  }
  {
    FileChunkWriter writer(to.path(), 1 << 20, 10);
    v1::FileChunk lying = first("short", "too long");
    lying.set_size(3);
    EXPECT_TRUE(absl::IsInvalidArgument(writer.Add(lying)));
  }
  {
    FileChunkWriter writer(to.path(), 1 << 20, 10);
    v1::FileChunk cut = first("cut", "abc");
    cut.set_size(10);
    ASSERT_TRUE(writer.Add(cut).ok());
    EXPECT_EQ(writer.Finish().message(), "file \"cut\" ended after 3 of 10 bytes");
    v1::FileChunk stray;
    stray.set_path("other");
    stray.set_data("x");
    EXPECT_TRUE(absl::IsInvalidArgument(writer.Add(stray)));
  }
  {
    // A link planted where a file goes is not followed.
    fs::create_symlink(outside.path() + "/target", to.path() + "/planted");
    FileChunkWriter writer(to.path(), 1 << 20, 10);
    EXPECT_FALSE(writer.Add(first("planted", "x")).ok());
    EXPECT_FALSE(fs::exists(outside.path() + "/target"));
  }
}

}  // namespace
}  // namespace mosdat

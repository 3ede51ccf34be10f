// AsarArchive on a real app.asar made by @electron/asar (tests/data/asar/README.md), and
// on hostile archives built here byte by byte: each must be a clear error.
#include "core/asar_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/file_util.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

std::string Fixture() { return std::string(MOSDAT_SOURCE_DIR) + "/tests/data/asar/app.asar"; }

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// An archive as @electron/asar lays it out: size pickle, header pickle, data.
std::string MakeAsar(const std::string& json, const std::string& data) {
  std::string padded = json;
  while (padded.size() % 4 != 0) padded.push_back('\0');
  const uint32_t payload = 4 + static_cast<uint32_t>(padded.size());
  std::string out;
  PutU32(&out, 4);
  PutU32(&out, payload + 4);
  PutU32(&out, payload);
  PutU32(&out, static_cast<uint32_t>(json.size()));
  return out + padded + data;
}

std::string ErrorOf(const std::string& bytes, const AsarLimits& limits = {}) {
  absl::StatusOr<AsarArchive> archive = AsarArchive::FromBytes(bytes, "app.asar", nullptr, limits);
  EXPECT_FALSE(archive.ok());
  return archive.ok() ? "" : std::string(archive.status().message());
}

TEST(AsarArchiveTest, ReadsTheRealArchiveFilesNestedDirsAndUnpackedFiles) {
  absl::StatusOr<AsarArchive> archive = AsarArchive::Open(Fixture());
  ASSERT_TRUE(archive.ok()) << archive.status();
  absl::StatusOr<std::string> main = archive->Read("main.js");
  ASSERT_TRUE(main.ok()) << main.status();
  EXPECT_THAT(*main, HasSubstr("function isTelephonyEnabled()"));
  EXPECT_EQ(*archive->Read("dist/renderer/deep/note.txt"), "nested file three levels down\n");
  EXPECT_THAT(*archive->Read("/dist/renderer/index.js"), HasSubstr("renderer-ready"));
  EXPECT_THAT(*archive->Read("package.json"), HasSubstr("mosdat-asar-fixture"));
  // Unpacked: read from app.asar.unpacked/ next to it, checked against its integrity.
  absl::StatusOr<std::string> addon = archive->Read("native/addon.node");
  ASSERT_TRUE(addon.ok()) << addon.status();
  EXPECT_THAT(*addon, HasSubstr("exportedNativeThing"));
  const AsarEntry* tool = archive->Find("bin/tool.sh");
  ASSERT_NE(tool, nullptr);
  EXPECT_TRUE(tool->executable);
  EXPECT_TRUE(tool->integrity.has_value());
  EXPECT_TRUE(archive->Find("native/addon.node")->unpacked);
  EXPECT_EQ(archive->Find("dist/renderer")->kind, AsarEntry::Kind::kDirectory);
  EXPECT_FALSE(archive->Exists("nope.js"));
  EXPECT_TRUE(absl::IsNotFound(archive->Read("nope.js").status()));
  EXPECT_FALSE(archive->Read("dist").ok());
}

TEST(AsarArchiveTest, FollowsLinksInsideTheArchive) {
  absl::StatusOr<AsarArchive> archive = AsarArchive::Open(Fixture());
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_EQ(archive->Find("lib-link")->kind, AsarEntry::Kind::kDirectory);
  EXPECT_THAT(*archive->Read("lib-link/index.js"), HasSubstr("renderer-ready"));
  EXPECT_EQ(*archive->Read("lib-link/deep/note.txt"), "nested file three levels down\n");
}

TEST(AsarArchiveTest, FromBytesReadsPackedFilesAndSaysWhenUnpackedOnesAreMissing) {
  absl::StatusOr<std::string> bytes = ReadFile(Fixture());
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<AsarArchive> archive = AsarArchive::FromBytes(*bytes, "vm:/opt/App/app.asar");
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_THAT(*archive->Read("main.js"), HasSubstr("isTelephonyEnabled"));
  absl::StatusOr<std::string> addon = archive->Read("native/addon.node");
  EXPECT_FALSE(addon.ok());
  EXPECT_THAT(addon.status().message(), HasSubstr("native/addon.node is unpacked"));
}

TEST(AsarArchiveTest, IntegrityMismatchIsAnError) {
  absl::StatusOr<std::string> bytes = ReadFile(Fixture());
  ASSERT_TRUE(bytes.ok());
  std::string altered = *bytes;
  const size_t at = altered.find("function isTelephonyEnabled");
  ASSERT_NE(at, std::string::npos);
  altered[at] = 'F';
  absl::StatusOr<AsarArchive> archive = AsarArchive::FromBytes(altered, "app.asar");
  ASSERT_TRUE(archive.ok()) << archive.status();
  absl::StatusOr<std::string> main = archive->Read("main.js");
  EXPECT_FALSE(main.ok());
  EXPECT_THAT(main.status().message(), HasSubstr("main.js does not match its SHA256 integrity"));
  // Files it did not touch still read.
  EXPECT_TRUE(archive->Read("package.json").ok());
}

TEST(AsarArchiveTest, TruncatedHeaderIsAnError) {
  absl::StatusOr<std::string> bytes = ReadFile(Fixture());
  ASSERT_TRUE(bytes.ok());
  EXPECT_THAT(ErrorOf(bytes->substr(0, 10)), HasSubstr("too short for an asar archive"));
  EXPECT_THAT(ErrorOf(bytes->substr(0, 200)),
              HasSubstr("app.asar: the header says it is 1644 bytes (1.6 KiB) but the file has "
                        "200 bytes"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("too short"));
}

TEST(AsarArchiveTest, HeaderSizeBeyondTheFileIsAnError) {
  std::string bytes = MakeAsar(R"({"files":{}})", "");
  bytes[4] = bytes[5] = bytes[6] = bytes[7] = '\xff';  // 4 GiB header
  EXPECT_THAT(ErrorOf(bytes), HasSubstr("the header says it is 4294967295 bytes (4.0 GiB) but the "
                                        "file has 28 bytes"));
  AsarLimits small;
  small.max_header_bytes = 8;
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{}})", ""), small), HasSubstr("over the limit"));
}

TEST(AsarArchiveTest, NotAnAsarIsAnError) {
  EXPECT_THAT(ErrorOf("\x7f"
                      "ELF and some more bytes to pass"),
              HasSubstr("not an asar archive"));
  std::string bytes = MakeAsar(R"({"files":{}})", "");
  bytes[12] = '\x7f';  // index length past the payload
  EXPECT_THAT(ErrorOf(bytes), HasSubstr("header pickle is inconsistent"));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"a": )", "")), HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf(MakeAsar(R"([1,2])", "")), HasSubstr("not a JSON object"));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"nofiles":{}})", "")), HasSubstr("without a \"files\""));
}

TEST(AsarArchiveTest, OffsetPlusSizeBeyondTheFileIsAnError) {
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"a.js":{"size":10,"offset":"5"}}})", "0123456789")),
              HasSubstr("a.js: the header says 10 bytes at offset 5 but the archive's data is "
                        "only 10 bytes"));
  // Offsets that would wrap around 64 bits.
  EXPECT_THAT(
      ErrorOf(MakeAsar(R"({"files":{"a.js":{"size":18446744073709551615,"offset":"2"}}})", "0123")),
      HasSubstr("a.js: the header says 18446744073709551615 bytes (16 EiB)"));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"a.js":{"size":1,"offset":"-1"}}})", "0")),
              HasSubstr("without an \"offset\""));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"a.js":{"size":-1,"offset":"0"}}})", "0")),
              HasSubstr("without a \"size\""));
}

TEST(AsarArchiveTest, HugeDeclaredSizeIsAnError) {
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"big.bin":{"size":4294967296,"offset":"0"}}})",
                               std::string(1024, 'x'))),
              HasSubstr("big.bin: the header says 4294967296 bytes (4 GiB) at offset 0 but the "
                        "archive's data is only 1024 bytes (1 KiB)"));
  // Unpacked files are bounded too when read.
  absl::StatusOr<AsarArchive> archive = AsarArchive::FromBytes(
      MakeAsar(R"({"files":{"big.node":{"size":4294967296,"unpacked":true}}})", ""), "app.asar",
      [](const std::string&, uint64_t) -> absl::StatusOr<std::string> { return std::string(); });
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_THAT(archive->Read("big.node").status().message(), HasSubstr("over the limit"));
}

TEST(AsarArchiveTest, DeepNestingIsAnError) {
  std::string json;
  for (int i = 0; i < 100; ++i) json += R"({"files":{"d":)";
  json += R"({"files":{}})";
  for (int i = 0; i < 100; ++i) json += "}}";
  EXPECT_THAT(ErrorOf(MakeAsar(json, "")), HasSubstr("deeper than 64"));
  // A million brackets are refused before parsing.
  EXPECT_THAT(ErrorOf(MakeAsar(std::string(1'000'000, '['), "")), HasSubstr("deeper than 64"));
  AsarLimits few;
  few.max_entries = 2;
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"a":{"size":0,"offset":"0"},"b":{"size":0,)"
                               R"("offset":"0"},"c":{"size":0,"offset":"0"}}})",
                               ""),
                      few),
              HasSubstr("more than 2 entries"));
}

TEST(AsarArchiveTest, DotDotNamesAndEscapingLinksAreErrors) {
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"..":{"size":0,"offset":"0"}}})", "")),
              HasSubstr("holds an entry named \"..\""));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"a/b":{"size":0,"offset":"0"}}})", "")),
              HasSubstr("holds an entry named \"a/b\""));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"l":{"link":"../../etc/passwd"}}})", "")),
              HasSubstr("l: links to \"../../etc/passwd\", outside the archive"));
  EXPECT_THAT(ErrorOf(MakeAsar(R"({"files":{"l":{"link":"/etc/passwd"}}})", "")),
              HasSubstr("links to the absolute path"));
  // Reading with ".." never leaves the archive.
  absl::StatusOr<AsarArchive> archive = AsarArchive::Open(Fixture());
  ASSERT_TRUE(archive.ok());
  EXPECT_FALSE(archive->Exists("dist/../main.js"));
}

TEST(AsarArchiveTest, LinkLoopsEndAsNotFound) {
  absl::StatusOr<AsarArchive> archive = AsarArchive::FromBytes(
      MakeAsar(R"({"files":{"a":{"link":"b"},"b":{"link":"a"}}})", ""), "app.asar");
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_EQ(archive->Find("a/x"), nullptr);
  EXPECT_FALSE(archive->Read("a").ok());
}

class UnpackedDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("asar-unpacked-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "app.asar.unpacked");
    std::ofstream(dir_ / "secret.txt") << "outside";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& json) {
    const std::string path = (dir_ / "app.asar").string();
    std::ofstream(path, std::ios::binary) << MakeAsar(json, "");
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(UnpackedDirTest, UnpackedFilesNeverComeFromOutsideTheUnpackedDirectory) {
  // A symbolic link inside app.asar.unpacked/ pointing out of it is refused.
  std::filesystem::create_symlink(dir_ / "secret.txt", dir_ / "app.asar.unpacked" / "s.node");
  std::filesystem::create_directory_symlink(dir_, dir_ / "app.asar.unpacked" / "up");
  absl::StatusOr<AsarArchive> archive = AsarArchive::Open(
      Write(R"({"files":{"s.node":{"size":7,"unpacked":true},"up":{"files":{"secret.txt":)"
            R"({"size":7,"unpacked":true}}}}})"));
  ASSERT_TRUE(archive.ok()) << archive.status();
  absl::StatusOr<std::string> s = archive->Read("s.node");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("symbolic link"));
  absl::StatusOr<std::string> up = archive->Read("up/secret.txt");
  EXPECT_FALSE(up.ok());
  EXPECT_THAT(up.status().message(), HasSubstr("symbolic link"));
}

TEST_F(UnpackedDirTest, UnpackedFileOfTheWrongSizeIsAnError) {
  std::ofstream(dir_ / "app.asar.unpacked" / "a.node") << "12345";
  absl::StatusOr<AsarArchive> archive =
      AsarArchive::Open(Write(R"({"files":{"a.node":{"size":3,"unpacked":true}}})"));
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_THAT(archive->Read("a.node").status().message(),
              HasSubstr("is 5 bytes but the archive's header says 3"));
}

}  // namespace
}  // namespace mosdat

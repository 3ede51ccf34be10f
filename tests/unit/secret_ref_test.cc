// Tests for SecretRef: parsing references, resolving them, and never leaking values.
#include "core/secret_ref.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace mosdat {
namespace {

// A scratch file removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "secret_ref_test.XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    path_ = pattern;
    if (fd >= 0) {
      const ssize_t written = write(fd, content.data(), content.size());
      EXPECT_EQ(written, static_cast<ssize_t>(content.size()));
      close(fd);
    }
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SecretRefTest, DefaultIsUnset) {
  SecretRef ref;
  EXPECT_FALSE(ref.is_set());
  EXPECT_EQ(ref.kind(), SecretRef::Kind::kUnset);
  EXPECT_EQ(ref.ToString(), "");
  EXPECT_EQ(ref.Describe(), "unset");
  EXPECT_EQ(ref.Resolve().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SecretRefTest, ParsesEnvReference) {
  absl::StatusOr<SecretRef> ref = SecretRef::Parse("env:MOSDAT_PVE_TOKEN");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_TRUE(ref->is_set());
  EXPECT_EQ(ref->kind(), SecretRef::Kind::kEnv);
  EXPECT_EQ(ref->target(), "MOSDAT_PVE_TOKEN");
  EXPECT_EQ(ref->ToString(), "env:MOSDAT_PVE_TOKEN");
  EXPECT_EQ(ref->Describe(), "environment variable MOSDAT_PVE_TOKEN");
}

TEST(SecretRefTest, ParsesFileReference) {
  absl::StatusOr<SecretRef> ref = SecretRef::Parse("file:/etc/mosdat/token");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind(), SecretRef::Kind::kFile);
  EXPECT_EQ(ref->target(), "/etc/mosdat/token");
  EXPECT_EQ(ref->ToString(), "file:/etc/mosdat/token");
  EXPECT_EQ(ref->Describe(), "file /etc/mosdat/token");
}

TEST(SecretRefTest, RefusesLiteralSecretWithoutEchoingIt) {
  absl::StatusOr<SecretRef> ref = SecretRef::Parse("hunter2-super-secret");
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ref.status().message(),
            "must be \"env:NAME\" or \"file:PATH\"; literal secrets are refused so they never "
            "land in config files or logs");
  EXPECT_EQ(std::string(ref.status().message()).find("hunter2"), std::string::npos);
}

TEST(SecretRefTest, RefusesMalformedReferences) {
  for (const char* text :
       {"", "env:", "env:1ABC", "env:A-B", "env:A B", "file:", "ENV:X", "vault:secret/x"}) {
    EXPECT_FALSE(SecretRef::Parse(text).ok()) << text;
  }
  EXPECT_EQ(SecretRef::Parse("env:").status().message(),
            "\"env:\" must be followed by an environment variable name "
            "([A-Za-z_][A-Za-z0-9_]*)");
  EXPECT_EQ(SecretRef::Parse("file:").status().message(), "\"file:\" must be followed by a path");
}

TEST(SecretRefTest, ResolvesEnvironmentVariable) {
  ASSERT_EQ(setenv("MOSDAT_TEST_SECRET", "s3cr3t", 1), 0);
  SecretRef ref = SecretRef::FromEnv("MOSDAT_TEST_SECRET");
  absl::StatusOr<std::string> value = ref.Resolve();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "s3cr3t");
  // The reference, never the value, is what gets printed.
  EXPECT_EQ(ref.ToString().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(ref.Describe().find("s3cr3t"), std::string::npos);
  unsetenv("MOSDAT_TEST_SECRET");
}

TEST(SecretRefTest, MissingOrEmptyVariableNamesIt) {
  unsetenv("MOSDAT_TEST_MISSING");
  absl::StatusOr<std::string> value = SecretRef::FromEnv("MOSDAT_TEST_MISSING").Resolve();
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(value.status().message(), "environment variable MOSDAT_TEST_MISSING is not set");

  ASSERT_EQ(setenv("MOSDAT_TEST_EMPTY", "", 1), 0);
  value = SecretRef::FromEnv("MOSDAT_TEST_EMPTY").Resolve();
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "environment variable MOSDAT_TEST_EMPTY is empty");
  unsetenv("MOSDAT_TEST_EMPTY");
}

TEST(SecretRefTest, ResolvesFileAndTrimsTrailingNewline) {
  TempFile file("tok-en value\n");
  absl::StatusOr<SecretRef> ref = SecretRef::Parse("file:" + file.path());
  ASSERT_TRUE(ref.ok()) << ref.status();
  absl::StatusOr<std::string> value = ref->Resolve();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "tok-en value");
  EXPECT_EQ(ref->ToString(), "file:" + file.path());
  EXPECT_EQ(ref->ToString().find("tok-en"), std::string::npos);
}

TEST(SecretRefTest, TrimsWindowsLineEnding) {
  TempFile file("abc\r\n");
  absl::StatusOr<std::string> value = SecretRef::FromFile(file.path()).Resolve();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "abc");
}

TEST(SecretRefTest, KeepsInnerWhitespace) {
  TempFile file("  a b  ");
  absl::StatusOr<std::string> value = SecretRef::FromFile(file.path()).Resolve();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "  a b  ");
}

TEST(SecretRefTest, UnreadableFileNamesPath) {
  absl::StatusOr<std::string> value = SecretRef::FromFile("/nonexistent/mosdat/secret").Resolve();
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(value.status().message(),
            "cannot read secret file /nonexistent/mosdat/secret: No such file or directory");
}

TEST(SecretRefTest, DirectoryIsNotASecret) {
  absl::StatusOr<std::string> value =
      SecretRef::FromFile(std::filesystem::temp_directory_path().string()).Resolve();
  ASSERT_FALSE(value.ok());
  EXPECT_NE(std::string(value.status().message()).find("cannot read secret file"),
            std::string::npos);
}

TEST(SecretRefTest, EmptyFileIsAnError) {
  TempFile file("\n");
  absl::StatusOr<std::string> value = SecretRef::FromFile(file.path()).Resolve();
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "secret file " + file.path() + " is empty");
}

TEST(SecretRefTest, Equality) {
  EXPECT_EQ(SecretRef::FromEnv("A"), *SecretRef::Parse("env:A"));
  EXPECT_NE(SecretRef::FromEnv("A"), SecretRef::FromFile("A"));
  EXPECT_NE(SecretRef::FromEnv("A"), SecretRef());
}

TEST(SecretRefTest, ResolveTextParsesThenReads) {
  setenv("MOSDAT_TEST_RESOLVE_TEXT", "s3cret", 1);
  absl::StatusOr<std::string> value = SecretRef::ResolveText("env:MOSDAT_TEST_RESOLVE_TEXT");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "s3cret");
  EXPECT_FALSE(SecretRef::ResolveText("s3cret").ok());  // a pasted secret is no reference
  EXPECT_FALSE(SecretRef::ResolveText("env:MOSDAT_TEST_RESOLVE_TEXT_UNSET").ok());
  unsetenv("MOSDAT_TEST_RESOLVE_TEXT");
}

}  // namespace
}  // namespace mosdat

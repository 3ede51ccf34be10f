// ElfInspect on real binaries: a shared library built here with the system compiler,
// /bin/true and libc, and corrupted copies (each a clear error, never a crash).
#include "core/elf_inspect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/time/time.h"
#include "core/file_util.h"
#include "core/process.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

// A tiny shared library exporting a known symbol, holding a known string, with a
// static (not exported) function; built once per test binary.
class BuiltLibrary : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::filesystem::temp_directory_path() /
                           ("elf-inspect-" + std::to_string(getpid())));
    std::filesystem::create_directories(*dir_);
    const std::string source = *dir_ + "/lib.c";
    std::ofstream(source) << "const char* mosdat_marker(void) { return \"MOSDAT-STRING-7f3a\"; }\n"
                             "static int hidden_helper(int x) { return x + 1; }\n"
                             "int mosdat_calls_puts(int x) { extern int puts(const char*); "
                             "puts(\"x\"); return hidden_helper(x); }\n";
    absl::StatusOr<CommandResult> cc = RunCommand(
        {FindExecutable("cc"), "-shared", "-fPIC", "-O0", "-o", *dir_ + "/libmarker.so", source},
        CurrentEnvironment(), absl::Seconds(60));
    ASSERT_TRUE(cc.ok()) << cc.status();
    ASSERT_EQ(cc->status.exit_code, 0) << cc->err;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string Library() { return *dir_ + "/libmarker.so"; }
  static std::string* dir_;
};
std::string* BuiltLibrary::dir_ = nullptr;

TEST_F(BuiltLibrary, ListsExportsImportsSymtabAndStrings) {
  absl::StatusOr<ElfInspect> elf = ElfInspect::Open(Library());
  ASSERT_TRUE(elf.ok()) << elf.status();
  EXPECT_TRUE(elf->exported().contains("mosdat_marker"));
  EXPECT_TRUE(elf->exported().contains("mosdat_calls_puts"));
  EXPECT_FALSE(elf->exported().contains("hidden_helper"));
  EXPECT_FALSE(elf->exported().contains("puts"));
  EXPECT_TRUE(elf->imported().contains("puts"));
  EXPECT_TRUE(elf->symtab().contains("hidden_helper"));  // not stripped
  EXPECT_TRUE(elf->ContainsString("MOSDAT-STRING-7f3a"));
  EXPECT_FALSE(elf->ContainsString("MOSDAT-STRING-absent"));
}

TEST(ElfInspectTest, SystemBinariesAndLibc) {
  absl::StatusOr<ElfInspect> libc = ElfInspect::Open("/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_TRUE(libc.ok()) << libc.status();
  EXPECT_TRUE(libc->exported().contains("printf"));
  EXPECT_TRUE(libc->exported().contains("malloc"));
  EXPECT_FALSE(libc->exported().contains("mosdat_marker"));
  absl::StatusOr<ElfInspect> true_bin = ElfInspect::Open("/bin/true");
  ASSERT_TRUE(true_bin.ok()) << true_bin.status();
  EXPECT_FALSE(true_bin->imported().empty());
  EXPECT_TRUE(true_bin->ContainsString("GNU coreutils"));
}

TEST_F(BuiltLibrary, TruncatedAndCorruptCopiesAreClearErrors) {
  absl::StatusOr<std::string> bytes = ReadFile(Library());
  ASSERT_TRUE(bytes.ok());
  // Cut at many points: never a crash; the header-less ones always an error.
  for (size_t cut : {size_t{0}, size_t{3}, size_t{20}, size_t{63}, size_t{64}, bytes->size() / 2,
                     bytes->size() - 1}) {
    absl::StatusOr<ElfInspect> elf = ElfInspect::FromBytes(bytes->substr(0, cut), "libmarker.so");
    if (cut < 64) {
      ASSERT_FALSE(elf.ok()) << cut;
      EXPECT_THAT(elf.status().message(), HasSubstr("libmarker.so: not")) << cut;
    }
  }
  // The section header table cut off: the symbol tables cannot be read.
  absl::StatusOr<ElfInspect> half =
      ElfInspect::FromBytes(bytes->substr(0, bytes->size() / 2), "libmarker.so");
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), HasSubstr("libmarker.so: not a readable ELF file"));
  // Garbage over the section headers' offset field.
  std::string corrupt = *bytes;
  for (int i = 0x28; i < 0x30; ++i) corrupt[i] = '\x7f';
  absl::StatusOr<ElfInspect> bad = ElfInspect::FromBytes(corrupt, "corrupt.so");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("corrupt.so: not a readable ELF file"));
  EXPECT_THAT(ElfInspect::FromBytes("#!/bin/sh\n", "script").status().message(),
              HasSubstr("script: not an ELF file"));
}

TEST_F(BuiltLibrary, FlippedBytesNeverCrash) {
  absl::StatusOr<std::string> bytes = ReadFile(Library());
  ASSERT_TRUE(bytes.ok());
  // Every 97th byte turned to 0xff in turn: whatever libelf makes of it, no crash.
  for (size_t i = 4; i < bytes->size(); i += 97) {
    std::string copy = *bytes;
    copy[i] = '\xff';
    (void)ElfInspect::FromBytes(std::move(copy), "flipped.so");
  }
}

}  // namespace
}  // namespace mosdat

// `mosdat preflight --package` on real packages built here: a .deb made with
// `dpkg-deb --build` holding the @electron/asar fixture and a real ELF binary, the same
// as a tarball and a directory, a .deb whose app.asar is corrupt, and a broken .deb.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kConfig[] = R"([app]
name = "pretend-electron"

[verify]
symbols = ["isTelephonyEnabled", "exportedNativeThing"]

[[verify.asar_file]]
path = "dist/renderer/index.js"
strings = ["renderer-ready"]

[[verify.binary]]
path = "/opt/Pretend/pretend-app"
strings = ["GNU coreutils"]

[[verify.binary]]
path = "opt/Pretend/libc.so.6"
exports = ["malloc", "printf"]
)";

class PackageChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = tmp_.File("mosdat.toml");
    std::ofstream(config_) << kConfig;
    // The package tree, as electron-builder lays out a .deb.
    root_ = tmp_.File("pkg");
    const fs::path app = fs::path(root_) / "opt/Pretend";
    fs::create_directories(app / "resources");
    fs::create_directories(fs::path(root_) / "DEBIAN");
    fs::copy(SourcePath("tests/data/asar/app.asar"), app / "resources/app.asar");
    fs::copy(SourcePath("tests/data/asar/app.asar.unpacked"), app / "resources/app.asar.unpacked",
             fs::copy_options::recursive);
    fs::copy("/bin/true", app / "pretend-app");
    fs::copy("/lib/x86_64-linux-gnu/libc.so.6", app / "libc.so.6");
    std::ofstream(fs::path(root_) / "DEBIAN/control")
        << "Package: pretend-electron\nVersion: 1.0.0\nArchitecture: amd64\n"
           "Maintainer: mOSdat tests <tests@example.invalid>\nDescription: test package\n";
  }

  std::string BuildDeb(const std::string& name) {
    const std::string deb = tmp_.File(name);
    RunResult r = RunCommand({"dpkg-deb", "--root-owner-group", "-Zxz", "--build", root_, deb});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return deb;
  }

  RunResult Preflight(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {BuiltBinary("cli/mosdat"), "preflight", "--config", config_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }

  TempDir tmp_;
  std::string config_;
  std::string root_;
};

TEST_F(PackageChecksTest, DebWithEverythingPasses) {
  const std::string deb = BuildDeb("pretend.deb");
  RunResult r = Preflight({"--package", deb});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok    app.asar contains isTelephonyEnabled  (in main.js)"));
  EXPECT_THAT(r.out,
              HasSubstr("ok    app.asar contains exportedNativeThing  (in native/addon.node)"));
  EXPECT_THAT(r.out, HasSubstr("ok    /opt/Pretend/pretend-app contains GNU coreutils"));
  EXPECT_THAT(r.out, HasSubstr("ok    opt/Pretend/libc.so.6 exports malloc, printf"));
  EXPECT_THAT(r.out, HasSubstr("package checks passed"));
}

TEST_F(PackageChecksTest, MissingSymbolFailsWithExit1AndSaysWhat) {
  const std::string deb = BuildDeb("pretend.deb");
  // The original's flag, comma-separated as its --verify-symbol took it.
  RunResult r =
      Preflight({"--package", deb, "--expect-symbol", "isTelephonyEnabled,notThere", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_FALSE(report["ok"].get<bool>());
  bool saw = false;
  for (const auto& check : report["checks"]) {
    if (check["name"] == "app.asar contains notThere") {
      saw = true;
      EXPECT_EQ(check["result"], "failed");
      EXPECT_THAT(check["detail"].get<std::string>(), HasSubstr("\"notThere\" is in no file of"));
    }
  }
  EXPECT_TRUE(saw) << r.out;
}

TEST_F(PackageChecksTest, TarballAndDirectoryToo) {
  const std::string tarball = tmp_.File("pretend.tar.gz");
  RunResult tar = RunCommand({"tar", "-czf", tarball, "-C", root_, "opt"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  for (const std::string& artifact : {tarball, root_}) {
    RunResult r = Preflight({"--package", artifact});
    EXPECT_EQ(r.exit_code, 0) << artifact << "\n" << r.out << r.err;
  }
}

TEST_F(PackageChecksTest, MissingBinaryFails) {
  fs::remove(fs::path(root_) / "opt/Pretend/pretend-app");
  RunResult r = Preflight({"--package", BuildDeb("pretend.deb")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("FAIL  /opt/Pretend/pretend-app contains GNU coreutils"));
  EXPECT_THAT(r.out, HasSubstr("pretend.deb: has no file opt/Pretend/pretend-app"));
}

TEST_F(PackageChecksTest, CorruptAsarInsideTheDebIsAClearError) {
  const fs::path asar = fs::path(root_) / "opt/Pretend/resources/app.asar";
  std::string bytes = *ReadFile(asar.string());
  std::ofstream(asar, std::ios::binary | std::ios::trunc) << bytes.substr(0, 300);
  const std::string deb = BuildDeb("corrupt.deb");
  RunResult r = Preflight({"--package", deb});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("opt/Pretend/resources/app.asar: the header says it is 1644 bytes "
                               "(1.6 KiB) but the file has 300 bytes"));
}

TEST_F(PackageChecksTest, BrokenDebAndMissingFileAreClearErrors) {
  const std::string deb = BuildDeb("pretend.deb");
  std::string bytes = *ReadFile(deb);
  const std::string cut = tmp_.File("cut.deb");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  RunResult r = Preflight({"--package", cut});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("cut.deb"));
  RunResult missing = Preflight({"--package", tmp_.File("nope.deb")});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("nope.deb: No such file"));
}

TEST_F(PackageChecksTest, NothingToCheckIsAUsageError) {
  const std::string bare = tmp_.File("bare.toml");
  std::ofstream(bare) << "[app]\nname = \"x\"\n";
  RunResult r =
      RunCommand({BuiltBinary("cli/mosdat"), "preflight", "--config", bare, "--package", root_});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("has no [verify] checks"));
}

}  // namespace
}  // namespace mosdat::testing

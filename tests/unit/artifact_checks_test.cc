// The [verify] checks: parsing (file:line:column errors naming the field) and running
// on the real app.asar fixture and real ELF files, in memory (as the agent calls them)
// and from a directory.
#include "core/artifact_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/config_parser.h"
#include "core/file_util.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using Result = ArtifactCheck::Result;

std::string Data(const std::string& relative) {
  return std::string(MOSDAT_SOURCE_DIR) + "/tests/data/asar/" + relative;
}

std::string ErrorsOf(std::string_view text) {
  Diagnostics diagnostics;
  ParseConfig(text, "v.toml", &diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics.items()) out += d.ToString() + "\n";
  return out;
}

TEST(VerifyConfigTest, ParsesEveryKey) {
  Diagnostics diagnostics;
  Config config = ParseConfig(R"([app]
name = "x"

[verify]
asar = "/opt/App/resources/app.asar"
symbols = ["isTelephonyEnabled", "other"]

[[verify.asar_file]]
path = "dist/main.js"
strings = ["a", "b"]

[[verify.asar_file]]
path = "package.json"

[[verify.binary]]
path = "opt/App/app"
exports = ["napi_register_module_v1"]
strings = ["Electron"]
)",
                              "v.toml", &diagnostics);
  ASSERT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  ASSERT_TRUE(config.verify.has_value());
  EXPECT_EQ(config.verify->asar, "/opt/App/resources/app.asar");
  EXPECT_EQ(config.verify->symbols, (std::vector<std::string>{"isTelephonyEnabled", "other"}));
  ASSERT_EQ(config.verify->asar_files.size(), 2u);
  EXPECT_EQ(config.verify->asar_files[0].strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(config.verify->asar_files[1].strings.empty());
  ASSERT_EQ(config.verify->binaries.size(), 1u);
  EXPECT_EQ(config.verify->binaries[0].exports,
            (std::vector<std::string>{"napi_register_module_v1"}));
}

TEST(VerifyConfigTest, ErrorsNameTheField) {
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[verify]\nsymbol = [\"a\"]\n"),
              HasSubstr("v.toml:4:1: verify.symbol: unknown key (did you mean \"symbols\"?)"));
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[verify]\nsymbols = \"a\"\n"),
              HasSubstr("v.toml:4:11: verify.symbols: expected an array of strings"));
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[verify]\nsymbols = [\"a\", \"\"]\n"),
              HasSubstr("v.toml:4:17: verify.symbols[1]: must not be empty"));
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[verify]\nverify_symbols = [\"a\"]\n"),
              HasSubstr("verify.verify_symbols: write the list as symbols = [...]"));
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[[verify.asar_file]]\nstrings = [\"a\"]\n"),
              HasSubstr("verify.asar_file[0].path: required key is missing"));
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[[verify.binary]]\npath = \"a\"\n"),
              HasSubstr("verify.binary[0]: checks nothing"));
  EXPECT_THAT(ErrorsOf("[app]\nname = \"x\"\n[[verify.binary]]\npath = \"a\"\nexport = [\"s\"]\n"),
              HasSubstr("verify.binary[0].export: unknown key (did you mean \"exports\"?)"));
}

// The files an agent would read in a VM: the installed app.asar, its unpacked files,
// and a binary.
std::map<std::string, std::string> VmFiles() {
  return {{"/opt/App/resources/app.asar", *ReadFile(Data("app.asar"))},
          {"/opt/App/resources/app.asar.unpacked/native/addon.node",
           *ReadFile(Data("app.asar.unpacked/native/addon.node"))},
          {"/opt/App/true", *ReadFile("/bin/true")}};
}

TEST(ArtifactChecksTest, OnFilesReadInAVm) {
  VerifyConfig verify;
  verify.symbols = {"isTelephonyEnabled", "exportedNativeThing", "missingSymbol"};
  verify.asar_files = {{.path = "dist/renderer/index.js", .strings = {"renderer-ready"}},
                       {.path = "main.js", .strings = {"isTelephonyEnabled", "nope"}},
                       {.path = "absent.js"}};
  verify.binaries = {{.path = "/opt/App/true", .strings = {"GNU coreutils"}},
                     {.path = "opt/App/true", .exports = {"malloc"}},
                     {.path = "opt/App/gone", .strings = {"x"}}};
  absl::StatusOr<std::vector<ArtifactCheck>> checks = RunArtifactChecksOnFiles(verify, VmFiles());
  ASSERT_TRUE(checks.ok()) << checks.status();
  ASSERT_EQ(checks->size(), 9u);
  const std::vector<ArtifactCheck>& c = *checks;
  EXPECT_EQ(c[0].result, Result::kPassed) << c[0].detail;
  EXPECT_THAT(c[0].detail, HasSubstr("main.js"));
  EXPECT_EQ(c[1].result, Result::kPassed) << c[1].detail;  // in the unpacked addon
  EXPECT_THAT(c[1].detail, HasSubstr("native/addon.node"));
  EXPECT_EQ(c[2].result, Result::kFailed);
  EXPECT_THAT(c[2].detail, HasSubstr("\"missingSymbol\" is in no file of"));
  EXPECT_EQ(c[3].result, Result::kPassed) << c[3].detail;
  EXPECT_EQ(c[4].result, Result::kFailed);
  EXPECT_THAT(c[4].detail, HasSubstr("main.js does not contain nope"));
  EXPECT_EQ(c[5].result, Result::kFailed);
  EXPECT_THAT(c[5].detail, HasSubstr("no file absent.js"));
  EXPECT_EQ(c[6].result, Result::kPassed) << c[6].detail;
  EXPECT_EQ(c[7].result, Result::kFailed);
  EXPECT_THAT(c[7].detail, HasSubstr("lacks export malloc (it only imports it)"));
  EXPECT_EQ(c[8].result, Result::kFailed);
  EXPECT_THAT(c[8].detail, HasSubstr("has no file opt/App/gone"));
  EXPECT_FALSE(AllPassed(c));
}

TEST(ArtifactChecksTest, MissingAsarFailsEachAsarCheckAndTwoAsarsNeedTheirPath) {
  VerifyConfig verify;
  verify.symbols = {"isTelephonyEnabled"};
  absl::StatusOr<std::vector<ArtifactCheck>> none =
      RunArtifactChecksOnFiles(verify, {{"opt/App/true", *ReadFile("/bin/true")}});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ((*none)[0].result, Result::kFailed);
  EXPECT_THAT((*none)[0].detail, HasSubstr("has no app.asar"));
  const std::string asar = *ReadFile(Data("app.asar"));
  absl::StatusOr<std::vector<ArtifactCheck>> two =
      RunArtifactChecksOnFiles(verify, {{"a/app.asar", asar}, {"b/app.asar", asar}});
  ASSERT_TRUE(two.ok());
  EXPECT_THAT((*two)[0].detail, HasSubstr("2 files named app.asar (a/app.asar, b/app.asar); set "
                                          "[verify] asar"));
  verify.asar = "/b/app.asar";
  absl::StatusOr<std::vector<ArtifactCheck>> chosen =
      RunArtifactChecksOnFiles(verify, {{"a/app.asar", "junk"}, {"b/app.asar", asar}});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ((*chosen)[0].result, Result::kPassed);
}

TEST(ArtifactChecksTest, CorruptAsarOrBinaryIsAnErrorNotAFailedCheck) {
  VerifyConfig verify;
  verify.symbols = {"isTelephonyEnabled"};
  std::string asar = *ReadFile(Data("app.asar"));
  absl::StatusOr<std::vector<ArtifactCheck>> truncated =
      RunArtifactChecksOnFiles(verify, {{"opt/App/resources/app.asar", asar.substr(0, 100)}});
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.status().message(),
              HasSubstr("opt/App/resources/app.asar: the header says it is 1644 bytes"));
  asar[asar.find("function isTelephonyEnabled")] = 'F';
  absl::StatusOr<std::vector<ArtifactCheck>> altered =
      RunArtifactChecksOnFiles(verify, {{"app.asar", asar}});
  ASSERT_FALSE(altered.ok());
  EXPECT_THAT(altered.status().message(), HasSubstr("main.js does not match its SHA256"));
  VerifyConfig binary;
  binary.binaries = {{.path = "bin/app", .strings = {"x"}}};
  absl::StatusOr<std::vector<ArtifactCheck>> elf =
      RunArtifactChecksOnFiles(binary, {{"bin/app", ReadFile("/bin/true")->substr(0, 500)}});
  ASSERT_FALSE(elf.ok());
  EXPECT_THAT(elf.status().message(), HasSubstr("bin/app: not a readable ELF file"));
}

TEST(ArtifactChecksTest, OnADirectoryAndOnAPlainAsar) {
  VerifyConfig verify;
  verify.symbols = {"exportedNativeThing"};
  verify.binaries = {{.path = "usr/bin/app", .strings = {"x"}}};
  // The fixture directory: app.asar with app.asar.unpacked/ next to it.
  absl::StatusOr<std::unique_ptr<ArtifactFiles>> dir =
      OpenArtifact(Data(""), [&](std::string_view p) { return WantedByChecks(verify, p); });
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::vector<ArtifactCheck>> checks = RunArtifactChecks(verify, **dir);
  ASSERT_TRUE(checks.ok()) << checks.status();
  EXPECT_EQ((*checks)[0].result, Result::kPassed) << (*checks)[0].detail;
  EXPECT_EQ((*checks)[1].result, Result::kFailed);  // a directory lacks the binary: failed
  // A plain app.asar: its binary checks are skipped, the asar ones run (unpacked too).
  absl::StatusOr<std::unique_ptr<ArtifactFiles>> plain =
      OpenArtifact(Data("app.asar"), [&](std::string_view p) { return WantedByChecks(verify, p); });
  ASSERT_TRUE(plain.ok()) << plain.status();
  checks = RunArtifactChecks(verify, **plain);
  ASSERT_TRUE(checks.ok()) << checks.status();
  EXPECT_EQ((*checks)[0].result, Result::kPassed) << (*checks)[0].detail;
  EXPECT_EQ((*checks)[1].result, Result::kSkipped);
  EXPECT_TRUE(AllPassed(*checks));
}

TEST(ArtifactChecksTest, WantedByChecksKeepsOnlyWhatTheChecksRead) {
  VerifyConfig verify;
  verify.symbols = {"s"};
  verify.binaries = {{.path = "/opt/App/app", .strings = {"x"}}};
  EXPECT_TRUE(WantedByChecks(verify, "opt/App/resources/app.asar"));
  EXPECT_TRUE(WantedByChecks(verify, "opt/App/resources/app.asar.unpacked/a/b.node"));
  EXPECT_TRUE(WantedByChecks(verify, "opt/App/app"));
  EXPECT_FALSE(WantedByChecks(verify, "opt/App/libffmpeg.so"));
  EXPECT_FALSE(WantedByChecks(verify, "opt/App/resources/notapp.asar"));
  verify.asar = "x/app.asar";
  EXPECT_FALSE(WantedByChecks(verify, "opt/App/resources/app.asar"));
  EXPECT_TRUE(WantedByChecks(verify, "x/app.asar.unpacked/n.node"));
  EXPECT_EQ(NormalizeArtifactPath("./opt//App/./x"), "opt/App/x");
  EXPECT_EQ(NormalizeArtifactPath("opt/../etc/passwd"), std::nullopt);
}

}  // namespace
}  // namespace mosdat

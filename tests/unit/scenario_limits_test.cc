// Tests that scenario expansion is bounded and private: variables and fragments that
// repeat each other are refused (with the variable and where it is defined) before they
// take time or memory, and imports or reference images outside the directories a
// scenario may read are refused before they are opened, so nothing of them is echoed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/scenario_parser.h"
#include "core/template_vars.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

std::string DiagsOf(std::string_view yaml, std::string_view file,
                    const ScenarioOptions& options = {}) {
  Diagnostics diags;
  ParseScenario(yaml, file, options, &diags);
  std::vector<std::string> lines;
  for (const Diagnostic& d : diags.items()) lines.push_back(d.ToString());
  return absl::StrJoin(lines, "\n");
}

// "a: [x, x, ...]", then each next variable a list of `width` copies of the previous:
// width^levels elements if expanded.
std::string LaughsVars(int levels, int width) {
  std::string yaml = "vars:\n  v0: [";
  for (int i = 0; i < width; ++i) absl::StrAppend(&yaml, i ? ", " : "", "lol");
  yaml += "]\n";
  for (int level = 1; level < levels; ++level) {
    absl::StrAppend(&yaml, "  v", level, ": [");
    for (int i = 0; i < width; ++i)
      absl::StrAppend(&yaml, i ? ", " : "", "\"{{ v", level - 1, " }}\"");
    yaml += "]\n";
  }
  return yaml;
}

TEST(ExpansionLimitTest, BillionLaughsInUnusedListVarsIsRefusedQuickly) {
  // 10^12 elements if expanded; before the limit this took gigabytes and never ended.
  std::string yaml = absl::StrCat("name: t\n", LaughsVars(12, 10), "steps:\n  - key: enter\n");
  std::string diags = DiagsOf(yaml, "s.yaml");
  // v4 would be 10^5 elements of 11 bytes: the first past 1 MiB.
  EXPECT_NE(diags.find("s.yaml:7:7: vars.v4: variable \"v4\" expands to more than 1048576 bytes"),
            std::string::npos)
      << diags;
  // Reported once, at the first variable past the limit; those built on it stay quiet.
  EXPECT_EQ(diags.find("\"v5\""), std::string::npos) << diags;
}

TEST(ExpansionLimitTest, ListsNestedPastTheDepthLimitAreRefused) {
  std::string yaml = "name: t\nvars:\n  l0: [x]\n";
  for (int i = 1; i <= 20; ++i) absl::StrAppend(&yaml, "  l", i, ": [\"{{ l", i - 1, " }}\"]\n");
  yaml += "steps:\n  - key: enter\n";
  std::string diags = DiagsOf(yaml, "s.yaml");
  EXPECT_NE(diags.find("vars.l16: variable \"l16\": lists are nested more than 16 deep"),
            std::string::npos)
      << diags;
}

TEST(ExpansionLimitTest, AllVariablesTogetherAreBounded) {
  VarMap vars = {{"base", Value(std::string(60'000, 'x'))}};
  Value::List row;
  for (int i = 0; i < 15; ++i) row.push_back(Value("{{ base }}"));
  vars["row"] = Value(row);  // ~900 KB once expanded
  for (int i = 0; i < 12; ++i) vars[absl::StrCat("copy", i)] = Value("{{ row }}");
  std::vector<std::string> errors;
  ResolveVars(vars, {}, [&](const std::string& name, const absl::Status& s) {
    errors.push_back(absl::StrCat(name, ": ", s.message()));
  });
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("takes the variables past 8388608 bytes in total"), std::string::npos)
      << absl::StrJoin(errors, "\n");
}

TEST(ExpansionLimitTest, FragmentsUsedOverAndOverAreBounded) {
  // One fragment step of ~1 MB, used 40 times: 40 MB of steps.
  std::string big(1'000'000, 'y');
  ScenarioOptions options;
  options.read_file = [&](const std::string& path) -> absl::StatusOr<std::string> {
    if (path != "dir/f.yaml") return absl::NotFoundError(path);
    return absl::StrCat("vars:\n  big: ", big, "\nfragments:\n  f:\n    - type: \"{{ big }}\"\n");
  };
  std::string yaml = "name: t\nimports: [f.yaml]\nsteps:\n";
  for (int i = 0; i < 40; ++i) yaml += "  - use: f\n";
  std::string diags = DiagsOf(yaml, "dir/s.yaml", options);
  EXPECT_NE(
      diags.find("dir/s.yaml:20:10: steps[16].use: the scenario expands to more than 16777216 "
                 "bytes of step content"),
      std::string::npos)
      << diags;
}

TEST(ScenarioUtf8Test, InvalidUtf8IsAConfigErrorWithItsPlace) {
  EXPECT_EQ(DiagsOf("name: t\nsteps:\n  - type: \"ab\xff\"\n", "s.yaml"),
            "s.yaml:3:14: the file is not valid UTF-8 (byte 0xFF here); save it as UTF-8");
}

class ConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat("confine-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "suite" / "frags");
    fs::create_directories(root_ / "outside");
    Write(root_ / "outside" / "shadow", "root:$y$j9T$SECRETHASH:19000:0:99999:7:::\n");
    Write(root_ / "outside" / "shared.yaml", "fragments:\n  f: [{key: enter}]\n");
    Write(root_ / "suite" / "frags" / "ok.yaml", "fragments:\n  g: [{key: tab}]\n");
    fs::create_symlink(root_ / "outside" / "shadow", root_ / "suite" / "frags" / "link.yaml");
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  std::string Scenario(const std::string& body) const {
    return absl::StrCat("name: t\n", body, "steps:\n  - key: enter\n");
  }
  std::string Path() const { return (root_ / "suite" / "s.yaml").string(); }

  fs::path root_;
};

TEST_F(ConfinementTest, ImportOutsideIsRefusedWithoutReadingIt) {
  std::string shadow = (root_ / "outside" / "shadow").string();
  std::string diags = DiagsOf(Scenario(absl::StrCat("imports: [", shadow, "]\n")), Path());
  EXPECT_NE(diags.find("imports[0]: import \""), std::string::npos) << diags;
  EXPECT_NE(diags.find("is outside the directories this scenario may read"), std::string::npos)
      << diags;
  EXPECT_NE(diags.find("allow_files_from"), std::string::npos) << diags;
  EXPECT_EQ(diags.find("SECRETHASH"), std::string::npos) << diags;
  EXPECT_EQ(diags.find("root:"), std::string::npos) << diags;

  // Relative paths that climb out are the same.
  diags = DiagsOf(Scenario("imports: [../outside/shadow]\n"), Path());
  EXPECT_NE(diags.find("is outside the directories"), std::string::npos) << diags;
  EXPECT_EQ(diags.find("SECRETHASH"), std::string::npos) << diags;
}

TEST_F(ConfinementTest, SymlinkLeadingOutIsRefused) {
  std::string diags = DiagsOf(Scenario("imports: [frags/link.yaml]\n"), Path());
  EXPECT_NE(diags.find("leads (through a symlink) outside"), std::string::npos) << diags;
  EXPECT_EQ(diags.find("SECRETHASH"), std::string::npos) << diags;
}

TEST_F(ConfinementTest, InsideAndExplicitlyAllowedDirectoriesAreRead) {
  EXPECT_EQ(DiagsOf(Scenario("imports: [frags/ok.yaml]\n"), Path()), "");
  std::string yaml = Scenario("imports: [../outside/shared.yaml]\n");
  EXPECT_NE(DiagsOf(yaml, Path()), "");
  ScenarioOptions allowed{.file_roots = {(root_ / "outside").string()}};
  EXPECT_EQ(DiagsOf(yaml, Path(), allowed), "");
}

TEST_F(ConfinementTest, ReferenceImagesAreConfinedToo) {
  std::string yaml =
      "name: t\nsteps:\n  - visual: {reference: ../outside/shadow}\n  - visual: {reference: "
      "frags/x.png}\n";
  std::string diags = DiagsOf(yaml, Path());
  EXPECT_NE(diags.find("s.yaml:3:25: steps[0].visual.reference: reference image"),
            std::string::npos)
      << diags;
  EXPECT_EQ(diags.find("steps[1]"), std::string::npos) << diags;
}

}  // namespace
}  // namespace mosdat

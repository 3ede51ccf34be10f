// `--test NAME` without a [[test]] NAME: the scenario file is looked up as the original
// mOSdat did (the VM's folder, then `linux` for Linux VMs, then the tests folder), per
// VM, and a name found nowhere says where it was looked for.
#include "core/test_resolution.h"

#include <set>
#include <string>
#include <vector>

#include "core/config_parser.h"
#include "gtest/gtest.h"

namespace mosdat {
namespace {

Config Parse(std::string_view text, std::string_view file = "/srv/qa/examples/c.toml") {
  Diagnostics diagnostics;
  Config config = ParseConfig(text, file, &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  return config;
}

constexpr std::string_view kVms = R"([app]
name = "x"
[[vm]]
name = "ubuntu"
provider = "local"
[[vm]]
name = "fedora"
provider = "local"
[[vm]]
name = "win"
provider = "local"
os_type = "windows"
[[test]]
name = "declared"
scenario = "declared.yaml"
)";

std::function<bool(const std::string&)> Existing(std::set<std::string> files) {
  return [files = std::move(files)](const std::string& path) { return files.contains(path); };
}

TEST(TestResolutionTest, DefaultFoldersAreTheOriginalsNextToTheConfigThenOneUp) {
  Config config = Parse(kVms);
  EXPECT_EQ(TestsDirs(config),
            (std::vector<std::string>{"/srv/qa/examples/shared/scenarios/functional",
                                      "/srv/qa/shared/scenarios/functional"}));
  Config with_dir = Parse(std::string(kVms) + "[functional]\ntests_dir = \"../tests\"\n");
  EXPECT_EQ(TestsDirs(with_dir), (std::vector<std::string>{"/srv/qa/tests"}));
  EXPECT_EQ(
      ScenarioCandidates(with_dir, with_dir.vms[0], "login"),
      (std::vector<std::string>{"/srv/qa/tests/ubuntu/login.yaml", "/srv/qa/tests/linux/login.yaml",
                                "/srv/qa/tests/login.yaml"}));
  // Windows variants are explicit: no `linux` folder.
  EXPECT_EQ(ScenarioCandidates(with_dir, with_dir.vms[2], "login"),
            (std::vector<std::string>{"/srv/qa/tests/win/login.yaml", "/srv/qa/tests/login.yaml"}));
}

TEST(TestResolutionTest, EachVmRunsTheFirstFileFoundAndVmsShareTests) {
  Config config = Parse(std::string(kVms) + "[functional]\ntests_dir = \"/t\"\n");
  ASSERT_TRUE(AddTestsFromScenarioFiles(
                  &config, {"login", "declared"}, {},
                  Existing({"/t/ubuntu/login.yaml", "/t/linux/login.yaml", "/t/login.yaml"}))
                  .ok());
  ASSERT_EQ(config.tests.size(), 4u);  // "declared" is a [[test]]: left as it is
  EXPECT_EQ(config.tests[1].name, "login");
  EXPECT_EQ(config.tests[1].scenario, "/t/ubuntu/login.yaml");
  EXPECT_EQ(config.tests[1].vms, (std::vector<std::string>{"ubuntu"}));
  EXPECT_EQ(config.tests[1].allow_files_from, (std::vector<std::string>{"/t"}));
  EXPECT_EQ(config.tests[2].scenario, "/t/linux/login.yaml");
  EXPECT_EQ(config.tests[2].vms, (std::vector<std::string>{"fedora"}));
  EXPECT_EQ(config.tests[3].scenario, "/t/login.yaml");
  EXPECT_EQ(config.tests[3].vms, (std::vector<std::string>{"win"}));
  EXPECT_FALSE(config.tests[3].IsSmoke());

  // --vm narrows the VMs looked up; two VMs finding the same file share one test.
  Config narrowed = Parse(std::string(kVms) + "[functional]\ntests_dir = \"/t\"\n");
  ASSERT_TRUE(AddTestsFromScenarioFiles(&narrowed, {"login"}, {"fedora", "ubuntu"},
                                        Existing({"/t/linux/login.yaml"}))
                  .ok());
  ASSERT_EQ(narrowed.tests.size(), 2u);
  EXPECT_EQ(narrowed.tests[1].vms, (std::vector<std::string>{"ubuntu", "fedora"}));
}

TEST(TestResolutionTest, ANameFoundNowhereListsThePlacesAndTheTests) {
  Config config = Parse(std::string(kVms) + "[functional]\ntests_dir = \"/t\"\n");
  absl::Status status = AddTestsFromScenarioFiles(&config, {"login", "a/b"}, {"win", "ubuntu"},
                                                  Existing({"/t/linux/login.yaml"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "--test \"login\": no [[test]] is named so ([[test]] names: declared), and no "
            "scenario file login.yaml was found for VM \"win\" (looked at: /t/win/login.yaml, "
            "/t/login.yaml)\n"
            "--test \"a/b\": no [[test]] is named so ([[test]] names: declared), and it cannot "
            "name a scenario file (letters, digits, \"_\", \".\" and \"-\" only)");
  EXPECT_EQ(config.tests.size(), 1u);  // nothing added when something is missing
}

}  // namespace
}  // namespace mosdat

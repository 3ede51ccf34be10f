// ScenarioDraft: what the Author Workbench builds is YAML the runner's parser accepts,
// with strings that look like other types kept as strings; bad steps are refused.
#include "live/scenario_draft.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/diagnostics.h"

namespace mosdat {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(ScenarioDraftTest, TheExportParsesBackToTheSameSteps) {
  ScenarioDraft draft;
  ASSERT_TRUE(draft.Append({{"click", {{"x", 27}, {"y", 407}}}, {"label", "tick it"}}).ok());
  ASSERT_TRUE(draft.Append({{"type", "yes"}}).ok());  // not a YAML boolean
  ASSERT_TRUE(draft.Append({{"key", "ctrl+a"}}).ok());
  const std::string tricky = "line: \"quoted\" # not a comment\n- and: [not a list]";
  ASSERT_TRUE(draft.Append({{"type", tricky}}).ok());
  absl::StatusOr<std::string> yaml = draft.ExportYaml("my-flow", "made here");
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  Diagnostics diagnostics;
  Scenario scenario = ParseScenario(*yaml, "my-flow.yaml", {}, &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus() << "\n" << *yaml;
  EXPECT_EQ(scenario.name, "my-flow");
  ASSERT_EQ(scenario.steps.size(), 4u);
  EXPECT_EQ(std::get<TypeStep>(scenario.steps[1].kind).text, "yes");
  EXPECT_EQ(std::get<TypeStep>(scenario.steps[3].kind).text, tricky);
}

TEST(ScenarioDraftTest, ValidateNamesTheProblemsWithTheirPlace) {
  ScenarioDraft draft;
  EXPECT_THAT(draft.Validate("empty", {}), ::testing::ElementsAre(HasSubstr("at least one step")));
  ASSERT_TRUE(draft.Append({{"clik", {{"x", 1}, {"y", 2}}}}).ok());
  std::vector<std::string> problems = draft.Validate("typo", {});
  ASSERT_FALSE(problems.empty());
  EXPECT_THAT(problems[0], HasSubstr("typo.yaml:"));
  EXPECT_THAT(problems[0], HasSubstr("click"));  // the suggestion
}

TEST(ScenarioDraftTest, BadStepsAndNamesAreRefused) {
  ScenarioDraft draft;
  EXPECT_FALSE(draft.Append(json::array()).ok());
  EXPECT_FALSE(draft.Append(json::object()).ok());
  EXPECT_FALSE(draft.Append("click").ok());
  EXPECT_FALSE(draft.Append({{"type", std::string(ScenarioDraft::kMaxStepBytes, 'x')}}).ok());
  EXPECT_FALSE(draft.Replace(json::array({{{"key", "a"}}, 5})).ok());
  EXPECT_TRUE(draft.steps().empty());  // unchanged by refusals
  for (const char* name : {"", "../x", "a b", "x/y"}) {
    EXPECT_FALSE(draft.ExportYaml(name).ok()) << name;
  }
  for (size_t i = 0; i < ScenarioDraft::kMaxSteps; ++i)
    ASSERT_TRUE(draft.Append({{"key", "a"}}).ok());
  EXPECT_FALSE(draft.Append({{"key", "a"}}).ok());
}

}  // namespace
}  // namespace mosdat

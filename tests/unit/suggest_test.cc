#include "core/suggest.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mosdat {
namespace {

TEST(SuggestTest, SuggestsLikelyTypos) {
  std::vector<std::string> words = {"click", "label", "launch", "verify", "wait_for"};
  EXPECT_EQ(ClosestName("clik", words), "click");
  EXPECT_EQ(ClosestName("lable", words), "label");  // transposition counts once
  EXPECT_EQ(ClosestName("Verify", words), "verify");
  EXPECT_EQ(ClosestName("waitfor", words), "wait_for");
  EXPECT_EQ(ClosestName("xyz", words), "");
  EXPECT_EQ(ClosestName("", words), "");
}

// TOML and YAML errors share one rule, so a typo is suggested (or not) the same way in
// a config and in a scenario.
TEST(SuggestTest, OneRuleForConfigAndScenarioNames) {
  constexpr std::string_view kConfigKeys[] = {"vm", "ssh_key", "process_name", "fedora", "tab"};
  EXPECT_EQ(ClosestName("vms", kConfigKeys), "vm");
  EXPECT_EQ(ClosestName("ssh key", kConfigKeys), "ssh_key");
  EXPECT_EQ(ClosestName("proces_name", kConfigKeys), "process_name");
  EXPECT_EQ(ClosestName("fedroa", kConfigKeys), "fedora");
  EXPECT_EQ(ClosestName("ab", kConfigKeys), "tab");
  EXPECT_EQ(ClosestName("nope", std::vector<std::string>{"home"}), "");  // two edits in four
  EXPECT_EQ(ClosestName("x", std::vector<std::string>{"y"}), "");        // every letter changed
  EXPECT_EQ(ClosestName(std::string(65, 'a'), std::vector<std::string>{std::string(65, 'a')}), "");
}

TEST(SuggestTest, EditDistanceIgnoresCaseAndCountsTranspositionsOnce) {
  EXPECT_EQ(EditDistance("Label", "lable"), 1u);
  EXPECT_EQ(EditDistance("abc", "abc"), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace mosdat

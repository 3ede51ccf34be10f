// Peers' JSON is checked for depth before anything copies it (copying recurses).
#include "core/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace mosdat {
namespace {

TEST(JsonDepthTest, CountsNestingWithoutRecursing) {
  EXPECT_TRUE(JsonDepthWithin(nlohmann::json(3), 0));
  EXPECT_TRUE(JsonDepthWithin(nlohmann::json::parse(R"({"a": [1, {"b": 2}]})"), 3));
  EXPECT_FALSE(JsonDepthWithin(nlohmann::json::parse(R"({"a": [1, {"b": 2}]})"), 2));
  // Deep enough to overflow a stack if it were walked recursively, or copied.
  const int depth = 200000;
  nlohmann::json deep =
      nlohmann::json::parse(std::string(depth, '[') + std::string(depth, ']'), nullptr, false);
  ASSERT_TRUE(deep.is_array());
  EXPECT_FALSE(JsonDepthWithin(deep));
  EXPECT_TRUE(JsonDepthWithin(deep, depth));
}

TEST(JsonDepthTest, PeerJsonTooDeepIsDiscardedLikeInvalidJson) {
  EXPECT_EQ(ParsePeerJson(R"({"a": [1]})")["a"][0], 1);
  EXPECT_TRUE(ParsePeerJson("{not json").is_discarded());
  EXPECT_TRUE(ParsePeerJson(std::string(300000, '[') + std::string(300000, ']')).is_discarded());
  EXPECT_TRUE(ParsePeerJson("[[[1]]]", 2).is_discarded());
  EXPECT_FALSE(ParsePeerJson("[[[1]]]", 3).is_discarded());
}

}  // namespace
}  // namespace mosdat

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

}  // namespace
}  // namespace mosdat

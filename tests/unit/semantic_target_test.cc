// The step the workbench suggests for an input: by its accessible target when one was
// found (an atspi step clicks the object's centre), else by the OCR word, else at the
// coordinates — and only a click becomes an atspi step (it has no hover or right click).
#include "live/semantic_target.h"

#include <gtest/gtest.h>

namespace mosdat {
namespace {

using nlohmann::json;

TEST(SemanticTargetTest, TheBestTargetWinsForEachAction) {
  const json query = {{"role", "check box"}, {"name", "checkbutton"}, {"index", 1}};
  const json both = {{"atspi", query}, {"text", "checkbutton"}};
  EXPECT_EQ(StepForTarget("click", both, 27, 407), json({{"atspi", query}}));
  EXPECT_EQ(StepForTarget("hover", both, 27, 407), json({{"hover", "checkbutton"}}));
  EXPECT_EQ(StepForTarget("right_click", {{"atspi", query}, {"text", nullptr}}, 27, 407),
            json({{"right_click", {{"x", 27}, {"y", 407}}}}));
  EXPECT_EQ(StepForTarget("click", {{"atspi", nullptr}, {"text", "Save"}}, 1, 2),
            json({{"click", "Save"}}));
  EXPECT_EQ(StepForTarget("double_click", json::object(), 5, 6),
            json({{"double_click", {{"x", 5}, {"y", 6}}}}));
}

}  // namespace
}  // namespace mosdat

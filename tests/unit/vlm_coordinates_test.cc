// Tests for the vlm-gateway's coordinate conventions: which convention a model uses, the
// Qwen smart resize, and mapping a model's point to framebuffer pixels.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vlm-gateway/coordinates.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

TEST(VlmCoordinatesTest, ConfigWinsOverTheTable) {
  EXPECT_EQ(ConventionFor("qwen2.5-vl-7b", VlmCoordinates::kNormalized1000).kind,
            VlmCoordinates::kNormalized1000);
  EXPECT_EQ(ConventionFor("anything", VlmCoordinates::kPixels).kind, VlmCoordinates::kPixels);
  EXPECT_EQ(ConventionFor("anything", VlmCoordinates::kPixels).decided_by, "config");
}

TEST(VlmCoordinatesTest, AutoUsesTheModelTable) {
  struct Case {
    const char* model;
    VlmCoordinates kind;
  } cases[] = {
      {"Qwen/Qwen2.5-VL-7B-Instruct", VlmCoordinates::kPixels},
      {"qwen2.5vl:7b", VlmCoordinates::kPixels},  // Ollama's spelling
      {"Qwen2_5_VL-72B-AWQ", VlmCoordinates::kPixels},
      {"ByteDance-Seed/UI-TARS-1.5-7B", VlmCoordinates::kPixels},
      {"Hcompany/Holo1-7B", VlmCoordinates::kPixels},
      {"Qwen/Qwen2-VL-7B-Instruct", VlmCoordinates::kNormalized1000},
      {"Qwen/Qwen3-VL-8B-Instruct", VlmCoordinates::kNormalized1000},
      {"bytedance-research/UI-TARS-7B-SFT", VlmCoordinates::kNormalized1000},
      {"zai-org/GLM-4.5V", VlmCoordinates::kNormalized1000},
      {"my-custom-vision-model", VlmCoordinates::kNormalized1000},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ConventionFor(c.model, VlmCoordinates::kAuto).kind, c.kind) << c.model;
  }
  EXPECT_EQ(ConventionFor("my-model", VlmCoordinates::kAuto).decided_by, "default");
  EXPECT_THAT(ConventionFor("qwen2.5vl:7b", VlmCoordinates::kAuto).decided_by,
              HasSubstr("qwen2.5-vl"));
}

TEST(VlmCoordinatesTest, SmartResizeMatchesQwen) {
  // Values from qwen_vl_utils.smart_resize with the same budgets.
  ResizePolicy vllm{.factor = 28, .min_pixels = 3136, .max_pixels = 12845056};
  EXPECT_EQ(SmartResize({1280, 800}, vllm), (ImageSize{1288, 812}));
  EXPECT_EQ(SmartResize({1920, 1080}, vllm), (ImageSize{1932, 1092}));
  ResizePolicy ollama;  // 28 px, at most 1280 * 28 * 28
  EXPECT_EQ(SmartResize({1280, 800}, ollama), (ImageSize{1260, 784}));
  EXPECT_EQ(SmartResize({1920, 1080}, ollama), (ImageSize{1316, 728}));
  // Already on the grid and within budget: unchanged.
  EXPECT_EQ(SmartResize({1260, 784}, ollama), (ImageSize{1260, 784}));
  // Tiny images grow to the minimum.
  EXPECT_EQ(SmartResize({20, 20}, ollama), (ImageSize{56, 56}));
}

TEST(VlmCoordinatesTest, MapsNormalizedPoints) {
  CoordinateConvention normalized = ConventionFor("m", VlmCoordinates::kNormalized1000);
  absl::StatusOr<PixelPoint> p = ToFramebuffer(500, 250, {1280, 800}, normalized);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->x, 640);
  EXPECT_EQ(p->y, 200);
  // The far edge maps to the last pixel, not one past it.
  p = ToFramebuffer(1000, 1000, {1280, 800}, normalized);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->x, 1279);
  EXPECT_EQ(p->y, 799);
}

TEST(VlmCoordinatesTest, MapsPixelsOfTheResizedImageBack) {
  CoordinateConvention pixels = ConventionFor("qwen2.5-vl", VlmCoordinates::kAuto);
  ASSERT_EQ(SentImageSize({1280, 800}, pixels), (ImageSize{1260, 784}));
  absl::StatusOr<PixelPoint> p = ToFramebuffer(630, 392, {1280, 800}, pixels);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->x, 640);
  EXPECT_EQ(p->y, 400);
  p = ToFramebuffer(1260, 784, {1280, 800}, pixels);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->x, 1279);
  EXPECT_EQ(p->y, 799);
}

TEST(VlmCoordinatesTest, RejectsPointsOutsideTheImage) {
  CoordinateConvention normalized = ConventionFor("m", VlmCoordinates::kNormalized1000);
  CoordinateConvention pixels = ConventionFor("m", VlmCoordinates::kPixels);
  for (auto [x, y] : {std::pair{1001.0, 5.0}, {5.0, -1.0}, {5000.0, 5000.0}}) {
    absl::StatusOr<PixelPoint> p = ToFramebuffer(x, y, {1280, 800}, normalized);
    ASSERT_FALSE(p.ok()) << x << "," << y;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_THAT(p.status().message(), HasSubstr("outside the image"));
    EXPECT_THAT(p.status().message(), HasSubstr("0..1000"));
  }
  // 1270 px is inside the real screen but outside the 1260 px image the model saw.
  absl::StatusOr<PixelPoint> p = ToFramebuffer(1270, 10, {1280, 800}, pixels);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("0..1260"));
  EXPECT_FALSE(ToFramebuffer(std::nan(""), 1, {1280, 800}, pixels).ok());
}

}  // namespace
}  // namespace mosdat

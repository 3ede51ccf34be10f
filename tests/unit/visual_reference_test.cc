// Visual references: sidecar parsing with exact errors, blank references refused, and
// matching that honours exclude areas and stays colour-aware.
#include "core/visual_reference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/visual_match.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

Frame Filled(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  Frame f;
  f.width = width;
  f.height = height;
  f.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < f.rgb.size(); i += 3) {
    f.rgb[i] = r;
    f.rgb[i + 1] = g;
    f.rgb[i + 2] = b;
  }
  return f;
}

void Paint(Frame* f, const Rect& r, uint8_t red, uint8_t green, uint8_t blue) {
  for (int y = r.y; y < r.y + r.height; ++y) {
    for (int x = r.x; x < r.x + r.width; ++x) {
      uint8_t* p = &f->rgb[(static_cast<size_t>(y) * f->width + x) * 3];
      p[0] = red;
      p[1] = green;
      p[2] = blue;
    }
  }
}

// A 40x20 "button": grey with a dark bar and a coloured square.
Frame Button() {
  Frame f = Filled(40, 20, 200, 200, 200);
  Paint(&f, {4, 8, 24, 4}, 30, 30, 30);
  Paint(&f, {30, 4, 6, 6}, 220, 40, 40);
  return f;
}

std::string Png(const Frame& f) { return *EncodePng(f); }

TEST(VisualReferenceTest, ParsesTheSidecar) {
  absl::StatusOr<VisualReference> ref =
      ParseReference("refs/b.png", Png(Button()),
                     R"({"captured_at": {"x": 5, "y": 6, "width": 40, "height": 20},
          "exclude": [{"x": 0, "y": 0, "width": 10, "height": 5}], "threshold": 0.9})");
  ASSERT_TRUE(ref.ok()) << ref.status();
  ASSERT_TRUE(ref->captured_at.has_value());
  EXPECT_EQ(ref->captured_at->x, 5);
  ASSERT_EQ(ref->exclude.size(), 1u);
  EXPECT_EQ(ref->exclude[0].width, 10);
  EXPECT_EQ(ref->threshold, 0.9);
  // And it round-trips through SidecarJson.
  absl::StatusOr<VisualReference> again = ParseReference("b", Png(Button()), SidecarJson(*ref));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->exclude[0].height, 5);
  EXPECT_EQ(ReferenceSidecarPath("refs/b.png"), "refs/b.json");
}

struct BadSidecar {
  std::string json;
  std::string message;
};

class BadSidecarTest : public ::testing::TestWithParam<BadSidecar> {};

TEST_P(BadSidecarTest, ReportsExactly) {
  absl::StatusOr<VisualReference> ref = ParseReference("r.png", Png(Button()), GetParam().json);
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ref.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Sidecars, BadSidecarTest,
    ::testing::Values(
        BadSidecar{"[1]", "r.json: not a JSON object"},
        BadSidecar{"{\"treshold\": 1}",
                   "r.json: unknown key \"treshold\" (known: captured_at, exclude, threshold)"},
        BadSidecar{"{\"threshold\": 1.5}", "r.json: threshold: expected a number in (0, 1]"},
        BadSidecar{"{\"exclude\": {}}", "r.json: exclude: expected a list"},
        BadSidecar{"{\"exclude\": [{\"x\": 0, \"y\": 0, \"width\": 5}]}",
                   "r.json: exclude[0].height: expected an integer"},
        BadSidecar{"{\"exclude\": [{\"x\": 30, \"y\": 0, \"width\": 20, \"height\": 5}]}",
                   "r.json: exclude[0] (30,0 20x5) is not inside the 40x20 image"},
        BadSidecar{"{\"captured_at\": {\"x\": 0, \"y\": 0, \"width\": 0, \"height\": 5}}",
                   "r.json: captured_at: width and height must be > 0"},
        BadSidecar{"{\"exclude\": [{\"x\": 0, \"y\": 0, \"width\": 40, \"height\": 20}]}",
                   "reference r.png is blank: every pixel is excluded"}));

TEST(VisualReferenceTest, RefusesABlankReference) {
  absl::StatusOr<VisualReference> flat =
      ParseReference("flat.png", Png(Filled(30, 10, 9, 9, 9)), "");
  ASSERT_FALSE(flat.ok());
  EXPECT_THAT(flat.status().message(),
              HasSubstr("reference flat.png is blank: it is one flat colour (#090909)"));
  // Excluding the only detail of a button leaves a blank reference too.
  Frame dot = Filled(30, 10, 200, 200, 200);
  Paint(&dot, {2, 2, 3, 3}, 0, 0, 0);
  EXPECT_TRUE(BlankReferenceReason(dot, {}).empty());
  EXPECT_FALSE(BlankReferenceReason(dot, {{0, 0, 10, 10}}).empty());
}

TEST(VisualMatchTest, ExcludeAreasAreIgnoredAndColourStillCounts) {
  Frame screen = Filled(200, 100, 240, 240, 240);
  Frame button = Button();
  // Paste the button at (50, 30) with a different "label" where the bar is.
  for (int y = 0; y < button.height; ++y) {
    for (int x = 0; x < button.width; ++x) {
      const uint8_t* p = button.Pixel(x, y);
      uint8_t* q = &screen.rgb[(static_cast<size_t>(30 + y) * screen.width + 50 + x) * 3];
      q[0] = p[0];
      q[1] = p[1];
      q[2] = p[2];
    }
  }
  Paint(&screen, {54, 38, 24, 4}, 250, 250, 0);  // the bar changed colour on screen

  VisualMatch strict = FindReference(screen, button, {}, std::nullopt, 0.99);
  VisualMatch masked = FindReference(screen, button, {{4, 8, 24, 4}}, std::nullopt, 0.99);
  EXPECT_LT(strict.score, 0.99);
  EXPECT_DOUBLE_EQ(masked.score, 1.0);
  EXPECT_EQ(masked.where.x, 50);
  EXPECT_EQ(masked.where.y, 30);

  // The red square turned blue: same grey levels would not tell, colour does.
  Frame blue_square = button;
  Paint(&blue_square, {30, 4, 6, 6}, 40, 40, 220);
  VisualMatch wrong =
      FindReference(screen, blue_square, {{4, 8, 24, 4}}, Rect{50, 30, 40, 20}, 0.99);
  EXPECT_LT(wrong.score, 0.99);
}

TEST(VisualMatchTest, WholeFrameSearchFindsTheExactPlaceAtOddOffsets) {
  // A textured 1280x800 screen (deterministic noise) and needles cut at odd offsets:
  // the coarse-to-fine search must return the full-resolution place.
  Frame screen = Filled(1280, 800, 0, 0, 0);
  uint32_t state = 12345;
  for (uint8_t& byte : screen.rgb) {
    state = state * 1103515245u + 12345u;
    byte = static_cast<uint8_t>(state >> 16);
  }
  for (Rect where : {Rect{333, 517, 161, 43}, Rect{1, 1, 64, 64}, Rect{1100, 757, 9, 9}}) {
    Frame needle = Crop(screen, where);
    VisualMatch found = FindReference(screen, needle, {}, std::nullopt, 0.99);
    EXPECT_GT(found.score, 0.999) << where.x;  // 1 up to the FFT rounding of TM_SQDIFF
    EXPECT_EQ(found.where.x, where.x);
    EXPECT_EQ(found.where.y, where.y);
  }
}

}  // namespace
}  // namespace mosdat

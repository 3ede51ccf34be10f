// The whole-frame search against a brute-force full-resolution cv::matchTemplate: on
// random frames, and on frames built to fool a coarse-to-fine search (decoys that win
// at quarter size and lose at full size, 1-pixel stripes, needles at odd offsets).
#include "core/visual_match.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

namespace mosdat {
namespace {

cv::Mat AsMat(const Frame& frame) {
  return cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
}

Frame Noise(int width, int height, uint32_t seed) {
  Frame f;
  f.width = width;
  f.height = height;
  f.rgb.resize(static_cast<size_t>(width) * height * 3);
  std::mt19937 random(seed);
  for (uint8_t& byte : f.rgb) byte = static_cast<uint8_t>(random());
  return f;
}

void Paste(Frame& screen, const Frame& image, int at_x, int at_y, int add = 0) {
  if (at_x + image.width > screen.width || at_y + image.height > screen.height) {
    ADD_FAILURE() << "pasting outside the screen";
    return;
  }
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int value = image.Pixel(x, y)[c] + add;
        screen.rgb[(static_cast<size_t>(at_y + y) * screen.width + at_x + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(value, 0, 255));
      }
    }
  }
}

// Exact squared difference of `needle` at (x, y), over the pixels `mask` keeps.
int64_t ExactSsd(const Frame& screen, const Frame& needle, const cv::Mat& mask, int x, int y) {
  int64_t sum = 0;
  for (int ty = 0; ty < needle.height; ++ty) {
    for (int tx = 0; tx < needle.width; ++tx) {
      if (!mask.empty() && mask.at<uint8_t>(ty, tx) == 0) continue;
      for (int c = 0; c < 3; ++c) {
        const int d = needle.Pixel(tx, ty)[c] - screen.Pixel(x + tx, y + ty)[c];
        sum += d * d;
      }
    }
  }
  return sum;
}

// FindReference over the whole frame must land on a place whose exact difference is
// the brute-force minimum (ties may go to an identical copy).
void ExpectExact(const Frame& screen, const Frame& needle, const std::vector<Rect>& exclude,
                 double good_enough = 0) {
  cv::Mat mask;
  if (!exclude.empty()) {
    mask = cv::Mat(needle.height, needle.width, CV_8UC1, cv::Scalar(255));
    for (const Rect& r : exclude) mask(cv::Rect(r.x, r.y, r.width, r.height)).setTo(0);
  }
  cv::Mat scores;
  cv::matchTemplate(AsMat(screen), AsMat(needle), scores, cv::TM_SQDIFF, mask);
  cv::Point brute;
  cv::minMaxLoc(scores, nullptr, nullptr, &brute);
  const int64_t brute_ssd = ExactSsd(screen, needle, mask, brute.x, brute.y);

  VisualMatch found = FindReference(screen, needle, exclude, std::nullopt, good_enough);
  const int64_t found_ssd = ExactSsd(screen, needle, mask, found.where.x, found.where.y);
  EXPECT_LE(found_ssd, brute_ssd) << "brute force at (" << brute.x << "," << brute.y << "), found ("
                                  << found.where.x << "," << found.where.y << ")";
  // matchTemplate's FFT rounding may pick a near-tie; the exact minimum is ours.
  EXPECT_EQ(found_ssd, brute_ssd) << "at (" << found.where.x << "," << found.where.y << ")";
  const double counted = mask.empty() ? needle.width * needle.height : cv::countNonZero(mask);
  EXPECT_NEAR(found.score, 1.0 - std::sqrt(brute_ssd / (255.0 * 255.0 * 3 * counted)), 1e-9);
}

TEST(VisualMatchExactTest, RandomFramesAndOddOffsets) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    Frame screen = Noise(331, 217, seed);
    std::mt19937 random(seed * 7919);
    for (int round = 0; round < 3; ++round) {
      const int width = 9 + static_cast<int>(random() % 60);
      const int height = 9 + static_cast<int>(random() % 30);
      const int x = static_cast<int>(random() % (screen.width - width));
      const int y = static_cast<int>(random() % (screen.height - height));
      Frame needle = Crop(screen, {x, y, width, height});
      // Disturb the copy on screen so the best difference is not zero.
      Paste(screen, needle, x, y, static_cast<int>(random() % 9) - 4);
      SCOPED_TRACE(testing::Message() << "seed " << seed << " needle " << width << "x" << height
                                      << " at (" << x << "," << y << ")");
      ExpectExact(screen, needle, {});
      ExpectExact(screen, needle, {{2, 3, width / 2, height / 3}});
    }
  }
}

// A needle of 1-pixel stripes; decoys where the stripes are replaced by their average
// look identical once halved twice, while the true copy is a few levels brighter
// (which halving keeps). More decoys than the coarse pass refines.
TEST(VisualMatchExactTest, DecoysThatWinAtQuarterSizeLoseAtFullSize) {
  Frame needle = Noise(48, 24, 99);
  Frame decoy = needle;
  for (int y = 0; y < needle.height; ++y) {
    for (int x = 0; x < needle.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const uint8_t stripe = (x % 2 == 0) ? 20 : 220;  // thin 1-px vertical lines
        needle.rgb[(static_cast<size_t>(y) * needle.width + x) * 3 + c] = stripe;
        decoy.rgb[(static_cast<size_t>(y) * needle.width + x) * 3 + c] = 120;
      }
    }
  }
  Frame screen = Noise(400, 300, 5);
  for (int i = 0; i < 9; ++i) Paste(screen, decoy, 10 + (i % 3) * 120, 10 + (i / 3) * 90);
  Paste(screen, needle, 331, 257, 6);  // odd offsets, slightly off
  ExpectExact(screen, needle, {});
  ExpectExact(screen, needle, {}, 0.9);  // the true copy scores above 0.9
  VisualMatch found = FindReference(screen, needle, std::nullopt, 0.9);
  EXPECT_EQ(found.where.x, 331);
  EXPECT_EQ(found.where.y, 257);
  // Horizontal 1-px lines and an exclude area across them.
  Frame rows = needle;
  for (int y = 0; y < rows.height; ++y) {
    for (int x = 0; x < rows.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        rows.rgb[(static_cast<size_t>(y) * rows.width + x) * 3 + c] = (y % 2) ? 10 : 240;
      }
    }
  }
  Paste(screen, rows, 7, 263, -5);
  ExpectExact(screen, rows, {{10, 0, 8, 24}});
}

// A needle on a flat screen next to near-copies shifted by one pixel, and a copy that
// differs in a single pixel: the exact place wins.
TEST(VisualMatchExactTest, OnePixelDetailsDecide) {
  Frame screen = Noise(260, 180, 11);
  Frame needle = Noise(33, 17, 12);
  Frame near = needle;
  near.rgb[(5 * needle.width + 7) * 3] ^= 0x80;  // one pixel off
  Paste(screen, near, 20, 20);
  Paste(screen, needle, 151, 97);
  Paste(screen, near, 152, 20);
  ExpectExact(screen, needle, {});
  VisualMatch found = FindReference(screen, needle, std::nullopt, 0.99);
  EXPECT_EQ(found.where.x, 151);
  EXPECT_EQ(found.where.y, 97);
  EXPECT_DOUBLE_EQ(found.score, 1.0);
  // Near the expected place first: the one-pixel-off copy there scores below 1, so the
  // whole frame is searched when 1 is asked for, and the local answer kept when not.
  VisualMatch strict = FindReference(screen, needle, Rect{20, 20, 33, 17}, 1.0);
  EXPECT_EQ(strict.where.x, 151);
  VisualMatch loose = FindReference(screen, needle, Rect{20, 20, 33, 17}, 0.9);
  EXPECT_EQ(loose.where.x, 20);
  EXPECT_GT(loose.score, 0.9);
}

}  // namespace
}  // namespace mosdat

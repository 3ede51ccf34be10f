#include "core/visual_match.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

namespace mosdat {
namespace {

constexpr int kChannels = 3;

cv::Mat AsMat(const Frame& frame) {
  return cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
}

// Sum of (a[i] - b[i])^2 over n bytes, exactly (each int32 lane adds n / 4 squares of
// at most 255^2: exact for n up to 132000 bytes, rows of 44000 pixels).
int64_t SquaredDifference(const uint8_t* a, const uint8_t* b, int n) {
  int i = 0;
  int64_t sum = 0;
#if CV_SIMD128
  cv::v_int32x4 acc = cv::v_setzero_s32();
  for (; i + 16 <= n; i += 16) {
    cv::v_uint8x16 d = cv::v_absdiff(cv::v_load(a + i), cv::v_load(b + i));
    cv::v_uint16x8 low, high;
    cv::v_expand(d, low, high);
    cv::v_int16x8 l = cv::v_reinterpret_as_s16(low), h = cv::v_reinterpret_as_s16(high);
    acc = cv::v_dotprod(l, l, acc);
    acc = cv::v_dotprod(h, h, acc);
  }
  sum = cv::v_reduce_sum(acc);
#endif
  for (; i < n; ++i) {
    const int d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

// One run of counted reference pixels within a row: row y, columns [x0, x1).
struct Run {
  int y, x0, x1;
};

// The reference as the matcher uses it: its counted pixels (all but the exclude
// areas) as disjoint rectangles and as row runs, the runs ordered so that a wrong
// place is told apart early (rows with the most detail first), and per-channel sums.
class Needle {
 public:
  Needle(const cv::Mat& image, const std::vector<Rect>& exclude) : image_(image) {
    cv::Rect whole(0, 0, image.cols, image.rows);
    if (!exclude.empty()) {
      mask_ = cv::Mat(image.rows, image.cols, CV_8UC1, cv::Scalar(255));
      for (const Rect& r : exclude) {
        cv::Rect area = cv::Rect(r.x, r.y, r.width, r.height) & whole;
        if (!area.empty()) mask_(area).setTo(0);
      }
    }
    CollectRuns();
    CollectRects();
  }

  const cv::Mat& image() const { return image_; }
  const cv::Mat& mask() const { return mask_; }  // empty when every pixel counts
  int64_t counted() const { return counted_; }
  const std::vector<cv::Rect>& rects() const { return rects_; }
  const int64_t* sums() const { return sums_; }

  // The score of a place whose squared difference is `ssd`: 1 = identical pixels.
  double Score(int64_t ssd) const {
    if (counted_ == 0) return 0;
    const double worst = 255.0 * 255.0 * kChannels * static_cast<double>(counted_);
    return 1.0 - std::sqrt(static_cast<double>(std::max<int64_t>(ssd, 0)) / worst);
  }

  // The squared colour difference with the reference's top-left corner at (x, y) of
  // `screen`, exactly; once it exceeds `limit` it stops and returns a value > limit.
  int64_t Ssd(const cv::Mat& screen, int x, int y, int64_t limit) const {
    int64_t sum = 0;
    for (const Run& run : runs_) {
      const uint8_t* a = image_.ptr<uint8_t>(run.y) + run.x0 * kChannels;
      const uint8_t* b = screen.ptr<uint8_t>(y + run.y) + (x + run.x0) * kChannels;
      sum += SquaredDifference(a, b, (run.x1 - run.x0) * kChannels);
      if (sum > limit) return sum;
    }
    return sum;
  }

 private:
  void CollectRuns() {
    std::vector<std::pair<int64_t, Run>> ranked;
    for (int y = 0; y < image_.rows; ++y) {
      const uint8_t* keep = mask_.empty() ? nullptr : mask_.ptr<uint8_t>(y);
      for (int x = 0; x < image_.cols;) {
        if (keep != nullptr && keep[x] == 0) {
          ++x;
          continue;
        }
        int end = x;
        while (end < image_.cols && (keep == nullptr || keep[end] != 0)) ++end;
        ranked.push_back({Detail(y, x, end), {y, x, end}});
        counted_ += end - x;
        x = end;
      }
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [detail, run] : ranked) {
      runs_.push_back(run);
      const uint8_t* p = image_.ptr<uint8_t>(run.y) + run.x0 * kChannels;
      for (int i = 0; i < (run.x1 - run.x0) * kChannels; ++i) sums_[i % kChannels] += p[i];
    }
  }

  // How much a run differs from its left and upper neighbours: a place off by a pixel
  // shows there first.
  int64_t Detail(int y, int x0, int x1) const {
    const uint8_t* row = image_.ptr<uint8_t>(y);
    const uint8_t* up = y > 0 ? image_.ptr<uint8_t>(y - 1) : nullptr;
    int64_t detail = 0;
    for (int i = x0 * kChannels; i < x1 * kChannels; ++i) {
      const int left = i >= kChannels ? row[i] - row[i - kChannels] : 0;
      const int above = up != nullptr ? row[i] - up[i] : 0;
      detail += left * left + above * above;
    }
    return detail;
  }

  // Counted pixels as disjoint rectangles: consecutive rows with the same runs merge.
  void CollectRects() {
    if (mask_.empty()) {
      rects_.push_back(cv::Rect(0, 0, image_.cols, image_.rows));
      return;
    }
    std::vector<std::vector<std::pair<int, int>>> rows(image_.rows);
    for (const Run& run : runs_) rows[run.y].push_back({run.x0, run.x1});
    for (auto& row : rows) std::sort(row.begin(), row.end());
    for (int y = 0; y < image_.rows;) {
      int end = y + 1;
      while (end < image_.rows && rows[end] == rows[y]) ++end;
      for (const auto& [x0, x1] : rows[y]) rects_.push_back(cv::Rect(x0, y, x1 - x0, end - y));
      y = end;
    }
  }

  cv::Mat image_, mask_;
  std::vector<Run> runs_;
  std::vector<cv::Rect> rects_;
  int64_t counted_ = 0;
  int64_t sums_[kChannels] = {0, 0, 0};
};

// The best place so far. Equal differences go to the first place in row-major order,
// as cv::minMaxLoc picks them.
struct Best {
  int64_t ssd = std::numeric_limits<int64_t>::max();
  cv::Point at{-1, -1};

  bool Before(cv::Point p) const { return p.y < at.y || (p.y == at.y && p.x < at.x); }
  // The most a place may differ and still win (it wins below it, or at it if earlier).
  int64_t Limit() const { return ssd; }
  void Offer(int64_t candidate, cv::Point p) {
    if (candidate < ssd || (candidate == ssd && Before(p))) {
      ssd = candidate;
      at = p;
    }
  }
};

// Every place with the reference's top-left corner in `corners` (frame coordinates,
// already clipped to where the reference fits), `first` first when it is one of them.
void SearchCorners(const cv::Mat& screen, const Needle& needle, const cv::Rect& corners,
                   std::optional<cv::Point> first, Best& best) {
  if (corners.empty()) return;
  if (first && corners.contains(*first)) {
    best.Offer(needle.Ssd(screen, first->x, first->y, best.Limit()), *first);
  }
  // A sum cut short exceeds best.ssd, so Offer turns it down.
  for (int y = corners.y; y < corners.y + corners.height; ++y) {
    for (int x = corners.x; x < corners.x + corners.width; ++x) {
      if (first && first->x == x && first->y == y) continue;
      best.Offer(needle.Ssd(screen, x, y, best.Limit()), {x, y});
    }
  }
}

// The corners where the reference fits entirely inside `area` of the screen.
cv::Rect CornersIn(const cv::Rect& area, const cv::Mat& reference) {
  return cv::Rect(area.x, area.y, area.width - reference.cols + 1,
                  area.height - reference.rows + 1);
}

VisualMatch ToMatch(const Needle& needle, const Best& best) {
  VisualMatch match;
  if (best.at.x < 0 || needle.counted() == 0) return match;
  match.score = needle.Score(best.ssd);
  match.where = {best.at.x, best.at.y, needle.image().cols, needle.image().rows};
  return match;
}

// Whole-frame search, coarse to fine, exact.
//
// Candidates: both images halved twice (a colour TM_SQDIFF over a full 1280x800 frame
// costs ~240 ms, at quarter size ~1/16 of that); the best few places there are matched
// exactly at full size in a small window around each. That finds the best place on any
// real screen, but not provably: halving blurs away 1-pixel detail, so a decoy can
// score best at quarter size and worse at full size.
//
// Proof that nothing better was missed: for any place p, by Cauchy-Schwarz over the n
// counted pixels of channel c,
//   sum_i (r_i - s_i)^2 >= (sum_i r_i - sum_i s_i)^2 / n,
// so SSD(p) >= LB(p) = sum_c (R_c - S_c(p))^2 / n, where R_c is the reference's channel
// sum and S_c(p) the screen's under the counted pixels at p (an integral image: four
// look-ups per counted rectangle). Every place with LB(p) <= min(best, gate) is then
// matched exactly (stopping once its running sum exceeds that), where best is the
// smallest difference found so far and gate the largest difference that still scores
// `good_enough`; any other place differs by more than the best, or scores below
// good_enough. So whenever some place scores at least good_enough, the answer is the
// full-resolution minimum of the squared difference (first in row-major order on ties),
// and otherwise the score returned is below good_enough, as the true best is (the best
// of the candidates). good_enough <= 0 makes it exact everywhere, at a cost: without a
// gate, a reference that is not on screen leaves most places to match exactly. All of
// it is integer arithmetic, so no rounding can reorder places. With the reference on
// screen the best difference is ~0 and only places of nearly its mean colour are left
// to check.
constexpr int kMaxCoarseLevels = 2;    // each level halves width and height
constexpr int kCoarseCandidates = 5;   // places refined at full size
constexpr int kMinCoarseTemplate = 8;  // a needle keeps at least this many pixels a side

void CoarseCandidates(const cv::Mat& screen, const Needle& needle, Best& best) {
  const cv::Mat& reference = needle.image();
  const cv::Rect whole(0, 0, screen.cols, screen.rows);
  int levels = 0;
  while (levels < kMaxCoarseLevels && (reference.cols >> (levels + 1)) >= kMinCoarseTemplate &&
         (reference.rows >> (levels + 1)) >= kMinCoarseTemplate) {
    ++levels;
  }
  if (levels == 0) return;  // the exact pass below covers every place
  const int scale = 1 << levels;
  cv::Mat small_screen = screen, small_reference = reference, small_mask = needle.mask();
  for (int i = 0; i < levels; ++i) {
    cv::pyrDown(small_screen, small_screen);
    cv::pyrDown(small_reference, small_reference);
    if (!small_mask.empty()) {
      // A pixel counts only if every full-size pixel under it does.
      cv::resize(small_mask, small_mask, small_reference.size(), 0, 0, cv::INTER_AREA);
      cv::threshold(small_mask, small_mask, 254, 255, cv::THRESH_BINARY);
    }
  }
  cv::Mat scores;
  if (small_mask.empty() || cv::countNonZero(small_mask) == 0) {
    cv::matchTemplate(small_screen, small_reference, scores, cv::TM_SQDIFF);
  } else {
    cv::matchTemplate(small_screen, small_reference, scores, cv::TM_SQDIFF, small_mask);
  }
  const cv::Rect fits = CornersIn(whole, reference);
  for (int candidate = 0; candidate < kCoarseCandidates; ++candidate) {
    cv::Point at;
    cv::minMaxLoc(scores, nullptr, nullptr, &at);
    // Refine around the place at full size (the halvings blur a few pixels' worth).
    cv::Rect around(at.x * scale - scale * 2, at.y * scale - scale * 2, scale * 4 + 1,
                    scale * 4 + 1);
    SearchCorners(screen, needle, around & fits, cv::Point(at.x * scale, at.y * scale), best);
    // Next candidate: somewhere else (blank out this neighbourhood).
    cv::Rect taken(at.x - small_reference.cols / 2, at.y - small_reference.rows / 2,
                   small_reference.cols, small_reference.rows);
    scores(taken & cv::Rect(0, 0, scores.cols, scores.rows))
        .setTo(std::numeric_limits<float>::max());
  }
}

// Every place whose lower bound LB(p) (above) is at most min(best, gate) is matched
// exactly; `gate` is the largest difference that still scores good_enough.
//
// One row of places at a time, so the work vectorizes: the places of a row are
// contiguous in the integral image, so each channel sum S_c is a sum of contiguous
// differences, and LB is first screened in double precision with a margin far above
// its rounding error; a place that passes is then bounded again in exact integers.
void CheckBoundedPlaces(const cv::Mat& screen, const Needle& needle, int64_t gate, Best& best) {
  const cv::Rect fits = CornersIn(cv::Rect(0, 0, screen.cols, screen.rows), needle.image());
  if (fits.empty() || needle.counted() == 0) return;
  cv::Mat integral;  // (rows + 1) x (cols + 1), sums of everything above and left
  cv::integral(screen, integral, CV_32S);
  const int64_t n = needle.counted();
  const int64_t* reference_sums = needle.sums();
  const int values = fits.width * kChannels;  // one per channel of each place in a row
  std::vector<int32_t> sums(values);          // S_c(p) for the row's places
  std::vector<double> squares(values);        // (S_c(p) - R_c)^2
  std::vector<double> reference(values);      // R_c, repeated along the row
  for (int i = 0; i < values; ++i)
    reference[i] = static_cast<double>(reference_sums[i % kChannels]);
  for (int y = 0; y < fits.height; ++y) {
    std::fill(sums.begin(), sums.end(), 0);
    for (const cv::Rect& r : needle.rects()) {
      const int32_t* top = integral.ptr<int32_t>(y + r.y) + r.x * kChannels;
      const int32_t* bottom = integral.ptr<int32_t>(y + r.y + r.height) + r.x * kChannels;
      const int w = r.width * kChannels;
      for (int i = 0; i < values; ++i) {
        sums[i] += bottom[i + w] - bottom[i] - top[i + w] + top[i];
      }
    }
    for (int i = 0; i < values; ++i) {
      const double d = static_cast<double>(sums[i]) - reference[i];
      squares[i] = d * d;
    }
    for (int x = 0; x < fits.width; ++x) {
      const int64_t limit = std::min(best.Limit(), gate);
      // LB(p) <= limit  <=>  n * LB(p) <= n * limit, both exact integers: n * LB is at
      // most 3 * (255 n)^2 and n * limit at most 3 * 255^2 n^2, below 2^63 for n < 2^25.
      if (limit < std::numeric_limits<int64_t>::max() / n) {
        const double* sq = &squares[x * kChannels];
        const double screened = static_cast<double>(limit) * static_cast<double>(n);
        if (sq[0] + sq[1] + sq[2] > screened * (1 + 1e-9) + 1) continue;
        int64_t bound = 0;
        for (int c = 0; c < kChannels; ++c) {
          const int64_t d = sums[x * kChannels + c] - reference_sums[c];
          bound += d * d;
        }
        if (bound > limit * n) continue;
      }
      const int64_t ssd = needle.Ssd(screen, fits.x + x, fits.y + y, limit);
      if (ssd <= limit) best.Offer(ssd, {fits.x + x, fits.y + y});
    }
  }
}

// The largest squared difference that scores at least `good_enough` (every difference
// when good_enough <= 0), rounded up.
int64_t Gate(const Needle& needle, double good_enough) {
  if (good_enough <= 0) return std::numeric_limits<int64_t>::max();
  const double worst = 255.0 * 255.0 * kChannels * static_cast<double>(needle.counted());
  const double off = std::max(1.0 - good_enough, 0.0);
  return static_cast<int64_t>(std::ceil(off * off * worst)) + 1;
}

}  // namespace

VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::optional<Rect>& expected, double good_enough, int margin) {
  return FindReference(frame, reference, {}, expected, good_enough, margin);
}

VisualMatch FindReference(const Frame& frame, const Frame& reference,
                          const std::vector<Rect>& exclude, const std::optional<Rect>& expected,
                          double good_enough, int margin) {
  const cv::Mat screen = AsMat(frame);
  const Needle needle(AsMat(reference), exclude);
  if (needle.counted() == 0 || reference.width > frame.width || reference.height > frame.height) {
    return {};
  }
  const cv::Rect whole(0, 0, frame.width, frame.height);
  Best best;
  if (expected.has_value()) {
    // Near the expected place: every place, the expected one first (on a match its
    // difference is ~0 and every other place stops after a row or two).
    cv::Rect near(expected->x - margin, expected->y - margin, expected->width + 2 * margin,
                  expected->height + 2 * margin);
    near &= whole;
    if (near.width >= reference.width && near.height >= reference.height) {
      SearchCorners(screen, needle, CornersIn(near, needle.image()),
                    cv::Point(expected->x, expected->y), best);
    }
    VisualMatch local = ToMatch(needle, best);
    if (local.score >= good_enough) return local;
  }
  CoarseCandidates(screen, needle, best);
  CheckBoundedPlaces(screen, needle, Gate(needle, good_enough), best);
  return ToMatch(needle, best);
}

}  // namespace mosdat

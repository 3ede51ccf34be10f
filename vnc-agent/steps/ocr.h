// OcrEngine: reading text on a captured screen with tesseract's C++ API (in process, no
// CLI), and targeting by it: "where is the text 'Save'?" answered with a box in frame
// pixels, or with an error that says what is on the screen instead.
//
// Tuned for desktop UIs: page segmentation mode 11 (sparse text) finds scattered labels
// that the default page layout misses; the frame is read 3x enlarged with local
// (Sauvola) thresholds, which also finds most greyed labels (measurements in ocr.cc);
// plain borders (a desktop around a window) are skipped; OpenMP runs serially (3-5x
// faster on two cores). Selected text and some greyed text are still missed; prefer the
// accessibility tree when the app has one, and use OCR as the fallback or cross-check.
#ifndef MOSDAT_VNC_AGENT_STEPS_OCR_H_
#define MOSDAT_VNC_AGENT_STEPS_OCR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/frame.h"

namespace tesseract {
class TessBaseAPI;
}

namespace mosdat {

// One word as tesseract read it.
struct OcrWord {
  std::string text;       // UTF-8, no whitespace
  Rect box;               // frame pixels
  double confidence = 0;  // 0..100
};

// A phrase: one or more consecutive words on one text line.
struct OcrMatch {
  std::string text;       // the words as read, joined by single spaces
  Rect box;               // union of the words' boxes, frame pixels
  double confidence = 0;  // the lowest confidence of its words, 0..100
};

// Not thread-safe: one engine serves one caller at a time (tesseract keeps the page it
// last read inside the engine). Creating one costs ~100 ms, so keep it for the session.
class OcrEngine {
 public:
  // Loads tesseract for `language` with the tessdata of Debian's tesseract-ocr-<lang>
  // packages (or $TESSDATA_PREFIX). Sets OMP_THREAD_LIMIT=1 when it is unset, and (since
  // OpenMP read the variable at program start) runs tesseract's OpenMP regions serially
  // on the calling thread while reading, unless the environment asks for threads
  // (OMP_THREAD_LIMIT other than 1, or OMP_NUM_THREADS). Page segmentation mode 11
  // (sparse text). NotFound when the language data is not installed.
  static absl::StatusOr<std::unique_ptr<OcrEngine>> Create(const std::string& language = "eng");
  ~OcrEngine();

  OcrEngine(const OcrEngine&) = delete;
  OcrEngine& operator=(const OcrEngine&) = delete;

  // Words in the frame, or only inside `region` (clipped to the frame); boxes are in
  // frame coordinates either way. Words with a negative confidence or no text are
  // dropped. InvalidArgument for an empty frame or a region outside it.
  absl::StatusOr<std::vector<OcrWord>> Words(const Frame& frame, const std::optional<Rect>& region);

  // Every occurrence of `text` (one or more words; runs of whitespace count as one
  // space). A phrase matches consecutive words on one text line. Words compare exactly
  // (case-sensitive); only when nothing matches exactly, ASCII case is ignored. An
  // empty result is not an error.
  absl::StatusOr<std::vector<OcrMatch>> Find(const Frame& frame, const std::string& text,
                                             const std::optional<Rect>& region);

  // Exactly one occurrence of `text`. NotFound when there is none (the message lists up
  // to five phrases on the screen most similar to `text`, with their boxes);
  // FailedPrecondition when there are several (the message lists every match with its
  // box and confidence, so the caller can narrow `region`).
  absl::StatusOr<OcrMatch> Locate(const Frame& frame, const std::string& text,
                                  const std::optional<Rect>& region);

 private:
  struct Line;
  explicit OcrEngine(std::unique_ptr<tesseract::TessBaseAPI> api);
  // The frame's words grouped into text lines, in reading order.
  absl::StatusOr<std::vector<Line>> ReadLines(const Frame& frame,
                                              const std::optional<Rect>& region);
  // The words of each line of ReadLines.
  absl::StatusOr<std::vector<std::vector<OcrWord>>> ReadWords(const Frame& frame,
                                                              const std::optional<Rect>& region);

  std::unique_ptr<tesseract::TessBaseAPI> api_;
  bool limit_threads_ = false;  // run OpenMP regions serially while reading
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_OCR_H_

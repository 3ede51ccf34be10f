#include "vnc-agent/steps/ocr.h"

#include <dlfcn.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/suggest.h"

namespace mosdat {

struct OcrEngine::Line {
  std::vector<OcrWord> words;
};

namespace {

// Where Debian's tesseract-ocr-<lang> packages put their data (tesseract 5).
constexpr char kDebianTessdata[] = "/usr/share/tesseract-ocr/5/tessdata";

// Measured on 1280x800 screenshots of the local target (GTK3 Adwaita, ~9 px tall text),
// counting the words a reader sees that tesseract read exactly:
//   gtk3-widget-factory (128 words): 1x Otsu 103, 1x Sauvola 116, 2x Sauvola 114,
//                                    3x Sauvola 125 (greyed labels included);
//   fixture window on a black desktop (6 words): 1x Otsu 2, 1x Sauvola 4, 2x/3x Sauvola 6.
// Tesseract's default global Otsu threshold is thrown off by a dark desktop next to a
// light window, and reads no word of a strip of grey-and-white notebook tabs (0 of 24;
// Sauvola 24). 3x Sauvola costs ~3x the time of 1x Otsu on a text-heavy screen (about
// 1.5 s instead of 0.5 s single-threaded); TrimUniformBorder keeps sparse screens cheap.
constexpr int kScale = 3;
constexpr char kSauvola[] = "2";  // tesseract::ThresholdMethod::Sauvola

// libgomp reads OMP_THREAD_LIMIT once, when it is loaded with libtesseract at program
// start, so setting the variable later has no effect in this process, and
// omp_set_num_threads(1) does not bind tesseract's `num_threads(n)` clauses. Allowing no
// active parallel level on the calling thread does: its parallel regions then run on it
// alone (measured: 0.36 s instead of 1.7 s for a 200x240 region on 2 busy cores, the
// same as OMP_THREAD_LIMIT=1 at start). The thread's own setting is restored afterwards.
// The symbols come with libtesseract's libgomp; without them (a tesseract built without
// OpenMP) there is nothing to limit.
class SerialOpenMp {
 public:
  explicit SerialOpenMp(bool enabled) {
    using GetFn = int (*)();
    static const auto set =
        reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_max_active_levels"));
    static const auto get =
        reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_max_active_levels"));
    if (!enabled || set == nullptr || get == nullptr) return;
    set_ = set;
    saved_ = get();
    set_(0);
  }
  ~SerialOpenMp() {
    if (set_ != nullptr) set_(saved_);
  }
  SerialOpenMp(const SerialOpenMp&) = delete;
  SerialOpenMp& operator=(const SerialOpenMp&) = delete;

 private:
  using SetFn = void (*)(int);
  SetFn set_ = nullptr;
  int saved_ = 1;
};

// Leptonica prints errors such as "boxClipToRectangle: box outside rectangle" while
// tesseract binarises tiles at image edges; they are harmless and nobody can act on
// them. Leptonica's threshold is process-wide; LEPT_MSG_SEVERITY, if set, wins.
void QuietLeptonica() {
  using SetSeverity = int (*)(int);
  static const auto set = reinterpret_cast<SetSeverity>(dlsym(RTLD_DEFAULT, "setMsgSeverity"));
  if (set != nullptr && std::getenv("LEPT_MSG_SEVERITY") == nullptr) set(/*L_SEVERITY_NONE=*/6);
}

Rect Union(const Rect& a, const Rect& b) {
  int left = std::min(a.x, b.x);
  int top = std::min(a.y, b.y);
  int right = std::max(a.x + a.width, b.x + b.width);
  int bottom = std::max(a.y + a.height, b.y + b.height);
  return {left, top, right - left, bottom - top};
}

Rect Intersect(const Rect& a, const Rect& b) {
  int left = std::max(a.x, b.x);
  int top = std::max(a.y, b.y);
  int right = std::min(a.x + a.width, b.x + b.width);
  int bottom = std::min(a.y + a.height, b.y + b.height);
  return {left, top, std::max(0, right - left), std::max(0, bottom - top)};
}

std::vector<std::string> SplitWords(const std::string& text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\r\n\f\v"), absl::SkipEmpty());
}

OcrMatch Phrase(const std::vector<OcrWord>& words, size_t begin, size_t end) {
  OcrMatch match{
      .text = words[begin].text, .box = words[begin].box, .confidence = words[begin].confidence};
  for (size_t i = begin + 1; i < end; ++i) {
    absl::StrAppend(&match.text, " ", words[i].text);
    match.box = Union(match.box, words[i].box);
    match.confidence = std::min(match.confidence, words[i].confidence);
  }
  return match;
}

std::string Describe(const OcrMatch& match, bool with_confidence) {
  std::string out = absl::StrCat("\"", match.text, "\" at ", FormatRect(match.box));
  if (with_confidence) absl::StrAppend(&out, absl::StrFormat(" confidence %.0f", match.confidence));
  return out;
}

std::string Where(const std::optional<Rect>& region) {
  if (!region.has_value()) return "on screen";
  return absl::StrCat("in region ", FormatRect(*region));
}

// `area` without the rows and columns at its edges that hold a single colour (a plain
// desktop around a window, the empty part of a window), plus a margin so that glyphs
// never touch the image's edge. Reading a 400x300 window on a black 1280x800 desktop
// then costs what the window alone costs. Empty when the area is a single colour.
Rect TrimUniformBorder(const Frame& frame, const Rect& area) {
  constexpr int kMargin = 8;
  auto same = [&](int x0, int y0, int x1, int y1) {
    const uint8_t* a = frame.Pixel(x0, y0);
    const uint8_t* b = frame.Pixel(x1, y1);
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
  };
  auto plain_row = [&](int y, int left, int right) {
    for (int x = left + 1; x < right; ++x) {
      if (!same(left, y, x, y)) return false;
    }
    return true;
  };
  auto plain_column = [&](int x, int top, int bottom) {
    for (int y = top + 1; y < bottom; ++y) {
      if (!same(x, top, x, y)) return false;
    }
    return true;
  };
  int left = area.x, top = area.y, right = area.x + area.width, bottom = area.y + area.height;
  for (bool trimmed = true; trimmed && left < right && top < bottom;) {
    trimmed = false;
    while (top < bottom && plain_row(top, left, right)) ++top, trimmed = true;
    while (top < bottom && plain_row(bottom - 1, left, right)) --bottom, trimmed = true;
    while (top < bottom && left < right && plain_column(left, top, bottom)) ++left, trimmed = true;
    while (top < bottom && left < right && plain_column(right - 1, top, bottom)) {
      --right, trimmed = true;
    }
  }
  if (left >= right || top >= bottom) return {area.x, area.y, 0, 0};
  left = std::max(area.x, left - kMargin);
  top = std::max(area.y, top - kMargin);
  right = std::min(area.x + area.width, right + kMargin);
  bottom = std::min(area.y + area.height, bottom + kMargin);
  return {left, top, right - left, bottom - top};
}

// `area` of the frame as grey levels (ITU-R 601 luma), `scale` times larger with
// bilinear interpolation: tesseract reads GTK's ~9 px tall UI text far better at 3x.
std::vector<uint8_t> UpscaleGrey(const Frame& frame, const Rect& area, int scale) {
  std::vector<float> grey(static_cast<size_t>(area.width) * area.height);
  for (int y = 0; y < area.height; ++y) {
    const uint8_t* p = frame.Pixel(area.x, area.y + y);
    for (int x = 0; x < area.width; ++x, p += 3) {
      grey[static_cast<size_t>(y) * area.width + x] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
  }
  // Source column (left neighbour) and weight of the right neighbour per output column.
  int width = area.width * scale;
  int height = area.height * scale;
  std::vector<int> x0(width);
  std::vector<float> fx(width);
  for (int x = 0; x < width; ++x) {
    float sx = std::clamp((x + 0.5f) / scale - 0.5f, 0.0f, area.width - 1.0f);
    x0[x] = std::min(static_cast<int>(sx), area.width - 1);
    fx[x] = sx - x0[x];
  }
  std::vector<uint8_t> out(static_cast<size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    float sy = std::clamp((y + 0.5f) / scale - 0.5f, 0.0f, area.height - 1.0f);
    int y0 = std::min(static_cast<int>(sy), area.height - 1);
    int y1 = std::min(y0 + 1, area.height - 1);
    float fy = sy - y0;
    const float* top = &grey[static_cast<size_t>(y0) * area.width];
    const float* bottom = &grey[static_cast<size_t>(y1) * area.width];
    uint8_t* row = &out[static_cast<size_t>(y) * width];
    for (int x = 0; x < width; ++x) {
      int a = x0[x];
      int b = std::min(a + 1, area.width - 1);
      float upper = top[a] + (top[b] - top[a]) * fx[x];
      float lower = bottom[a] + (bottom[b] - bottom[a]) * fx[x];
      row[x] = static_cast<uint8_t>(std::lround(upper + (lower - upper) * fy));
    }
  }
  return out;
}

}  // namespace

OcrEngine::OcrEngine(std::unique_ptr<tesseract::TessBaseAPI> api) : api_(std::move(api)) {}

OcrEngine::~OcrEngine() {
  if (api_ != nullptr) api_->End();
}

absl::StatusOr<std::unique_ptr<OcrEngine>> OcrEngine::Create(const std::string& language) {
  if (language.empty()) {
    return absl::InvalidArgumentError("OCR language is empty; use e.g. \"eng\"");
  }
  const char* thread_limit = std::getenv("OMP_THREAD_LIMIT");
  if (thread_limit == nullptr) setenv("OMP_THREAD_LIMIT", "1", /*overwrite=*/0);
  // Unset, or the "1" set above by an earlier engine: libgomp did not see it (see
  // SerialOpenMp). Any other value was the user's choice at program start.
  bool limit_threads = (thread_limit == nullptr || std::string(thread_limit) == "1") &&
                       std::getenv("OMP_NUM_THREADS") == nullptr;

  const char* prefix = std::getenv("TESSDATA_PREFIX");
  std::string datapath = prefix != nullptr && *prefix != '\0' ? prefix : kDebianTessdata;
  auto api = std::make_unique<tesseract::TessBaseAPI>();
  // Tesseract's diagnostics ("Estimating resolution as ...") go nowhere; failures are
  // reported through return values below.
  api->SetVariable("debug_file", "/dev/null");
  if (api->Init(datapath.c_str(), language.c_str(), tesseract::OEM_LSTM_ONLY) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "tesseract cannot load language \"", language, "\" from ", datapath, "/", language,
        ".traineddata; install Debian's tesseract-ocr-", language,
        " package, or set TESSDATA_PREFIX to the directory holding the .traineddata file"));
  }
  api->SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
  api->SetVariable("thresholding_method", kSauvola);
  QuietLeptonica();
  auto engine = std::unique_ptr<OcrEngine>(new OcrEngine(std::move(api)));
  engine->limit_threads_ = limit_threads;
  return engine;
}

absl::StatusOr<std::vector<OcrEngine::Line>> OcrEngine::ReadLines(
    const Frame& frame, const std::optional<Rect>& region) {
  if (frame.width <= 0 || frame.height <= 0 ||
      frame.rgb.size() != static_cast<size_t>(frame.width) * frame.height * 3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot read text in an empty or malformed frame (%dx%d with %d bytes); capture the "
        "screen first",
        frame.width, frame.height, frame.rgb.size()));
  }
  Rect area{0, 0, frame.width, frame.height};
  if (region.has_value()) {
    area = Intersect(*region, area);
    if (area.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("OCR region ", FormatRect(*region), " holds no pixels of the ", frame.width,
                       "x", frame.height, " frame; give a region inside it"));
    }
  }

  std::vector<Line> lines;
  area = TrimUniformBorder(frame, area);
  if (area.empty()) return lines;  // one colour: no text
  SerialOpenMp serial(limit_threads_);
  std::vector<uint8_t> image = UpscaleGrey(frame, area, kScale);
  api_->SetImage(image.data(), area.width * kScale, area.height * kScale, /*bytes_per_pixel=*/1,
                 /*bytes_per_line=*/area.width * kScale);
  // Screens are ~96 ppi; without a figure tesseract guesses from glyph sizes.
  api_->SetSourceResolution(96 * kScale);
  if (api_->Recognize(nullptr) != 0) {
    return absl::InternalError(absl::StrCat("tesseract could not read the image ", Where(region)));
  }
  std::unique_ptr<tesseract::ResultIterator> it(api_->GetIterator());
  if (it == nullptr) return lines;  // no text at all
  do {
    if (it->Empty(tesseract::RIL_WORD)) continue;
    if (lines.empty() || it->IsAtBeginningOf(tesseract::RIL_TEXTLINE)) lines.emplace_back();
    std::unique_ptr<char[]> utf8(it->GetUTF8Text(tesseract::RIL_WORD));
    float confidence = it->Confidence(tesseract::RIL_WORD);
    int left = 0, top = 0, right = 0, bottom = 0;
    if (utf8 == nullptr || confidence < 0 ||
        !it->BoundingBox(tesseract::RIL_WORD, &left, &top, &right, &bottom)) {
      continue;
    }
    std::string text(absl::StripAsciiWhitespace(utf8.get()));
    // A text caret right after (or before) a word is read as a '|' glued to it
    // ("here|"); it is never part of what the UI says.
    if (text.size() > 1 && text.back() == '|') text.pop_back();
    if (text.size() > 1 && text.front() == '|') text.erase(0, 1);
    if (text.empty()) continue;
    lines.back().words.push_back({.text = std::move(text),
                                  .box = {area.x + left / kScale, area.y + top / kScale,
                                          (right + kScale - 1) / kScale - left / kScale,
                                          (bottom + kScale - 1) / kScale - top / kScale},
                                  .confidence = confidence});
  } while (it->Next(tesseract::RIL_WORD));

  // Tesseract may put two widgets that share a row on one line; a gap wider than twice
  // the text height separates phrases, so "Toggle me" never runs into a neighbour.
  std::vector<Line> phrases;
  for (Line& line : lines) {
    if (line.words.empty()) continue;
    int height = 0;
    for (const OcrWord& word : line.words) height = std::max(height, word.box.height);
    phrases.emplace_back();
    for (size_t i = 0; i < line.words.size(); ++i) {
      if (i > 0) {
        const Rect& previous = line.words[i - 1].box;
        if (line.words[i].box.x - (previous.x + previous.width) > 2 * height)
          phrases.emplace_back();
      }
      phrases.back().words.push_back(std::move(line.words[i]));
    }
  }
  return phrases;
}

absl::StatusOr<std::vector<OcrWord>> OcrEngine::Words(const Frame& frame,
                                                      const std::optional<Rect>& region) {
  absl::StatusOr<std::vector<Line>> lines = ReadLines(frame, region);
  if (!lines.ok()) return lines.status();
  std::vector<OcrWord> words;
  for (Line& line : *lines) {
    for (OcrWord& word : line.words) words.push_back(std::move(word));
  }
  return words;
}

namespace {

// How loosely a read word may equal a wanted one.
enum class Looseness { kExact, kIgnoreCase, kIgnorePunctuation };

// `word` without the punctuation around it: labels are read as "Warning:", "(Save)",
// "Next," or "Open…", and the scenario asks for the word.
std::string_view Bare(std::string_view word) {
  auto is_punct = [](std::string_view w, bool front) {
    static constexpr std::string_view kUnicode[] = {"\u2026", "\u201C", "\u201D", "\u2018",
                                                    "\u2019", "\u00AB", "\u00BB"};
    if (w.empty()) return size_t{0};
    unsigned char c = front ? w.front() : w.back();
    if (c < 0x80) return std::ispunct(c) ? size_t{1} : size_t{0};
    for (std::string_view p : kUnicode) {
      if (front ? w.starts_with(p) : w.ends_with(p)) return p.size();
    }
    return size_t{0};
  };
  while (size_t n = is_punct(word, true)) word.remove_prefix(n);
  while (size_t n = is_punct(word, false)) word.remove_suffix(n);
  return word;
}

bool Same(const std::string& read, const std::string& wanted, Looseness looseness) {
  switch (looseness) {
    case Looseness::kExact:
      return read == wanted;
    case Looseness::kIgnoreCase:
      return absl::EqualsIgnoreCase(read, wanted);
    case Looseness::kIgnorePunctuation: {
      // Punctuation the scenario itself wrote still has to be there.
      std::string_view bare = Bare(wanted) == wanted ? Bare(read) : std::string_view(read);
      return !bare.empty() && absl::EqualsIgnoreCase(std::string(bare), wanted);
    }
  }
  return false;
}

std::vector<OcrMatch> MatchLines(const std::vector<std::vector<OcrWord>>& lines,
                                 const std::vector<std::string>& wanted, Looseness looseness) {
  std::vector<OcrMatch> matches;
  for (const std::vector<OcrWord>& words : lines) {
    for (size_t begin = 0; begin + wanted.size() <= words.size(); ++begin) {
      bool same = true;
      for (size_t k = 0; k < wanted.size() && same; ++k) {
        same = Same(words[begin + k].text, wanted[k], looseness);
      }
      if (same) matches.push_back(Phrase(words, begin, begin + wanted.size()));
    }
  }
  return matches;
}

// Exact matches; when there are none, matches that ignore ASCII case; then matches that
// also ignore punctuation around the words.
std::vector<OcrMatch> MatchMostExact(const std::vector<std::vector<OcrWord>>& lines,
                                     const std::vector<std::string>& wanted) {
  std::vector<OcrMatch> matches;
  for (Looseness looseness :
       {Looseness::kExact, Looseness::kIgnoreCase, Looseness::kIgnorePunctuation}) {
    matches = MatchLines(lines, wanted, looseness);
    if (!matches.empty()) break;
  }
  return matches;
}

absl::StatusOr<std::vector<std::string>> Wanted(const std::string& text) {
  std::vector<std::string> wanted = SplitWords(text);
  if (wanted.empty()) {
    return absl::InvalidArgumentError("the text to find on screen is empty; give a word or phrase");
  }
  return wanted;
}

}  // namespace

absl::StatusOr<std::vector<std::vector<OcrWord>>> OcrEngine::ReadWords(
    const Frame& frame, const std::optional<Rect>& region) {
  absl::StatusOr<std::vector<Line>> lines = ReadLines(frame, region);
  if (!lines.ok()) return lines.status();
  std::vector<std::vector<OcrWord>> words;
  for (Line& line : *lines) words.push_back(std::move(line.words));
  return words;
}

absl::StatusOr<std::vector<OcrMatch>> OcrEngine::Find(const Frame& frame, const std::string& text,
                                                      const std::optional<Rect>& region) {
  absl::StatusOr<std::vector<std::string>> wanted = Wanted(text);
  if (!wanted.ok()) return wanted.status();
  absl::StatusOr<std::vector<std::vector<OcrWord>>> words = ReadWords(frame, region);
  if (!words.ok()) return words.status();
  return MatchMostExact(*words, *wanted);
}

absl::StatusOr<OcrMatch> OcrEngine::Locate(const Frame& frame, const std::string& text,
                                           const std::optional<Rect>& region) {
  absl::StatusOr<std::vector<std::string>> wanted = Wanted(text);
  if (!wanted.ok()) return wanted.status();
  absl::StatusOr<std::vector<std::vector<OcrWord>>> read = ReadWords(frame, region);
  if (!read.ok()) return read.status();
  const std::vector<std::vector<OcrWord>>& words = *read;
  std::vector<OcrMatch> matches = MatchMostExact(words, *wanted);
  std::string normalised = absl::StrJoin(*wanted, " ");

  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    std::vector<std::string> listed;
    for (const OcrMatch& match : matches) listed.push_back(Describe(match, true));
    return absl::FailedPreconditionError(absl::StrCat(
        "text \"", normalised, "\" appears ", matches.size(), " times ", Where(region), ": ",
        absl::StrJoin(listed, "; "), "; give a region that holds only the one you mean"));
  }

  // Nothing: suggest the phrases (as many words as asked, on one line) closest to it.
  struct Candidate {
    double distance;
    OcrMatch phrase;
  };
  std::vector<Candidate> candidates;
  std::string folded = absl::AsciiStrToLower(normalised);
  for (const std::vector<OcrWord>& line : words) {
    size_t span = std::min(wanted->size(), line.size());
    for (size_t begin = 0; begin + span <= line.size(); ++begin) {
      OcrMatch phrase = Phrase(line, begin, begin + span);
      std::string read = absl::AsciiStrToLower(phrase.text);
      double distance = static_cast<double>(EditDistance(folded, read)) /
                        std::max<size_t>(1, std::max(folded.size(), read.size()));
      candidates.push_back({distance, std::move(phrase)});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
  if (candidates.size() > 5) candidates.resize(5);
  std::string message = absl::StrCat("no text \"", normalised, "\" ", Where(region));
  if (candidates.empty()) {
    absl::StrAppend(&message,
                    "; OCR read no text there at all (greyed or selected text is often missed)");
  } else {
    std::vector<std::string> listed;
    for (const Candidate& candidate : candidates) {
      listed.push_back(Describe(candidate.phrase, false));
    }
    absl::StrAppend(&message, "; nearest: ", absl::StrJoin(listed, ", "));
  }
  return absl::NotFoundError(message);
}

}  // namespace mosdat

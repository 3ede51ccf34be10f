// OCR benchmark on the local target: real Xvnc desktops (1280x800) captured over VNC,
// one with the fixture window (tests/data/apps/fixed_layout.py, four labels) and one
// with gtk3-widget-factory (a screen full of text). Prints latency percentiles for
// creating an engine, reading a full screen, reading a 300x100 region around a label,
// and Locate, plus a full screen with OpenMP threads allowed (what OMP_THREAD_LIMIT=1
// saves), and how many of the words a reader sees OCR read exactly.
//   build/bench/mosdat_bench_ocr [full-screen runs] [region runs]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/latency.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"
#include "vnc-agent/steps/ocr.h"

namespace mosdat {
namespace {

void Print(const std::string& what, const std::vector<double>& ms) {
  PrintLatency(what, ms, 58, 2);
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return 1;
}

struct Scene {
  std::string name;
  std::vector<std::string> app_command;
  std::string label;  // on screen once the app has painted; the region is centred on it
  // Words a reader sees on the screen (read off a screenshot by eye), for recall.
  std::string expected;
};

// How many of `expected` (counted with repeats) OCR read, exactly.
std::string Recall(const std::vector<OcrWord>& words, const std::string& expected) {
  std::map<std::string, int> read;
  for (const OcrWord& word : words) ++read[word.text];
  int found = 0, total = 0;
  std::vector<std::string> missed;
  for (absl::string_view piece : absl::StrSplit(expected, ' ', absl::SkipEmpty())) {
    std::string word(piece);
    ++total;
    if (read[word] > 0) {
      --read[word];
      ++found;
    } else {
      missed.push_back(word);
    }
  }
  return absl::StrCat(found, "/", total, " expected words read exactly",
                      missed.empty() ? "" : "; missed: ", absl::StrJoin(missed, " "));
}

// Polls fresh frames until OCR reads `label` once (the app has painted).
absl::StatusOr<Frame> WaitForLabel(VncSession& vnc, OcrEngine& ocr, const std::string& label) {
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<Frame> frame = vnc.Capture();
  while (frame.ok()) {
    absl::StatusOr<std::vector<OcrMatch>> found = ocr.Find(*frame, label, std::nullopt);
    if (!found.ok()) return found.status();
    if (found->size() == 1) return frame;
    if (absl::Now() > deadline) {
      std::string read;
      absl::StatusOr<std::vector<OcrWord>> words = ocr.Words(*frame, std::nullopt);
      if (words.ok()) {
        for (const OcrWord& word : *words) absl::StrAppend(&read, " \"", word.text, "\"");
      }
      return absl::DeadlineExceededError(
          absl::StrCat("OCR never read \"", label, "\" once; it reads:", read));
    }
    absl::StatusOr<Frame> next = vnc.WaitForUpdate(frame->update_seq, absl::Milliseconds(500));
    frame = next.ok() ? std::move(next) : vnc.Capture();
  }
  return frame.status();
}

int RunScene(const Scene& scene, int full_runs, int region_runs) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = scene.app_command});
  if (!desktop.ok()) return Fail("desktop", desktop.status());
  absl::StatusOr<std::unique_ptr<VncSession>> connected =
      VncSession::Connect({.port = (*desktop)->vnc_port(), .password = (*desktop)->vnc_password()});
  if (!connected.ok()) return Fail("vnc", connected.status());
  VncSession& vnc = **connected;
  absl::StatusOr<std::unique_ptr<OcrEngine>> engine = OcrEngine::Create();
  if (!engine.ok()) return Fail("ocr", engine.status());
  OcrEngine& ocr = **engine;
  absl::StatusOr<Frame> frame = WaitForLabel(vnc, ocr, scene.label);
  if (!frame.ok()) return Fail(scene.name.c_str(), frame.status());

  std::vector<double> full;
  std::vector<OcrWord> words;
  for (int i = 0; i < full_runs; ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<std::vector<OcrWord>> read = ocr.Words(*frame, std::nullopt);
    full.push_back(Ms(absl::Now() - t));
    if (!read.ok()) return Fail("words", read.status());
    words = std::move(*read);
  }
  absl::StatusOr<OcrMatch> label = ocr.Locate(*frame, scene.label, std::nullopt);
  if (!label.ok()) return Fail("locate", label.status());
  Rect region{label->box.x + label->box.width / 2 - 150, label->box.y + label->box.height / 2 - 50,
              300, 100};
  region.x = std::clamp(region.x, 0, frame->width - region.width);
  region.y = std::clamp(region.y, 0, frame->height - region.height);
  std::vector<double> in_region, locate_region, locate_full;
  size_t region_words = 0;
  for (int i = 0; i < region_runs; ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<std::vector<OcrWord>> read = ocr.Words(*frame, region);
    in_region.push_back(Ms(absl::Now() - t));
    if (!read.ok()) return Fail("words in region", read.status());
    region_words = read->size();
    t = absl::Now();
    absl::StatusOr<OcrMatch> found = ocr.Locate(*frame, scene.label, region);
    locate_region.push_back(Ms(absl::Now() - t));
    if (!found.ok()) return Fail("locate in region", found.status());
  }
  for (int i = 0; i < full_runs; ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<OcrMatch> found = ocr.Locate(*frame, scene.label, std::nullopt);
    locate_full.push_back(Ms(absl::Now() - t));
    if (!found.ok()) return Fail("locate", found.status());
  }

  // OpenMP at its default (one thread per core): an engine created while the
  // environment asks for threads does not hold OpenMP to one.
  setenv("OMP_NUM_THREADS", "2", 1);
  absl::StatusOr<std::unique_ptr<OcrEngine>> threaded = OcrEngine::Create();
  unsetenv("OMP_NUM_THREADS");
  if (!threaded.ok()) return Fail("ocr (threaded)", threaded.status());
  std::vector<double> full_threaded;
  for (int i = 0; i < std::max(3, full_runs / 3); ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<std::vector<OcrWord>> read = (*threaded)->Words(*frame, std::nullopt);
    full_threaded.push_back(Ms(absl::Now() - t));
    if (!read.ok()) return Fail("words (threaded)", read.status());
  }

  std::printf("\n%s: %dx%d frame, %zu words on the screen, %zu in region %s around \"%s\" %s\n",
              scene.name.c_str(), frame->width, frame->height, words.size(), region_words,
              FormatRect(region).c_str(), scene.label.c_str(), FormatRect(label->box).c_str());
  std::printf("  recall: %s\n", Recall(words, scene.expected).c_str());
  Print("  words, full screen (OpenMP serial, the default)", full);
  Print("  words, full screen (OpenMP threads, OMP_NUM_THREADS=2)", full_threaded);
  Print("  words, 300x100 region", in_region);
  Print("  Locate, full screen", locate_full);
  Print("  Locate, 300x100 region", locate_region);
  return 0;
}

int Run(int full_runs, int region_runs) {
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf(
      "mOSdat OCR benchmark: tesseract C++ API, psm 11, %d full-screen / %d region runs, "
      "load average %.1f on %ld cores\n",
      full_runs, region_runs, load[0], sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<double> create;
  for (int i = 0; i < 5; ++i) {
    absl::Time t = absl::Now();
    absl::StatusOr<std::unique_ptr<OcrEngine>> engine = OcrEngine::Create();
    create.push_back(Ms(absl::Now() - t));
    if (!engine.ok()) return Fail("ocr", engine.status());
  }
  Print("create an engine (load eng.traineddata)", create);
  std::vector<Scene> scenes = {
      {.name = "fixture window (fixed_layout.py)",
       .app_command = {"/usr/bin/python3",
                       std::string(MOSDAT_SOURCE_DIR) + "/tests/data/apps/fixed_layout.py"},
       .label = "Toggle me",
       .expected = "Toggle me keys: none pointer pad"},
      {.name = "gtk3-widget-factory",
       .app_command = {"/usr/bin/gtk3-widget-factory"},
       .label = "Lorem ipsum",
       // The first page as this desktop shows it: window wider than the screen, so the
       // clipped words at the right edge are left out. Greyed (insensitive) labels:
       // the second comboboxentry, "entry" placeholders, a "label", 50%, Otto, one
       // togglebutton, and three each of checkbutton/radiobutton.
       .expected = "Page 1 Page 2 Page 3 comboboxentry comboboxentry Click icon to change mode "
                   "entry entry Left Middle Right label label 50 checkbutton checkbutton "
                   "checkbutton checkbutton checkbutton checkbutton radiobutton radiobutton "
                   "radiobutton radiobutton radiobutton radiobutton togglebutton togglebutton "
                   "togglebutton togglebutton Andrea Otto Sans Regular 12 (None) link button "
                   "50% 50.0 Inset Outset Groove Ridge Cool Icon Name Nick Andrea Otto Orville "
                   "Benjamin page 1 page 2 page 3 page 1 page 2 page 3 page 1 page 2 page 3 "
                   "page 1 page 2 page 3 Lorem ipsum dolor sit consectetur adipiscing elit. "
                   "Nullam fringilla, est ut commodo tortor nisi id elit. Class aptent taciti "
                   "sociosqu torquent per conubia nostra, inceptos himenaeos. Morbi vel elit "
                   "erat. dignissim, dui et pharetra tellus lectus rutrum mi, a libero nisi "
                   "quis tellus. Nulla facilisi."},
  };
  for (const Scene& scene : scenes) {
    if (int rc = RunScene(scene, full_runs, region_runs); rc != 0) return rc;
  }
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int full_runs = argc > 1 ? std::atoi(argv[1]) : 10;
  int region_runs = argc > 2 ? std::atoi(argv[2]) : 30;
  return mosdat::Run(std::max(full_runs, 3), std::max(region_runs, 3));
}

// OcrEngine on real screenshots of the local target: a real Xvnc desktop running a real
// GTK3 window with widgets at fixed places inside it (tests/data/apps/fixed_layout.py),
// captured over VNC. Expected boxes come from where the window really is on the screen.
#include "vnc-agent/steps/ocr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rfb/keysym.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/keysyms.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Widgets inside the fixture's window (see fixed_layout.py); the window is 400x300.
constexpr Rect kToggleInWindow{20, 20, 160, 40};
constexpr Rect kEntryInWindow{20, 80, 300, 36};
constexpr Rect kKeysLabelInWindow{20, 140, 300, 30};
constexpr Rect kPadInWindow{20, 190, 360, 90};

bool Inside(const Rect& inner, const Rect& outer) {
  return inner.x >= outer.x && inner.y >= outer.y &&
         inner.x + inner.width <= outer.x + outer.width &&
         inner.y + inner.height <= outer.y + outer.height && !inner.empty();
}

Rect Offset(const Rect& rect, const Rect& origin) {
  return {origin.x + rect.x, origin.y + rect.y, rect.width, rect.height};
}

std::string WordList(const std::vector<OcrWord>& words) {
  std::vector<std::string> listed;
  for (const OcrWord& word : words) {
    listed.push_back(absl::StrCat("\"", word.text, "\" ", FormatRect(word.box)));
  }
  return absl::StrJoin(listed, ", ");
}

// A frame filled with one colour.
Frame Blank(int width, int height, uint8_t level) {
  Frame frame{.width = width, .height = height};
  frame.rgb.assign(static_cast<size_t>(width) * height * 3, level);
  return frame;
}

// `source`'s pixels in `from` copied into `target` at (x, y).
void Paste(const Frame& source, const Rect& from, Frame& target, int x, int y) {
  for (int row = 0; row < from.height; ++row) {
    const uint8_t* in = source.Pixel(from.x, from.y + row);
    std::copy(in, in + from.width * 3,
              &target.rgb[(static_cast<size_t>(y + row) * target.width + x) * 3]);
  }
}

class OcrEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<OcrEngine>> engine = OcrEngine::Create();
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  std::unique_ptr<OcrEngine> engine_;
};

TEST_F(OcrEngineTest, SetsTheOpenMpThreadLimitWhenUnset) {
  const char* limit = std::getenv("OMP_THREAD_LIMIT");
  ASSERT_NE(limit, nullptr);
  EXPECT_STRNE(limit, "");
}

TEST_F(OcrEngineTest, UnknownLanguageIsNotFoundWithTheFix) {
  absl::StatusOr<std::unique_ptr<OcrEngine>> engine = OcrEngine::Create("xxq");
  ASSERT_EQ(engine.status().code(), absl::StatusCode::kNotFound) << engine.status();
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("tesseract-ocr-xxq"));
}

TEST_F(OcrEngineTest, RejectsEmptyFramesRegionsAndTexts) {
  Frame empty;
  EXPECT_EQ(engine_->Words(empty, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  Frame malformed{.width = 10, .height = 10};  // no pixels behind the size
  EXPECT_EQ(engine_->Find(malformed, "x", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  Frame blank = Blank(64, 48, 255);
  absl::StatusOr<std::vector<OcrWord>> outside = engine_->Words(blank, Rect{100, 100, 10, 10});
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outside.status().message()), HasSubstr("(100,100 10x10)"));
  EXPECT_EQ(engine_->Words(blank, Rect{10, 10, 0, 5}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Locate(blank, " \t ", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Tiny regions are legal, and hold no words.
  absl::StatusOr<std::vector<OcrWord>> tiny = engine_->Words(blank, Rect{-5, -5, 6, 6});
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_TRUE(tiny->empty());
}

TEST_F(OcrEngineTest, BlankScreenHasNoWordsAndSaysSo) {
  Frame blank = Blank(320, 200, 240);
  absl::StatusOr<std::vector<OcrWord>> words = engine_->Words(blank, std::nullopt);
  ASSERT_TRUE(words.ok()) << words.status();
  EXPECT_TRUE(words->empty()) << WordList(*words);
  absl::StatusOr<OcrMatch> match = engine_->Locate(blank, "Save", std::nullopt);
  EXPECT_EQ(match.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(match.status().message()), HasSubstr("no text \"Save\" on screen"));
  EXPECT_THAT(std::string(match.status().message()), HasSubstr("read no text"));
}

// The real fixture app on the local target.
class OcrDesktopTest : public OcrEngineTest {
 protected:
  void SetUp() override {
    OcrEngineTest::SetUp();
    if (HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
        {.app_command = {"/usr/bin/python3",
                         testing::SourcePath("tests/data/apps/fixed_layout.py")}});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = std::move(*desktop);
    absl::StatusOr<std::unique_ptr<VncSession>> session =
        VncSession::Connect({.port = desktop_->vnc_port(), .password = desktop_->vnc_password()});
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
    absl::StatusOr<Frame> drawn = WaitForText("Toggle me", 1);
    ASSERT_TRUE(drawn.ok()) << drawn.status();
    window_ = WindowBox(*drawn);
    // The window manager places the window; the app asks for 400x300 at the origin.
    ASSERT_EQ(window_.width, 400) << FormatRect(window_);
    ASSERT_EQ(window_.height, 300) << FormatRect(window_);
  }

  // Polls fresh frames until OCR finds `text` `count` times on the screen (a mapped
  // window is not yet a painted one, and GTK paints input asynchronously).
  absl::StatusOr<Frame> WaitForText(const std::string& text, size_t count,
                                    absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<Frame> frame = session_->Capture();
    std::string last_words;
    while (frame.ok()) {
      absl::StatusOr<std::vector<OcrMatch>> found = engine_->Find(*frame, text, std::nullopt);
      if (!found.ok()) return found.status();
      if (found->size() == count) return frame;
      if (absl::Now() > deadline) break;
      absl::StatusOr<Frame> next =
          session_->WaitForUpdate(frame->update_seq, absl::Milliseconds(500));
      if (next.ok()) {
        frame = std::move(next);
      } else if (next.status().code() == absl::StatusCode::kDeadlineExceeded) {
        frame = session_->Capture();  // the screen is still; read it again at most twice a second
      } else {
        frame = std::move(next);
      }
    }
    if (!frame.ok()) return frame.status();
    absl::StatusOr<std::vector<OcrWord>> words = engine_->Words(*frame, std::nullopt);
    return absl::DeadlineExceededError(absl::StrCat(
        "OCR never found \"", text, "\" ", count,
        " times; it reads: ", words.ok() ? WordList(*words) : words.status().ToString()));
  }

  // The bounding box of everything that differs from the desktop's background (taken
  // from the top-right corner; the pointer is parked bottom-right and not drawn).
  static Rect WindowBox(const Frame& frame) {
    const uint8_t* background = frame.Pixel(frame.width - 1, 0);
    int left = frame.width, top = frame.height, right = -1, bottom = -1;
    for (int y = 0; y < frame.height; ++y) {
      for (int x = 0; x < frame.width; ++x) {
        const uint8_t* p = frame.Pixel(x, y);
        if (std::abs(p[0] - background[0]) + std::abs(p[1] - background[1]) +
                std::abs(p[2] - background[2]) <=
            24) {
          continue;
        }
        left = std::min(left, x);
        top = std::min(top, y);
        right = std::max(right, x);
        bottom = std::max(bottom, y);
      }
    }
    if (right < 0) return {};
    return {left, top, right - left + 1, bottom - top + 1};
  }

  // Clicks into the entry and types `text`, then waits until OCR reads `expect` `count`
  // times on the screen.
  absl::StatusOr<Frame> TypeIntoEntry(const std::string& text, const std::string& expect,
                                      size_t count) {
    Rect entry = Offset(kEntryInWindow, window_);
    absl::StatusOr<Frame> before = session_->CaptureAfterInput(absl::Seconds(5));
    if (!before.ok()) return before.status();
    if (absl::Status s = session_->Click(entry.x + 150, entry.y + 18); !s.ok()) return s;
    // Typing before the entry has the focus would lose keys: wait for its caret.
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    Frame latest = *before;
    while (DifferenceRatio(*before, latest, entry) < 0.001) {
      if (absl::Now() > deadline) return absl::DeadlineExceededError("the entry never took focus");
      absl::StatusOr<Frame> next = session_->WaitForUpdate(latest.update_seq, absl::Seconds(1));
      if (next.ok()) latest = *next;
    }
    absl::StatusOr<std::vector<uint32_t>> keysyms = KeysymsForText(text);
    if (!keysyms.ok()) return keysyms.status();
    if (absl::Status s = session_->TypeKeysyms(*keysyms); !s.ok()) return s;
    // Tab moves the focus on, so no caret touches the typed text.
    if (absl::Status s = session_->PressKey({}, XK_Tab); !s.ok()) return s;
    return WaitForText(expect, count);
  }

  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<VncSession> session_;
  Rect window_;
};

TEST_F(OcrDesktopTest, LocatesTheButtonLabelInsideTheButton) {
  absl::StatusOr<Frame> frame = session_->Capture();
  ASSERT_TRUE(frame.ok()) << frame.status();
  absl::StatusOr<OcrMatch> match = engine_->Locate(*frame, "Toggle me", std::nullopt);
  ASSERT_TRUE(match.ok()) << match.status();
  EXPECT_EQ(match->text, "Toggle me");
  Rect toggle = Offset(kToggleInWindow, window_);
  EXPECT_TRUE(Inside(match->box, toggle))
      << FormatRect(match->box) << " is not inside the button " << FormatRect(toggle);
  // A label, not the whole button: GTK's default font is ~10 px tall here.
  EXPECT_LT(match->box.height, 25) << FormatRect(match->box);
  EXPECT_GT(match->box.width, 40) << FormatRect(match->box);
  EXPECT_GT(match->confidence, 50);

  // Whitespace is normalised, and case is ignored only when nothing matches exactly.
  absl::StatusOr<OcrMatch> spaced = engine_->Locate(*frame, "  Toggle \n me ", std::nullopt);
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(FormatRect(spaced->box), FormatRect(match->box));
  absl::StatusOr<OcrMatch> shouted = engine_->Locate(*frame, "TOGGLE ME", std::nullopt);
  ASSERT_TRUE(shouted.ok()) << shouted.status();
  EXPECT_EQ(shouted->text, "Toggle me");

  // The other labels, each inside its own widget.
  absl::StatusOr<OcrMatch> keys = engine_->Locate(*frame, "keys: none", std::nullopt);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(Inside(keys->box, Offset(kKeysLabelInWindow, window_))) << FormatRect(keys->box);
  absl::StatusOr<OcrMatch> pad = engine_->Locate(*frame, "pointer pad", std::nullopt);
  ASSERT_TRUE(pad.ok()) << pad.status();
  EXPECT_TRUE(Inside(pad->box, Offset(kPadInWindow, window_))) << FormatRect(pad->box);

  // Punctuation around a word is not part of it: "keys" is the label's "keys:"; but
  // punctuation the scenario writes must be read ("Toggle me!" is not on screen).
  absl::StatusOr<OcrMatch> bare = engine_->Locate(*frame, "keys", std::nullopt);
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->text, "keys:");
  EXPECT_TRUE(Inside(bare->box, Offset(kKeysLabelInWindow, window_))) << FormatRect(bare->box);
  absl::StatusOr<OcrMatch> shouting = engine_->Locate(*frame, "Toggle me!", std::nullopt);
  EXPECT_EQ(shouting.status().code(), absl::StatusCode::kNotFound) << shouting.status();
}

TEST_F(OcrDesktopTest, RegionsLimitTheSearchAndKeepFrameCoordinates) {
  absl::StatusOr<Frame> frame = session_->Capture();
  ASSERT_TRUE(frame.ok()) << frame.status();
  absl::StatusOr<OcrMatch> whole = engine_->Locate(*frame, "Toggle me", std::nullopt);
  ASSERT_TRUE(whole.ok()) << whole.status();

  // The window below the button: the label is not there, the other labels are.
  Rect below{window_.x, window_.y + 70, window_.width, window_.height - 70};
  absl::StatusOr<std::vector<OcrMatch>> none = engine_->Find(*frame, "Toggle me", below);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty()) << FormatRect(none->front().box);
  absl::StatusOr<std::vector<OcrWord>> words = engine_->Words(*frame, below);
  ASSERT_TRUE(words.ok()) << words.status();
  EXPECT_THAT(WordList(*words), HasSubstr("\"pad\""));
  for (const OcrWord& word : *words) {
    EXPECT_TRUE(Inside(word.box, below)) << word.text << " " << FormatRect(word.box);
  }

  // Only the button: same place in frame coordinates as from the whole screen.
  Rect toggle = Offset(kToggleInWindow, window_);
  absl::StatusOr<OcrMatch> inside = engine_->Locate(*frame, "Toggle me", toggle);
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_NEAR(inside->box.x, whole->box.x, 2);
  EXPECT_NEAR(inside->box.y, whole->box.y, 2);
  EXPECT_NEAR(inside->box.width, whole->box.width, 3);
  EXPECT_NEAR(inside->box.height, whole->box.height, 3);

  // A few pixels of a glyph are a legal region, with nothing (or a fragment) to read.
  absl::StatusOr<std::vector<OcrWord>> sliver =
      engine_->Words(*frame, Rect{whole->box.x + 2, whole->box.y + 2, 4, 4});
  EXPECT_TRUE(sliver.ok()) << sliver.status();

  // A region reaching past the screen's edges is clipped, not refused.
  absl::StatusOr<OcrMatch> clipped = engine_->Locate(
      *frame, "Toggle me",
      Rect{-100, -100, toggle.x + toggle.width + 100, toggle.y + toggle.height + 100});
  ASSERT_TRUE(clipped.ok()) << clipped.status();
  EXPECT_TRUE(Inside(clipped->box, toggle)) << FormatRect(clipped->box);
}

TEST_F(OcrDesktopTest, PastedScreenPixelsAreFoundWhereTheyWerePasted) {
  absl::StatusOr<Frame> frame = session_->Capture();
  ASSERT_TRUE(frame.ok()) << frame.status();
  Rect toggle = Offset(kToggleInWindow, window_);
  absl::StatusOr<OcrMatch> original = engine_->Locate(*frame, "Toggle me", toggle);
  ASSERT_TRUE(original.ok()) << original.status();
  Frame canvas = Blank(800, 600, frame->Pixel(toggle.x - 5, toggle.y - 5)[0]);
  Paste(*frame, toggle, canvas, 500, 400);
  absl::StatusOr<OcrMatch> moved = engine_->Locate(canvas, "Toggle me", std::nullopt);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_NEAR(moved->box.x, original->box.x - toggle.x + 500, 2);
  EXPECT_NEAR(moved->box.y, original->box.y - toggle.y + 400, 2);
}

TEST_F(OcrDesktopTest, MisspeltTextIsNotFoundAndTheNearestTextIsListed) {
  absl::StatusOr<Frame> frame = session_->Capture();
  ASSERT_TRUE(frame.ok()) << frame.status();
  absl::StatusOr<OcrMatch> toggle = engine_->Locate(*frame, "Toggle me", std::nullopt);
  ASSERT_TRUE(toggle.ok()) << toggle.status();

  absl::StatusOr<OcrMatch> missing = engine_->Locate(*frame, "Tgglo me", std::nullopt);
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  std::string message(missing.status().message());
  EXPECT_THAT(message, HasSubstr("no text \"Tgglo me\" on screen; nearest: \"Toggle me\" at " +
                                 FormatRect(toggle->box)));
  absl::StatusOr<std::vector<OcrMatch>> found = engine_->Find(*frame, "Tgglo me", std::nullopt);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());

  // One word: the nearest single words, "Toggle" first.
  absl::StatusOr<OcrMatch> word = engine_->Locate(*frame, "Tgglo", std::nullopt);
  ASSERT_EQ(word.status().code(), absl::StatusCode::kNotFound) << word.status();
  EXPECT_THAT(std::string(word.status().message()), HasSubstr("nearest: \"Toggle\" at ("));

  // In a region without it, the message names the region.
  Rect below{window_.x, window_.y + 70, window_.width, window_.height - 70};
  absl::StatusOr<OcrMatch> elsewhere = engine_->Locate(*frame, "Toggle me", below);
  ASSERT_EQ(elsewhere.status().code(), absl::StatusCode::kNotFound) << elsewhere.status();
  std::string elsewhere_message(elsewhere.status().message());
  ASSERT_THAT(elsewhere_message,
              HasSubstr("no text \"Toggle me\" in region " + FormatRect(below) + "; nearest: "));
  // Only what the region holds is suggested.
  EXPECT_THAT(elsewhere_message.substr(elsewhere_message.find("nearest:")),
              Not(HasSubstr("Toggle")));
  EXPECT_THAT(elsewhere_message, HasSubstr("\"pointer pad\" at ("));
}

TEST_F(OcrDesktopTest, RepeatedTextIsAmbiguousAndEveryPlaceIsListed) {
  // "pointer pad" is the pad's label; typed into the entry it is on screen twice.
  absl::StatusOr<Frame> frame = TypeIntoEntry("pointer pad", "pointer pad", 2);
  ASSERT_TRUE(frame.ok()) << frame.status();
  absl::StatusOr<std::vector<OcrMatch>> found = engine_->Find(*frame, "pointer pad", std::nullopt);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 2u);
  const OcrMatch& typed = found->at(0).box.y < found->at(1).box.y ? found->at(0) : found->at(1);
  const OcrMatch& label = &typed == &found->at(0) ? found->at(1) : found->at(0);
  EXPECT_TRUE(Inside(typed.box, Offset(kEntryInWindow, window_))) << FormatRect(typed.box);
  EXPECT_TRUE(Inside(label.box, Offset(kPadInWindow, window_))) << FormatRect(label.box);

  absl::StatusOr<OcrMatch> ambiguous = engine_->Locate(*frame, "pointer pad", std::nullopt);
  ASSERT_EQ(ambiguous.status().code(), absl::StatusCode::kFailedPrecondition) << ambiguous.status();
  std::string message(ambiguous.status().message());
  EXPECT_THAT(message, HasSubstr("appears 2 times"));
  EXPECT_THAT(message, HasSubstr("\"pointer pad\" at " + FormatRect(typed.box) + " confidence "));
  EXPECT_THAT(message, HasSubstr("\"pointer pad\" at " + FormatRect(label.box) + " confidence "));

  // A region around one of them settles it.
  absl::StatusOr<OcrMatch> one =
      engine_->Locate(*frame, "pointer pad", Offset(kPadInWindow, window_));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(FormatRect(one->box), FormatRect(label.box));
}

TEST_F(OcrDesktopTest, ExactCaseWinsOverCaseInsensitiveMatches) {
  // The entry shows "toggle me" under the button's "Toggle me".
  absl::StatusOr<Frame> frame = TypeIntoEntry("toggle me", "TOGGLE ME", 2);
  ASSERT_TRUE(frame.ok()) << frame.status();
  absl::StatusOr<OcrMatch> exact = engine_->Locate(*frame, "Toggle me", std::nullopt);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_TRUE(Inside(exact->box, Offset(kToggleInWindow, window_))) << FormatRect(exact->box);
  absl::StatusOr<OcrMatch> lower = engine_->Locate(*frame, "toggle me", std::nullopt);
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_TRUE(Inside(lower->box, Offset(kEntryInWindow, window_))) << FormatRect(lower->box);
  absl::StatusOr<OcrMatch> neither = engine_->Locate(*frame, "TOGGLE me", std::nullopt);
  EXPECT_EQ(neither.status().code(), absl::StatusCode::kFailedPrecondition) << neither.status();
}

}  // namespace
}  // namespace mosdat

// `type` never loses a character: hundreds of distinct characters from several scripts
// (none of them on the desktop's US keyboard map) typed into a real GTK entry through
// `mosdat functional`, and read back through AT-SPI. Before the agent placed keysyms
// itself, Xvnc borrowed its ~19 free keycodes and then dropped every further character
// while the step passed. A text that would need slots reused where nothing can be read
// back fails before typing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/functional_run.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

std::string Range(char32_t first, char32_t last) {
  std::string out;
  for (char32_t c = first; c <= last; ++c) out += Utf8(c);
  return out;
}

using TypingTest = FixtureAppTest;

constexpr char kFocusEntry[] = R"(
  - wait_for: {any: [{atspi: {role: text, index: 0}}], timeout: 30}
  - atspi: {role: text, index: 0}
  - wait_for: {any: [{atspi: {role: text, index: 0, states: [focused]}}], timeout: 5}
)";

TEST_F(TypingTest, HundredsOfDistinctCharactersArriveInOrderAcrossSteps) {
  // 25 Greek, 32 Cyrillic, 160 CJK, 64 mathematical operators, 48 arrows, 32 Hangul:
  // 361 distinct characters off the keyboard map, plus ASCII between the scripts.
  const std::string first =
      Range(0x3B1, 0x3C9) + " abc " + Range(0x430, 0x44F) + " 123 " + Range(0x4E00, 0x4E9F);
  const std::string second =
      Range(0x2200, 0x223F) + " - " + Range(0x2190, 0x21BF) + " ~ " + Range(0xAC00, 0xAC1F);
  FunctionalRun run = Run(absl::StrCat(
      "name: typing\nsteps:", kFocusEntry, "  - type: \"", first, "\"\n  - type: \"", second,
      "\"\n", "  - verify_atspi: {role: text, index: 0, text: \"", first, second, "\"}\n"));
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  std::vector<const Event*> typed = Finished(run, "type");
  ASSERT_EQ(typed.size(), 2u);
  // Both texts needed the scratch keycodes in several parts, each read back.
  EXPECT_TRUE(LogSays(run, "217 not on the keyboard map were put on scratch keycodes in"))
      << Dump(run);
  EXPECT_TRUE(LogSays(run, "144 not on the keyboard map were put on scratch keycodes in"))
      << Dump(run);
  EXPECT_TRUE(LogSays(run, "each read back from text")) << Dump(run);
}

TEST_F(TypingTest, ALongTextThatCannotBeReadBackFailsBeforeTyping) {
  // The toggle button takes the focus and has no text to read back from.
  FunctionalRun run = Run(absl::StrCat(R"(name: unconfirmable
steps:
  - wait_for: {any: [{atspi: {role: toggle button, name: Toggle me}}], timeout: 30}
  - atspi: {role: toggle button, name: Toggle me}
  - wait_for: {any: [{atspi: {role: toggle button, name: Toggle me, states: [focused]}}], timeout: 5}
  - type: ")",
                                       Range(0x4E00, 0x4E63), "\"\n"));
  ASSERT_EQ(run.exit_code, 1) << Dump(run);
  std::vector<const Event*> typed = Finished(run, "type");
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_EQ(typed[0]->status, StepStatus::kFailed);
  EXPECT_THAT(typed[0]->reason, HasSubstr("100 distinct characters that are not on the VM's "
                                          "keyboard map"));
  EXPECT_THAT(typed[0]->reason, HasSubstr("nothing focused exposes its text"));
}

TEST_F(TypingTest, AFewCharactersOffTheMapNeedOnePartAndNoReadBack) {
  FunctionalRun run = Run(absl::StrCat("name: short\nsteps:", kFocusEntry, R"(
  - type: "naïve café — λ ✓"
  - verify_atspi: {role: text, index: 0, text: "naïve café — λ ✓"}
)"));
  ASSERT_EQ(run.exit_code, 0) << Dump(run);
  EXPECT_TRUE(LogSays(run, "5 not on the keyboard map were put on scratch keycodes")) << Dump(run);
  EXPECT_FALSE(LogSays(run, "parts")) << Dump(run);
}

}  // namespace
}  // namespace mosdat::testing

// events.jsonl lines: what the runner writes reads back the same, and lines from a file
// (untrusted: torn, edited, hostile) give errors, never crashes or wrapped numbers.
#include "core/events.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace mosdat {
namespace {

TEST(EventsTest, AStepFinishedEventReadsBackAsWritten) {
  Event e = Event::Of(EventType::kStepFinished);
  e.job_id = "run-1";
  e.seq = 7;
  e.unix_ms = 1700000000123;
  e.step_index = 2;
  e.step_kind = "localize";
  e.description = "\"the Save button\"";
  e.source_location = "s.yaml:4:5";
  e.attempt = 2;
  e.status = StepStatus::kFailed;
  e.reason = "no point";
  e.candidates = {{"vlm", 10, 20, 0, 0, 0.87, "\"the Save button\" (m)"}};
  e.output = CommandOutput{3, "out", "err", false};
  e.vlm_calls = {{.kind = "localize",
                  .prompt = "the Save button",
                  .screenshot = "001-vlm.png",
                  .answer = true,
                  .x = 10,
                  .y = 20,
                  .confidence = 0.87,
                  .model = "m"},
                 {.kind = "verify",
                  .prompt = "Saved?",
                  .screenshot = "002-vlm.png",
                  .answer = false,
                  .reason = "no dialog",
                  .model = "m",
                  .cache_hit = true}};
  e.pointer = {{"click", 27, 407}, {"drag", 1, 2, 300, 400}};
  e.snapshot = FailureSnapshot{.words = {{"Save", 5, 6, 40, 12, 91.5}},
                               .accessible_tree = "frame \"app\"\n  push button \"Save\"\n",
                               .accessible_nodes = 2,
                               .accessible_error = ""};
  absl::StatusOr<Event> back = FromJsonLine(ToJsonLine(e));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->description, e.description);
  EXPECT_EQ(back->attempt, 2);
  ASSERT_EQ(back->candidates.size(), 1u);
  EXPECT_EQ(back->candidates[0].y, 20);
  ASSERT_TRUE(back->output.has_value());
  EXPECT_EQ(back->output->exit_code, 3);
  ASSERT_EQ(back->vlm_calls.size(), 2u);
  EXPECT_EQ(back->vlm_calls[0].x, 10);
  EXPECT_EQ(back->vlm_calls[0].y, 20);
  EXPECT_EQ(back->vlm_calls[0].confidence, 0.87);
  EXPECT_EQ(back->vlm_calls[1].reason, "no dialog");
  EXPECT_TRUE(back->vlm_calls[1].cache_hit);
  EXPECT_FALSE(back->vlm_calls[1].answer);
  ASSERT_EQ(back->pointer.size(), 2u);
  EXPECT_EQ(back->pointer[0].kind, "click");
  EXPECT_EQ(back->pointer[0].x, 27);
  EXPECT_EQ(back->pointer[0].y, 407);
  EXPECT_EQ(back->pointer[1].to_x, 300);
  EXPECT_EQ(back->pointer[1].to_y, 400);
  ASSERT_TRUE(back->snapshot.has_value());
  ASSERT_EQ(back->snapshot->words.size(), 1u);
  EXPECT_EQ(back->snapshot->words[0].text, "Save");
  EXPECT_EQ(back->snapshot->words[0].width, 40);
  EXPECT_EQ(back->snapshot->words[0].confidence, 91.5);
  EXPECT_EQ(back->snapshot->accessible_tree, e.snapshot->accessible_tree);
  EXPECT_EQ(back->snapshot->accessible_nodes, 2);
  // Read back from disk, a snapshot stays bounded.
  Event big = Event::Of(EventType::kStepFinished);
  big.snapshot = FailureSnapshot{.accessible_tree = std::string(1 << 20, 'x')};
  big.snapshot->words.resize(5000, {"w", 1, 1, 1, 1, 1});
  absl::StatusOr<Event> bounded = FromJsonLine(ToJsonLine(big));
  ASSERT_TRUE(bounded.ok()) << bounded.status();
  EXPECT_EQ(bounded->snapshot->words.size(), FailureSnapshot::kMaxWords);
  EXPECT_EQ(bounded->snapshot->accessible_tree.size(), FailureSnapshot::kMaxTreeBytes);
}

TEST(EventsTest, MalformedLinesAreErrorsNotCrashes) {
  const std::string head = R"({"job":"j","seq":1,"time_ms":1,"type":"step_finished",)";
  for (const std::string& line : {
           std::string("{\"job\":\"torn"),
           std::string("[1,2]"),
           head + R"("step":3.5})",
           head + R"("step":99999999999})",
           head + R"("candidates":[{"source":"ocr","box":[1e300,0,1,1],"score":1}]})",
           head + R"("vlm":[{"kind":"localize","prompt":"p","answer":true,"point":[1.5,2]}]})",
           head + R"("vlm":[{"kind":"localize","prompt":"p","answer":"yes"}]})",
           head + R"("output":{"exit_code":"3"}})",
           head + R"("pointer":[{"kind":"click","at":[1]}]})",
           head + R"("pointer":[{"kind":"click","at":[1e300,2]}]})",
           head + R"("pointer":[{"at":[1,2]}]})",
       }) {
    absl::StatusOr<Event> event = FromJsonLine(line);
    EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument) << line;
  }
}

TEST(EventsTest, ATornLineIsAnErrorOrSkippedWhenTheCallerSaysSo) {
  char path[] = "/tmp/mosdat-events-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Event log = Event::Of(EventType::kLog);
  log.job_id = "j";
  log.seq = 1;
  std::ofstream(path) << ToJsonLine(log) << "\n{\"job\":\"torn";

  absl::StatusOr<std::vector<Event>> strict = ReadEventLog(path);
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(strict.status().message().find(std::string(path) + ":2: "), std::string::npos);

  std::vector<std::string> skipped;
  absl::StatusOr<std::vector<Event>> tolerant = ReadEventLog(
      path, [&](const std::string& where, const absl::Status&) { skipped.push_back(where); });
  ASSERT_TRUE(tolerant.ok()) << tolerant.status();
  EXPECT_EQ(tolerant->size(), 1u);
  EXPECT_EQ(skipped, std::vector<std::string>{std::string(path) + ":2"});
  unlink(path);
}

TEST(EventsTest, SubstepsReadBackAndOnlyDottedNumbersAreAccepted) {
  Event e = Event::Of(EventType::kStepFinished);
  e.job_id = "j";
  e.step_index = 3;
  e.substep = "2.1";
  absl::StatusOr<Event> back = FromJsonLine(ToJsonLine(e));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->substep, "2.1");
  EXPECT_TRUE(IsSubstep(""));
  EXPECT_TRUE(IsSubstep("12.3.1"));
  for (const char* bad : {"0", "1..2", ".1", "1.", "a", "1/2", "../x", "1234567", "-1"}) {
    EXPECT_FALSE(IsSubstep(bad)) << bad;
    e.substep = bad;
    EXPECT_FALSE(FromJsonLine(ToJsonLine(e)).ok()) << bad;
  }
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

TEST(RedactEventTest, EveryTextOfAnEventLosesTheSecrets) {
  Event e = Event::Of(EventType::kStepFinished);
  e.description = "type \"pw-1 and pw-1\"";
  e.reason = "the text of entry is \"pw-1\", not \"x\"";
  e.label = "log in as bob";
  e.output = CommandOutput{.exit_code = 0, .out = "bob:pw-1\n", .err = ""};
  e.candidates.push_back({.source = "atspi", .description = "entry \"pw-1\""});
  e.vlm_calls.push_back({.kind = "verify", .prompt = "is pw-1 shown", .reason = "pw-1 is"});
  e.snapshot = FailureSnapshot{.words = {{.text = "pw-1"}}, .accessible_tree = "text \"pw-1\"\n"};
  RedactEvent({"pw-1", "bob", ""}, &e);
  EXPECT_EQ(e.description, "type \"••• and •••\"");
  EXPECT_EQ(e.reason, "the text of entry is \"•••\", not \"x\"");
  EXPECT_EQ(e.label, "log in as •••");
  EXPECT_EQ(e.output->out, "•••:•••\n");
  EXPECT_EQ(e.candidates[0].description, "entry \"•••\"");
  EXPECT_EQ(e.vlm_calls[0].prompt, "is ••• shown");
  EXPECT_EQ(e.vlm_calls[0].reason, "••• is");
  EXPECT_EQ(e.snapshot->words[0].text, "•••");
  EXPECT_EQ(e.snapshot->accessible_tree, "text \"•••\"\n");
  EXPECT_EQ(ToJsonLine(e).find("pw-1"), std::string::npos);
}

}  // namespace
}  // namespace mosdat

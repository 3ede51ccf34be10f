// Tests for the vlm-gateway's strict answer parsing: the JSON object asked for is read
// exactly, wrappers real servers add are removed, and anything else is a clear error
// quoting what the model said — never a guess from free text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "vlm-gateway/answer_parser.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(VlmAnswerParserTest, ReadsALocalizeObject) {
  absl::StatusOr<LocalizeAnswer> answer =
      ParseLocalizeAnswer(R"({"found": true, "x": 512, "y": 300.5, "confidence": 0.9})");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->found);
  EXPECT_EQ(answer->x, 512);
  EXPECT_EQ(answer->y, 300.5);
  EXPECT_EQ(answer->confidence, 0.9);
}

TEST(VlmAnswerParserTest, NotFoundNeedsNoPoint) {
  absl::StatusOr<LocalizeAnswer> answer = ParseLocalizeAnswer(R"({"found": false})");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FALSE(answer->found);
}

TEST(VlmAnswerParserTest, StripsThinkingBeforeTheAnswer) {
  // The reasoning says "no"; the answer is yes. Only the object counts.
  absl::StatusOr<VerifyAnswer> answer = ParseVerifyAnswer(
      "<think>Is the dialog open? No... wait, yes it is.</think>\n\n"
      R"({"answer": "yes", "reason": "The dialog is open."})");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->answer);
  EXPECT_EQ(answer->reason, "The dialog is open.");
}

TEST(VlmAnswerParserTest, StripsReasoningWhoseOpeningTagWasInTheTemplate) {
  absl::StatusOr<VerifyAnswer> answer =
      ParseVerifyAnswer("The user asks... </think>{\"answer\": \"NO\", \"reason\": \"r\"}");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FALSE(answer->answer);
}

TEST(VlmAnswerParserTest, UnfinishedThinkingIsAnError) {
  absl::StatusOr<VerifyAnswer> answer = ParseVerifyAnswer("<think>Let me look at the");
  ASSERT_FALSE(answer.ok());
  EXPECT_THAT(Message(answer.status()), HasSubstr("still thinking"));
}

TEST(VlmAnswerParserTest, AcceptsOneJsonFenceAndGlmBoxes) {
  EXPECT_TRUE(ParseVerifyAnswer("```json\n{\"answer\": \"yes\", \"reason\": \"r\"}\n```").ok());
  EXPECT_TRUE(ParseVerifyAnswer("```\n{\"answer\": \"yes\", \"reason\": \"r\"}\n```").ok());
  EXPECT_TRUE(
      ParseLocalizeAnswer("<|begin_of_box|>{\"found\": true, \"x\": 1, \"y\": 2, \"confidence\": 1}"
                          "<|end_of_box|>")
          .ok());
  EXPECT_FALSE(ParseVerifyAnswer("```python\n{\"answer\": \"yes\", \"reason\": \"r\"}\n```").ok());
}

TEST(VlmAnswerParserTest, AcceptsBooleanVerifyAnswers) {
  absl::StatusOr<VerifyAnswer> answer = ParseVerifyAnswer(R"({"answer": true, "reason": "r"})");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->answer);
}

TEST(VlmAnswerParserTest, NeverSearchesProseForNo) {
  absl::StatusOr<VerifyAnswer> answer =
      ParseVerifyAnswer("No, the button is not there. Answer: no");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(answer.status()), HasSubstr("not JSON"));
  EXPECT_THAT(Message(answer.status()), HasSubstr("No, the button is not there"));
}

TEST(VlmAnswerParserTest, RejectsTextAroundTheObject) {
  EXPECT_FALSE(ParseVerifyAnswer(R"(Sure! {"answer": "yes", "reason": "r"})").ok());
  EXPECT_FALSE(ParseVerifyAnswer(R"({"answer": "yes", "reason": "r"} Hope this helps)").ok());
  EXPECT_FALSE(ParseVerifyAnswer(R"({"answer": "yes", "reason": "r"}{"answer": "no"})").ok());
}

TEST(VlmAnswerParserTest, RejectsAnswersThatAreNotYesOrNo) {
  for (const char* value : {R"("maybe")", R"("yes.")", R"(1)", R"(null)"}) {
    absl::StatusOr<VerifyAnswer> answer =
        ParseVerifyAnswer(std::string(R"({"answer": )") + value + R"(, "reason": "r"})");
    ASSERT_FALSE(answer.ok()) << value;
    EXPECT_THAT(Message(answer.status()), HasSubstr("not \"yes\" or \"no\"")) << value;
  }
}

TEST(VlmAnswerParserTest, RejectsSchemaViolations) {
  struct Case {
    const char* content;
    const char* error;
  } cases[] = {
      {R"({"x": 1, "y": 2, "confidence": 0.5})", "\"found\" is missing"},
      {R"({"found": "true", "x": 1, "y": 2, "confidence": 0.5})", "not true/false"},
      {R"({"found": true, "y": 2, "confidence": 0.5})", "\"x\" is missing"},
      {R"({"found": true, "x": "12", "y": 2, "confidence": 0.5})", "not a number"},
      {R"({"found": true, "x": 1, "y": 2, "confidence": 87})", "outside 0..1"},
      {R"({"found": true, "x": 1, "y": 2, "confidence": 0.5, "label": "OK"})",
       "unexpected key \"label\""},
      {R"([{"found": true}])", "not an object"},
      {"", "empty"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<LocalizeAnswer> answer = ParseLocalizeAnswer(c.content);
    ASSERT_FALSE(answer.ok()) << c.content;
    EXPECT_THAT(Message(answer.status()), HasSubstr(c.error)) << c.content;
  }
}

TEST(VlmAnswerParserTest, ExcerptsLongAnswers) {
  std::string prose(1000, 'a');
  absl::StatusOr<LocalizeAnswer> answer = ParseLocalizeAnswer(prose);
  ASSERT_FALSE(answer.ok());
  EXPECT_LT(answer.status().message().size(), 400u);
  EXPECT_THAT(Message(answer.status()), HasSubstr("aaa..."));
}

TEST(VlmAnswerParserTest, CanonicalJsonParsesBack) {
  LocalizeAnswer localize{.found = true, .x = 12.5, .y = 7, .confidence = 0.25};
  absl::StatusOr<LocalizeAnswer> again = ParseLocalizeAnswer(ToJson(localize));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->x, 12.5);
  EXPECT_EQ(again->confidence, 0.25);
  absl::StatusOr<VerifyAnswer> verify =
      ParseVerifyAnswer(ToJson(VerifyAnswer{.answer = true, .reason = "ok \"quoted\""}));
  ASSERT_TRUE(verify.ok()) << verify.status();
  EXPECT_EQ(verify->reason, "ok \"quoted\"");
}

TEST(VlmAnswerParserTest, ReadsChatCompletionMessages) {
  absl::StatusOr<ModelMessage> message = ParseChatCompletion(
      R"({"choices": [{"message": {"role": "assistant", "content": "{}",
          "reasoning_content": "hmm"}, "finish_reason": "stop"}]})");
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->content, "{}");
  EXPECT_EQ(message->finish_reason, "stop");

  message = ParseChatCompletion(
      R"({"choices": [{"message": {"content": [{"type": "text", "text": "{\"a\""},
          {"type": "text", "text": ": 1}"}]}}]})");
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->content, "{\"a\": 1}");

  message = ParseChatCompletion(R"({"choices": [{"message": {"content": null}}]})");
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(message->content, "");
}

TEST(VlmAnswerParserTest, ReportsBrokenChatCompletions) {
  EXPECT_THAT(Message(ParseChatCompletion("<html>Bad Gateway</html>").status()),
              HasSubstr("<html>Bad Gateway</html>"));
  EXPECT_THAT(Message(ParseChatCompletion(R"({"choices": []})").status()), HasSubstr("no choices"));
  EXPECT_THAT(
      Message(ParseChatCompletion(R"({"error": {"message": "model is loading"}})").status()),
      HasSubstr("model is loading"));
}

}  // namespace
}  // namespace mosdat

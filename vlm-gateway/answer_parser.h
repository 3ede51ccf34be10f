// Strict reading of a chat-completions answer. The model is asked for one JSON object
// of a fixed schema (see chat_request.h); this reads exactly that object and nothing
// else — it never searches free text for "yes" or "no".
//
// Accepted around the object, because real servers emit them even with structured
// output: reasoning before a closing </think> (Qwen3, DeepSeek-R1 style templates),
// separate reasoning fields (reasoning_content, reasoning: ignored), GLM's
// <|begin_of_box|>...<|end_of_box|> and <answer>...</answer> when they wrap the whole
// answer, and one ```json fenced block that is the whole answer.
//
// Errors are INTERNAL ("the upstream broke the protocol") and quote a short excerpt of
// what the model said, so a garbage answer is diagnosable from the message alone.
#ifndef MOSDAT_VLM_GATEWAY_ANSWER_PARSER_H_
#define MOSDAT_VLM_GATEWAY_ANSWER_PARSER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mosdat {

// choices[0].message of a chat-completions response.
struct ModelMessage {
  std::string content;        // text parts joined; "" when null
  std::string finish_reason;  // "stop", "length", ...
};

// Errors (INTERNAL) name what is missing: no choices, no message, an error object...
absl::StatusOr<ModelMessage> ParseChatCompletion(std::string_view body);

struct LocalizeAnswer {
  bool found = false;
  double x = 0;  // in the model's convention (see coordinates.h)
  double y = 0;
  double confidence = 0;  // 0..1
};

struct VerifyAnswer {
  bool answer = false;
  std::string reason;
};

// The JSON object text inside `content` (wrappers above removed), not yet validated.
absl::StatusOr<std::string> ExtractAnswerJson(std::string_view content);

// Localize schema: {"found": bool, "x": number, "y": number, "confidence": 0..1}.
// x, y and confidence are required when found is true; no other keys.
absl::StatusOr<LocalizeAnswer> ParseLocalizeAnswer(std::string_view content);

// Verify schema: {"answer": "yes"|"no" (any case) or true|false, "reason": string};
// no other keys.
absl::StatusOr<VerifyAnswer> ParseVerifyAnswer(std::string_view content);

// The canonical JSON the cache stores (parses back to the same answer).
std::string ToJson(const LocalizeAnswer& answer);
std::string ToJson(const VerifyAnswer& answer);

// At most `max_chars` of `text` on one line, "..." when cut, for error messages.
std::string Excerpt(std::string_view text, size_t max_chars = 160);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_ANSWER_PARSER_H_

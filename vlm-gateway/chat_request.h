// The chat-completions request the gateway sends: a system prompt describing the
// answer, one user message with the question and the screenshot (a base64 PNG data
// URL), temperature 0, and response_format json_schema so servers with structured
// output (vLLM, llama.cpp, Ollama) constrain the answer to the schema.
#ifndef MOSDAT_VLM_GATEWAY_CHAT_REQUEST_H_
#define MOSDAT_VLM_GATEWAY_CHAT_REQUEST_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/config.h"
#include "vlm-gateway/coordinates.h"

namespace mosdat {

enum class VlmTask { kLocalize, kVerify };

std::string_view ToString(VlmTask task);  // "localize" | "verify"

struct ChatRequest {
  VlmTask task = VlmTask::kLocalize;
  std::string model;
  std::string text;  // the prompt or question
  std::string png;   // the image as sent (already resized for pixel-convention models)
  CoordinateConvention convention;  // localize only
};

// Fixed generation parameters; part of every cache key.
inline constexpr double kTemperature = 0;
inline constexpr int kMaxTokens = kVlmMaxTokens;  // core/config.h

// The JSON schema of the answer to `task`.
nlohmann::json AnswerSchema(VlmTask task);

// The system prompt: the answer format, and for localize the coordinate convention.
std::string SystemPrompt(VlmTask task, VlmCoordinates coordinates);

// Everything besides image and prompt that changes the answer, as canonical JSON:
// task, model, convention and resize policy, generation parameters, system prompt and
// schema. Hashed into the cache key, so editing a prompt invalidates old answers.
std::string AnswerParameters(VlmTask task, const std::string& model,
                             const CoordinateConvention& convention);

// The request body (JSON text).
std::string BuildChatBody(const ChatRequest& request);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_CHAT_REQUEST_H_

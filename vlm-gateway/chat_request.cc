#include "vlm-gateway/chat_request.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mosdat {

using Json = nlohmann::json;

std::string_view ToString(VlmTask task) {
  return task == VlmTask::kLocalize ? "localize" : "verify";
}

Json AnswerSchema(VlmTask task) {
  if (task == VlmTask::kLocalize) {
    return Json{{"type", "object"},
                {"properties",
                 {{"found", {{"type", "boolean"}}},
                  {"x", {{"type", "number"}}},
                  {"y", {{"type", "number"}}},
                  {"confidence", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}}}},
                {"required", {"found", "x", "y", "confidence"}},
                {"additionalProperties", false}};
  }
  return Json{{"type", "object"},
              {"properties",
               {{"answer", {{"type", "string"}, {"enum", {"yes", "no"}}}},
                {"reason", {{"type", "string"}}}}},
              {"required", {"answer", "reason"}},
              {"additionalProperties", false}};
}

std::string SystemPrompt(VlmTask task, VlmCoordinates coordinates) {
  if (task == VlmTask::kVerify) {
    return "You check screenshots of desktop applications. Answer the user's yes/no question "
           "about the screenshot with exactly one JSON object and nothing else: "
           "{\"answer\": \"yes\" or \"no\", \"reason\": \"<one short sentence>\"}.";
  }
  std::string where =
      coordinates == VlmCoordinates::kPixels
          ? "x and y are the pixel coordinates of the centre of the element in the image as "
            "you see it, measured from its top-left corner"
          : "x and y are the coordinates of the centre of the element, from the top-left "
            "corner, in thousandths of the image width and height (0 to 1000)";
  return absl::StrCat(
      "You locate elements in screenshots of desktop applications. Answer with exactly one "
      "JSON object and nothing else: {\"found\": true or false, \"x\": <number>, \"y\": "
      "<number>, \"confidence\": <number from 0 to 1>}. ",
      where,
      ". If the element is not visible, answer {\"found\": false, \"x\": 0, \"y\": 0, "
      "\"confidence\": 0}.");
}

std::string AnswerParameters(VlmTask task, const std::string& model,
                             const CoordinateConvention& convention) {
  Json params = {{"version", 1},
                 {"task", ToString(task)},
                 {"model", model},
                 {"temperature", kTemperature},
                 {"max_tokens", kMaxTokens},
                 {"schema", AnswerSchema(task)}};
  if (task == VlmTask::kLocalize) {
    params["coordinates"] = ToString(convention.kind);
    if (convention.kind == VlmCoordinates::kPixels) {
      params["resize"] = {convention.resize.factor, convention.resize.min_pixels,
                          convention.resize.max_pixels};
    }
    params["system"] = SystemPrompt(task, convention.kind);
  } else {
    params["system"] = SystemPrompt(task, VlmCoordinates::kNormalized1000);
  }
  return params.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string BuildChatBody(const ChatRequest& request) {
  VlmCoordinates coordinates = request.task == VlmTask::kLocalize ? request.convention.kind
                                                                  : VlmCoordinates::kNormalized1000;
  std::string user_text =
      request.task == VlmTask::kLocalize ? absl::StrCat("Find: ", request.text) : request.text;
  Json body = {
      {"model", request.model},
      {"temperature", kTemperature},
      {"max_tokens", kMaxTokens},
      {"stream", false},
      {"messages",
       Json::array(
           {{{"role", "system"}, {"content", SystemPrompt(request.task, coordinates)}},
            {{"role", "user"},
             {"content",
              Json::array({{{"type", "text"}, {"text", user_text}},
                           {{"type", "image_url"},
                            {"image_url",
                             {{"url", absl::StrCat("data:image/png;base64,",
                                                   absl::Base64Escape(request.png))}}}}})}}})},
      {"response_format",
       {{"type", "json_schema"},
        {"json_schema",
         {{"name", std::string(ToString(request.task))},
          {"strict", true},
          {"schema", AnswerSchema(request.task)}}}}}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace mosdat

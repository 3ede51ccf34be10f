#include "vlm-gateway/answer_parser.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/utf8.h"

namespace mosdat {
namespace {

using Json = nlohmann::json;

std::string_view Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && absl::ascii_isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && absl::ascii_isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}
bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

absl::Status Garbage(std::string_view why, std::string_view answer) {
  return absl::InternalError(absl::StrCat("the model's answer is not the JSON object asked for (",
                                          std::string(why), "); it answered: \"", Excerpt(answer),
                                          "\""));
}

// Removes `open`...`close` when they wrap the whole text.
bool Unwrap(std::string_view* text, std::string_view open, std::string_view close) {
  if (!StartsWith(*text, open) || !EndsWith(*text, close) ||
      text->size() < open.size() + close.size()) {
    return false;
  }
  *text = Trim(text->substr(open.size(), text->size() - open.size() - close.size()));
  return true;
}

absl::StatusOr<Json> ParseObject(std::string_view content) {
  absl::StatusOr<std::string> text = ExtractAnswerJson(content);
  if (!text.ok()) return text.status();
  Json json = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Garbage("not JSON", content);
  if (!json.is_object())
    return Garbage(absl::StrCat("JSON ", json.type_name(), ", not an object"), content);
  return json;
}

// Unknown keys mean the model did not follow the schema; its other values are suspect.
absl::Status OnlyKeys(const Json& json, std::initializer_list<std::string_view> allowed,
                      std::string_view content) {
  for (const auto& [key, value] : json.items()) {
    bool known = false;
    std::string names;
    for (std::string_view name : allowed) {
      known = known || key == name;
      absl::StrAppend(&names, names.empty() ? "" : ", ", Absl(name));
    }
    if (!known) {
      return Garbage(
          absl::StrCat("unexpected key \"", Excerpt(key, 40), "\"; the schema has only ", names),
          content);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<double> Number(const Json& json, const char* key, std::string_view content) {
  auto it = json.find(key);
  if (it == json.end()) return Garbage(absl::StrCat("\"", key, "\" is missing"), content);
  if (!it->is_number()) {
    return Garbage(absl::StrCat("\"", key, "\" is a ", it->type_name(), ", not a number"), content);
  }
  double value = it->get<double>();
  if (!std::isfinite(value)) return Garbage(absl::StrCat("\"", key, "\" is not finite"), content);
  return value;
}

}  // namespace

std::string Excerpt(std::string_view text, size_t max_chars) {
  std::string out;
  text = Trim(text);
  for (char c : Utf8Prefix(text, max_chars)) {
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

absl::StatusOr<ModelMessage> ParseChatCompletion(std::string_view body) {
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InternalError(absl::StrCat(
        "the server's response is not a chat-completions JSON object: \"", Excerpt(body), "\""));
  }
  if (auto error = json.find("error"); error != json.end() && !error->is_null()) {
    std::string message =
        error->is_object() && error->contains("message") && (*error)["message"].is_string()
            ? (*error)["message"].get<std::string>()
            : error->dump();
    return absl::InternalError(
        absl::StrCat("the server answered with an error object: ", Excerpt(message)));
  }
  auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return absl::InternalError(
        absl::StrCat("the server's response has no choices: \"", Excerpt(body), "\""));
  }
  const Json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return absl::InternalError(
        absl::StrCat("the server's first choice has no message: \"", Excerpt(body), "\""));
  }
  ModelMessage result;
  if (auto reason = choice.find("finish_reason"); reason != choice.end() && reason->is_string()) {
    result.finish_reason = reason->get<std::string>();
  }
  // reasoning_content / reasoning are the model thinking aloud: never the answer.
  auto content = message->find("content");
  if (content == message->end() || content->is_null()) return result;
  if (content->is_string()) {
    result.content = content->get<std::string>();
  } else if (content->is_array()) {  // [{"type": "text", "text": ...}, ...]
    for (const Json& part : *content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string()) {
        result.content += part["text"].get<std::string>();
      }
    }
  } else {
    return absl::InternalError(absl::StrCat("the message content is a ", content->type_name(),
                                            ", not text: \"", Excerpt(body), "\""));
  }
  return result;
}

absl::StatusOr<std::string> ExtractAnswerJson(std::string_view content) {
  std::string_view text = content;
  if (size_t end = text.rfind("</think>"); end != std::string_view::npos) {
    text = text.substr(end + std::string_view("</think>").size());
  } else if (StartsWith(Trim(text), "<think>")) {
    return Garbage("it was still thinking when the answer ended: no </think>", content);
  }
  text = Trim(text);
  while (Unwrap(&text, "<|begin_of_box|>", "<|end_of_box|>") ||
         Unwrap(&text, "<answer>", "</answer>")) {
  }
  if (StartsWith(text, "```")) {
    size_t newline = text.find('\n');
    std::string_view tag =
        newline == std::string_view::npos ? "" : Trim(text.substr(3, newline - 3));
    if (newline == std::string_view::npos || !EndsWith(text, "```") ||
        !(tag.empty() || absl::EqualsIgnoreCase(Absl(tag), "json"))) {
      return Garbage("a code fence that is not one ```json block", content);
    }
    text = Trim(text.substr(newline + 1, text.size() - newline - 1 - 3));
  }
  if (text.empty()) return Garbage("empty", content);
  return std::string(text);
}

absl::StatusOr<LocalizeAnswer> ParseLocalizeAnswer(std::string_view content) {
  absl::StatusOr<Json> json = ParseObject(content);
  if (!json.ok()) return json.status();
  if (absl::Status s = OnlyKeys(*json, {"found", "x", "y", "confidence"}, content); !s.ok()) {
    return s;
  }
  LocalizeAnswer answer;
  auto found = json->find("found");
  if (found == json->end()) return Garbage("\"found\" is missing", content);
  if (!found->is_boolean()) {
    return Garbage(absl::StrCat("\"found\" is a ", found->type_name(), ", not true/false"),
                   content);
  }
  answer.found = found->get<bool>();
  if (!answer.found) return answer;  // x, y and confidence carry no meaning then
  absl::StatusOr<double> x = Number(*json, "x", content);
  if (!x.ok()) return x.status();
  absl::StatusOr<double> y = Number(*json, "y", content);
  if (!y.ok()) return y.status();
  absl::StatusOr<double> confidence = Number(*json, "confidence", content);
  if (!confidence.ok()) return confidence.status();
  if (*confidence < 0 || *confidence > 1) {
    return Garbage(absl::StrCat("\"confidence\" ", *confidence, " is outside 0..1"), content);
  }
  answer.x = *x;
  answer.y = *y;
  answer.confidence = *confidence;
  return answer;
}

absl::StatusOr<VerifyAnswer> ParseVerifyAnswer(std::string_view content) {
  absl::StatusOr<Json> json = ParseObject(content);
  if (!json.ok()) return json.status();
  if (absl::Status s = OnlyKeys(*json, {"answer", "reason"}, content); !s.ok()) return s;
  VerifyAnswer answer;
  auto value = json->find("answer");
  if (value == json->end()) return Garbage("\"answer\" is missing", content);
  if (value->is_boolean()) {
    answer.answer = value->get<bool>();
  } else if (value->is_string() && absl::EqualsIgnoreCase(value->get<std::string>(), "yes")) {
    answer.answer = true;
  } else if (value->is_string() && absl::EqualsIgnoreCase(value->get<std::string>(), "no")) {
    answer.answer = false;
  } else {
    return Garbage(
        absl::StrCat("\"answer\" is ", Excerpt(value->dump(), 40), ", not \"yes\" or \"no\""),
        content);
  }
  auto reason = json->find("reason");
  if (reason == json->end()) return Garbage("\"reason\" is missing", content);
  if (!reason->is_string()) {
    return Garbage(absl::StrCat("\"reason\" is a ", reason->type_name(), ", not a string"),
                   content);
  }
  answer.reason = reason->get<std::string>();
  return answer;
}

std::string ToJson(const LocalizeAnswer& answer) {
  Json json = {{"found", answer.found}};
  if (answer.found) {
    json["x"] = answer.x;
    json["y"] = answer.y;
    json["confidence"] = answer.confidence;
  }
  return json.dump();
}

std::string ToJson(const VerifyAnswer& answer) {
  return Json{{"answer", answer.answer ? "yes" : "no"}, {"reason", answer.reason}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace mosdat

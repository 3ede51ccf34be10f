#include "mcp/tool.h"

namespace mosdat::mcp {

using nlohmann::json;

ToolResult ToolResult::Text(std::string text) {
  ToolResult result;
  result.content.push_back({{"type", "text"}, {"text", std::move(text)}});
  return result;
}

ToolResult ToolResult::Error(std::string message) {
  ToolResult result = Text(std::move(message));
  result.is_error = true;
  return result;
}

ToolResult ToolResult::Json(json object) {
  ToolResult result = Text(object.dump(-1, ' ', false, json::error_handler_t::replace));
  result.structured = std::move(object);
  return result;
}

ToolResult& ToolResult::AddImage(const std::string& base64, const std::string& mime_type) {
  content.push_back({{"type", "image"}, {"data", base64}, {"mimeType", mime_type}});
  return *this;
}

json Tool::Describe() const {
  json tool = {{"name", name}, {"description", description}, {"inputSchema", input_schema}};
  if (!title.empty()) tool["title"] = title;
  json annotations = {
      {"readOnlyHint", read_only}, {"destructiveHint", destructive}, {"openWorldHint", false}};
  if (!title.empty()) annotations["title"] = title;
  tool["annotations"] = std::move(annotations);
  return tool;
}

}  // namespace mosdat::mcp

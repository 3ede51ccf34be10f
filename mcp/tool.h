// One MCP tool: its name, what the model reads about it, the JSON Schema of its
// arguments, its annotations, and what calling it does. The protocol (mcp_server.h)
// lists and calls tools; it knows nothing of what they act on.
#ifndef MOSDAT_MCP_TOOL_H_
#define MOSDAT_MCP_TOOL_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mosdat::mcp {

// A tool's answer (the protocol's CallToolResult): content items the model reads, and
// whether the tool failed. A failure is the tool's answer, not a protocol error, so the
// model sees why and can try again differently.
struct ToolResult {
  nlohmann::json content = nlohmann::json::array();  // {"type": "text"|"image", ...}
  nlohmann::json structured;                         // an object, or null for none
  bool is_error = false;

  static ToolResult Text(std::string text);
  static ToolResult Error(std::string message);
  // `object` as compact JSON text, and as structured content.
  static ToolResult Json(nlohmann::json object);
  ToolResult& AddImage(const std::string& base64, const std::string& mime_type);
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;  // a JSON Schema object ({"type": "object", ...})
  bool read_only = false;       // annotations: readOnlyHint
  bool destructive = false;     // annotations: destructiveHint (acts on the VM)
  // Called with the arguments, already checked against input_schema's required
  // properties and types (tool_arguments.h).
  std::function<ToolResult(const nlohmann::json& arguments)> call;

  // The tool as tools/list shows it.
  nlohmann::json Describe() const;
};

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_TOOL_H_

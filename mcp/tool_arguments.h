// Checks a tool call's arguments against the tool's input schema, so a tool body reads
// fields it knows are there and of the right type. The schemas are this project's own,
// so the subset understood is what they use: an object with typed properties
// (string, integer, number, boolean, object, array of those), "required", "enum",
// "minimum"/"maximum" and "additionalProperties": false. A mistake is named by its
// argument, for the model to correct.
#ifndef MOSDAT_MCP_TOOL_ARGUMENTS_H_
#define MOSDAT_MCP_TOOL_ARGUMENTS_H_

#include <nlohmann/json.hpp>

#include "absl/status/status.h"

namespace mosdat::mcp {

// InvalidArgument naming the first argument that does not fit `schema`.
absl::Status CheckArguments(const nlohmann::json& schema, const nlohmann::json& arguments);

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_TOOL_ARGUMENTS_H_

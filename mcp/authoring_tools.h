// The MCP tools of `mosdat mcp`: the authoring API's operations (live/authoring_api.h)
// for coding agents — list_vms, open_session, capture (the screen as image content),
// describe, find_accessible, localize, verify, act, run_steps, append_step, validate,
// export_yaml, close_session. Tools that change the VM (act, run_steps) carry the
// destructive annotation and do nothing until called with "confirm": true; without it
// they answer what they would do. A refusal of the live server (bad field, unknown
// session) and an unreachable server or VM are tool errors the model can read; a step
// that ran and failed, or a model that did not find the thing, is a normal answer.
#ifndef MOSDAT_MCP_AUTHORING_TOOLS_H_
#define MOSDAT_MCP_AUTHORING_TOOLS_H_

#include <vector>

#include "live/authoring_client.h"
#include "mcp/tool.h"

namespace mosdat::mcp {

// The tools, calling `api` (which must outlive them).
std::vector<Tool> AuthoringTools(const AuthoringClient& api);

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_AUTHORING_TOOLS_H_

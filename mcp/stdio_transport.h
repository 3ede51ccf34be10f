// The stdio transport: one JSON-RPC message per line on `in`, one reply per line on
// `out` (compact JSON, so never a newline inside), nothing else on `out` — logs go to
// stderr. A line longer than kMaxMessageBytes, or one that is not JSON, is answered with
// a parse error and skipped; the server goes on with the next line.
#ifndef MOSDAT_MCP_STDIO_TRANSPORT_H_
#define MOSDAT_MCP_STDIO_TRANSPORT_H_

#include <cstddef>
#include <istream>
#include <ostream>

#include "mcp/mcp_server.h"

namespace mosdat::mcp {

// Serves `server` until `in` ends.
void ServeStdio(McpServer& server, std::istream& in, std::ostream& out);

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_STDIO_TRANSPORT_H_

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

// Tool calls run concurrently (a few at a time), each answered when it is done, so a
// long call holds neither a ping nor the next call; a call the client cancels
// (notifications/cancelled) gets no answer, as the protocol asks. The rest is answered
// in order.
// Serves `server` until `in` ends and every call running then has finished.
void ServeStdio(McpServer& server, std::istream& in, std::ostream& out);

}  // namespace mosdat::mcp

#endif  // MOSDAT_MCP_STDIO_TRANSPORT_H_

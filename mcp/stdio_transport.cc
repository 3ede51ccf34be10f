#include "mcp/stdio_transport.h"

#include <string>

#include "core/json_depth.h"

namespace mosdat::mcp {
namespace {

// The next line of `in` without its end; false at the end of input. A line longer than
// kMaxMessageBytes is read to its end but kept empty, with *too_long set.
bool ReadLine(std::istream& in, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  std::streambuf* buffer = in.rdbuf();
  bool any = false;
  for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
    any = true;
    if (c == '\n') return true;
    if (line->size() >= kMaxMessageBytes) {
      *too_long = true;
      line->clear();
      line->shrink_to_fit();
    }
    if (!*too_long) line->push_back(static_cast<char>(c));
  }
  return any;
}

void Write(std::ostream& out, const nlohmann::json& message) {
  out << message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out.flush();
}

}  // namespace

void ServeStdio(McpServer& server, std::istream& in, std::ostream& out) {
  LegacyConnection connection;
  std::string line;
  bool too_long = false;
  while (ReadLine(in, &line, &too_long)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Reply reply;
    if (too_long) {
      reply = McpServer::ParseError("a message longer than " + std::to_string(kMaxMessageBytes) +
                                    " bytes");
    } else if (line.find_first_not_of(" \t") == std::string::npos) {
      continue;
    } else {
      nlohmann::json message = mosdat::ParsePeerJson(line);
      reply = message.is_discarded()
                  ? McpServer::ParseError("the line is not JSON (or nests too deeply)")
                  : server.HandleStdio(message, connection);
    }
    if (reply.message) Write(out, *reply.message);
  }
}

}  // namespace mosdat::mcp

#include "mcp/stdio_transport.h"

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

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

// One stdio connection: tool calls run on threads of their own (at most
// kMaxConcurrentCalls), so a long one neither holds a ping nor the next call, and one
// the client cancels gets no reply; everything else is answered in order, at once.
class StdioConnection {
 public:
  StdioConnection(McpServer& server, std::ostream& out) : server_(server), out_(out) {}
  ~StdioConnection() {  // every call answered (or dropped) before the input's end returns
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return active_ == 0; });
  }

  void Take(const nlohmann::json& message) {
    const bool call = message.is_object() &&
                      message.value("method", nlohmann::json()) == "tools/call" &&
                      message.contains("id");
    if (message.is_object() &&
        message.value("method", nlohmann::json()) == "notifications/cancelled") {
      const nlohmann::json params = message.value("params", nlohmann::json::object());
      if (params.is_object() && params.contains("requestId")) {
        std::lock_guard lock(mutex_);
        if (running_ids_.count(params["requestId"].dump())) {
          cancelled_.insert(params["requestId"].dump());
        }
      }
    }
    if (!call) {
      Write(server_.HandleStdio(message, connection_));
      return;
    }
    const std::string id = message["id"].dump();
    {
      std::unique_lock lock(mutex_);
      room_.wait(lock, [&] { return active_ < kMaxConcurrentCalls; });
      running_ids_.insert(id);
      ++active_;
    }
    std::thread([this, message, id, connection = connection_]() mutable {
      Reply reply = server_.HandleStdio(message, connection);
      bool cancelled;
      {
        std::lock_guard lock(mutex_);
        running_ids_.erase(id);
        cancelled = cancelled_.erase(id) > 0;
      }
      // A cancelled request gets no reply (the client has stopped waiting for it).
      if (!cancelled) Write(reply);
      // Last: once active_ is 0 the connection may go.
      std::lock_guard lock(mutex_);
      --active_;
      room_.notify_all();
    }).detach();
  }

  void Write(const Reply& reply) {
    if (!reply.message) return;
    std::lock_guard lock(out_mutex_);
    out_ << reply.message->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out_.flush();
  }

 private:
  static constexpr size_t kMaxConcurrentCalls = 4;
  McpServer& server_;
  std::ostream& out_;
  LegacyConnection connection_;  // changed by initialize, answered in order
  std::mutex out_mutex_;
  std::mutex mutex_;
  std::condition_variable room_;
  std::set<std::string> running_ids_;  // the calls running, by their ids' JSON
  std::set<std::string> cancelled_;
  size_t active_ = 0;  // calls whose threads have not finished
};

}  // namespace

void ServeStdio(McpServer& server, std::istream& in, std::ostream& out) {
  StdioConnection connection(server, out);
  std::string line;
  bool too_long = false;
  while (ReadLine(in, &line, &too_long)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (too_long) {
      connection.Write(McpServer::ParseError("a message longer than " +
                                             std::to_string(kMaxMessageBytes) + " bytes"));
    } else if (line.find_first_not_of(" \t") != std::string::npos) {
      nlohmann::json message = mosdat::ParsePeerJson(line);
      if (message.is_discarded()) {
        connection.Write(McpServer::ParseError("the line is not JSON (or nests too deeply)"));
      } else {
        connection.Take(message);
      }
    }
  }
}

}  // namespace mosdat::mcp

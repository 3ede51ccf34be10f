// An httplib server listening on host:port and serving on its own thread, until this
// object goes: what the live server and the MCP server's HTTP transport both need.
#ifndef MOSDAT_LIVE_HTTP_LISTENER_H_
#define MOSDAT_LIVE_HTTP_LISTENER_H_

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace mosdat {

// Whether `listen` is an address Start could bind (host:port, port 0 allowed), without
// binding it: InvalidArgument saying what is wrong.
absl::Status CheckListenAddress(const std::string& listen);

// Whether the request's body is one httplib cannot bound by the server's payload limit
// and would read whole into memory: a chunked body, or a POST/PUT/PATCH without
// Content-Length. A server refuses those (411) from its pre-routing handler, which runs
// before the body is read.
bool BodyUnbounded(const httplib::Request& request);

// Whether `listen`'s host is a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackListen(const std::string& listen);

class HttpListener {
 public:
  // Binds `server` (its routes already set; it must outlive this) to `listen`, host:port
  // with port 0 for any free one, and serves it. InvalidArgument for a bad address,
  // Unavailable when it cannot be bound. Serving before it returns.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(httplib::Server& server,
                                                             const std::string& listen);
  ~HttpListener();  // stops serving and waits for the thread

  int port() const { return port_; }
  std::string url() const;  // http://host:port

 private:
  explicit HttpListener(httplib::Server& server) : server_(server) {}
  httplib::Server& server_;
  std::string host_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> served_{false};  // the serving thread has returned
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_HTTP_LISTENER_H_

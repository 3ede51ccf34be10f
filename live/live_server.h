// The HTTP side of `mosdat live`: the Author Workbench page (GET /, plain HTML served
// from the binary; it logs in with the token), the authoring API (authoring_api.h) and
// the runs of a results directory (run_board.h: GET /runs) behind HttpAuth, POST
// /login and /logout for browsers, GET /healthz. Listens on loopback unless told
// otherwise; request bodies are bounded; idle authoring sessions expire.
#ifndef MOSDAT_LIVE_LIVE_SERVER_H_
#define MOSDAT_LIVE_LIVE_SERVER_H_

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/scenario_parser.h"
#include "live/author_sessions.h"
#include "live/http_auth.h"
#include "live/http_listener.h"
#include "live/run_board.h"
#include "live/screen_backend.h"
#include "live/sse_streams.h"

namespace mosdat {

struct LiveServerOptions {
  std::string listen = "127.0.0.1:8082";  // host:port; port 0 = any free one
  std::string token;                      // required: what callers present
  absl::Duration session_idle_ttl = absl::Minutes(30);
  size_t max_sessions = 8;
  ScenarioOptions scenario_options;  // for validating drafts (the config's variables)
  std::string results_root;          // the runs page shows its runs; "" = no runs page
};

class LiveServer {
 public:
  // Binds and starts serving; InvalidArgument for a bad address or an empty token,
  // Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<LiveServer>> Start(ScreenBackend& backend,
                                                           LiveServerOptions options);
  ~LiveServer();  // stops serving, closes every authoring session

  int port() const { return listener_->port(); }
  std::string url() const;

 private:
  static constexpr size_t kMaxStreams = 8;  // server-sent event streams open at once
  LiveServer(ScreenBackend& backend, LiveServerOptions options);
  LiveServerOptions options_;
  HttpAuth auth_;
  AuthorSessions sessions_;
  SseStreams streams_{kMaxStreams};
  std::unique_ptr<RunBoard> runs_;
  httplib::Server server_;
  std::unique_ptr<HttpListener> listener_;  // declared last: it stops first
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_LIVE_SERVER_H_

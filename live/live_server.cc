#include "live/live_server.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "live/authoring_api.h"
#include "live/held_jobs_api.h"
#include "live/http_json.h"

namespace mosdat {

std::string_view WorkbenchPage();  // live/pages/workbench.html, embedded by CMake

namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;

}  // namespace

LiveServer::LiveServer(ScreenBackend& backend, LiveServerOptions options)
    : options_(std::move(options)),
      auth_(options_.token),
      sessions_(backend, options_.session_idle_ttl, options_.max_sessions) {
  if (!options_.results_root.empty()) runs_ = std::make_unique<RunBoard>(options_.results_root);
}

absl::StatusOr<std::unique_ptr<LiveServer>> LiveServer::Start(ScreenBackend& backend,
                                                              LiveServerOptions options) {
  if (options.token.empty()) return absl::InvalidArgumentError("the live server needs a token");
  std::unique_ptr<LiveServer> server(new LiveServer(backend, std::move(options)));
  httplib::Server& http = server->server_;
  http.set_payload_max_length(kMaxBodyBytes);
  // Every open stream holds a worker: enough workers that the most streams still leave
  // room for the pages' calls (httplib's default pool may be no bigger than the streams).
  http.new_task_queue = [] { return new httplib::ThreadPool(LiveServer::kMaxStreams + 16); };
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  // Before the body is read: one httplib could not bound is refused, not buffered.
  http.set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    if (!BodyUnbounded(request)) return httplib::Server::HandlerResponse::Unhandled;
    Fail(response, 411, "send the body with a Content-Length (chunked bodies are refused)");
    return httplib::Server::HandlerResponse::Handled;
  });
  LiveServer* self = server.get();
  http.Post("/login", [self](const httplib::Request& request, httplib::Response& response) {
    self->auth_.Login(request, response);
  });
  http.Post("/logout", [self](const httplib::Request& request, httplib::Response& response) {
    self->auth_.Logout(request, response);
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& response) {
    ServePage(WorkbenchPage(), response);
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"ok\":true}", "application/json");
  });
  AddAuthoringApi(http, server->auth_, server->sessions_, server->streams_,
                  server->options_.scenario_options);
  if (server->runs_) AddRunBoard(http, server->auth_, server->streams_, *server->runs_);
  AddHeldJobsApi(http, server->auth_, backend);
  http.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty()) return;  // a handler already said why
    response.set_content(
        nlohmann::json{{"ok", false},
                       {"error", response.status == 404 ? "no such endpoint"
                                                        : absl::StrCat("HTTP ", response.status)}}
            .dump(),
        "application/json");
  });

  absl::StatusOr<std::unique_ptr<HttpListener>> listener =
      HttpListener::Start(http, server->options_.listen);
  if (!listener.ok()) {
    if (!absl::IsInvalidArgument(listener.status())) return listener.status();
    return absl::InvalidArgumentError(absl::StrCat("--listen ", listener.status().message()));
  }
  server->listener_ = std::move(*listener);
  return server;
}

LiveServer::~LiveServer() {
  streams_.Stop();  // open streams end at their next tick, freeing their workers
  listener_.reset();
}

std::string LiveServer::url() const { return listener_->url(); }

}  // namespace mosdat

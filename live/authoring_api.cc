#include "live/authoring_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

using nlohmann::json;
using Session = AuthorSessions::Session;

void Answer(httplib::Response& response, int status, json body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

void Fail(httplib::Response& response, int status, const std::string& message) {
  Answer(response, status, {{"ok", false}, {"error", message}});
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 502;
    case absl::StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

void Fail(httplib::Response& response, const absl::Status& status) {
  Fail(response, HttpStatusOf(status), std::string(status.message()));
}

// The request's JSON object body; nullopt after answering 400.
std::optional<json> Body(const httplib::Request& request, httplib::Response& response) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    Fail(response, 400, "the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

// A string field; "" after answering 400 when it is missing or not a string.
std::string Field(const json& body, const char* name, httplib::Response& response) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    Fail(response, 400, absl::StrCat("\"", name, "\" (a non-empty string) is required"));
    return "";
  }
  return it->get<std::string>();
}

std::optional<int> IntField(const json& body, const char* name, httplib::Response& response) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_number_integer()) {
    Fail(response, 400, absl::StrCat("\"", name, "\" (an integer) is required"));
    return std::nullopt;
  }
  const int64_t value = it->get<int64_t>();
  if (value < 0 || value > 100000) {
    Fail(response, 400, absl::StrCat("\"", name, "\" is out of range"));
    return std::nullopt;
  }
  return static_cast<int>(value);
}

struct ActionKind {
  const char* name;
  ScreenAction::Kind kind;
  bool pointer;  // takes x, y
};
constexpr ActionKind kActions[] = {
    {"hover", ScreenAction::Kind::kHover, true},
    {"click", ScreenAction::Kind::kClick, true},
    {"double_click", ScreenAction::Kind::kDoubleClick, true},
    {"right_click", ScreenAction::Kind::kRightClick, true},
    {"scroll", ScreenAction::Kind::kScroll, true},
    {"type", ScreenAction::Kind::kType, false},
    {"key", ScreenAction::Kind::kKey, false},
};

// The scenario step that does what `action` did.
json StepFor(const ActionKind& kind, const ScreenAction& action) {
  if (kind.kind == ScreenAction::Kind::kType) return {{"type", action.text}};
  if (kind.kind == ScreenAction::Kind::kKey) return {{"key", action.text}};
  json at = {{"x", action.x}, {"y", action.y}};
  if (kind.kind == ScreenAction::Kind::kScroll) at["dy"] = action.scroll_dy;
  return {{kind.name, at}};
}

class Api {
 public:
  Api(HttpAuth& auth, AuthorSessions& sessions, ScenarioOptions options)
      : auth_(auth), sessions_(sessions), options_(std::move(options)) {}

  // Wraps a handler: the caller is authenticated (its principal passed on), stale
  // sessions are expired first.
  httplib::Server::Handler Guarded(
      std::function<void(const std::string&, const httplib::Request&, httplib::Response&)> body) {
    return [this, body](const httplib::Request& request, httplib::Response& response) {
      int status = 401;
      std::string why;
      std::optional<std::string> principal = auth_.Check(request, &status, &why);
      if (!principal) {
        Fail(response, status, why);
        return;
      }
      sessions_.ExpireIdle();
      body(*principal, request, response);
    };
  }

  // The session a request names (field "session_id", or the query's "session"); null
  // after answering.
  std::shared_ptr<Session> SessionOf(const std::string& who, const std::string& id,
                                     httplib::Response& response) {
    if (id.empty()) return nullptr;
    absl::StatusOr<std::shared_ptr<Session>> session = sessions_.Find(who, id);
    if (!session.ok()) {
      Fail(response, session.status());
      return nullptr;
    }
    return *session;
  }

  void Vms(const std::string&, const httplib::Request&, httplib::Response& response) {
    json vms = json::array();
    for (const AuthorVm& vm : sessions_.backend().Vms()) {
      json entry = {
          {"name", vm.name}, {"provider", vm.provider}, {"os", vm.os}, {"available", vm.available}};
      if (!vm.note.empty()) entry["note"] = vm.note;
      vms.push_back(std::move(entry));
    }
    Answer(response, 200, {{"ok", true}, {"vms", vms}});
  }

  void Open(const std::string& who, const httplib::Request& request, httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    const std::string vm = Field(*body, "vm", response);
    if (vm.empty()) return;
    absl::StatusOr<std::shared_ptr<Session>> session = sessions_.Open(who, vm);
    if (!session.ok()) return Fail(response, session.status());
    std::lock_guard lock((*session)->mutex);
    absl::StatusOr<ScreenCapture> screen =
        sessions_.backend().Capture((*session)->screen, /*after_input=*/false);
    Answer(response, 200,
           {{"ok", true},
            {"session_id", (*session)->id},
            {"vm", vm},
            {"width", screen.ok() ? screen->width : 0},
            {"height", screen.ok() ? screen->height : 0}});
  }

  void Capture(const std::string& who, const httplib::Request& request,
               httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    std::shared_ptr<Session> session =
        SessionOf(who, Field(*body, "session_id", response), response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<ScreenCapture> screen =
        sessions_.backend().Capture(session->screen, session->last_input > 0);
    if (!screen.ok()) return Fail(response, screen.status());
    Answer(response, 200,
           {{"ok", true},
            {"width", screen->width},
            {"height", screen->height},
            {"frame_seq", screen->frame_seq},
            {"png_base64", absl::Base64Escape(screen->png)}});
  }

  void ScreenPng(const std::string& who, const httplib::Request& request,
                 httplib::Response& response) {
    if (!request.has_param("session")) return Fail(response, 400, "?session=ID is required");
    std::shared_ptr<Session> session = SessionOf(who, request.get_param_value("session"), response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<ScreenCapture> screen =
        sessions_.backend().Capture(session->screen, session->last_input > 0);
    if (!screen.ok()) return Fail(response, screen.status());
    response.set_header("Cache-Control", "no-store");
    response.set_content(screen->png, "image/png");
  }

  void Act(const std::string& who, const httplib::Request& request, httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    const std::string id = Field(*body, "session_id", response);
    if (id.empty()) return;
    const std::string name = Field(*body, "action", response);
    if (name.empty()) return;
    const ActionKind* kind = nullptr;
    for (const ActionKind& k : kActions) {
      if (name == k.name) kind = &k;
    }
    if (kind == nullptr) {
      return Fail(response, 400,
                  absl::StrCat("unknown action \"", name,
                               "\": hover, click, double_click, right_click, scroll, type, key"));
    }
    // Checked before anything else about the action: without it nothing is done.
    auto confirm = body->find("confirm");
    if (confirm == body->end() || !confirm->is_boolean() || !confirm->get<bool>()) {
      return Fail(response, 400,
                  "actions change the VM: send \"confirm\": true to carry this one out");
    }
    ScreenAction action{.kind = kind->kind};
    if (kind->pointer) {
      std::optional<int> x = IntField(*body, "x", response);
      if (!x) return;
      std::optional<int> y = IntField(*body, "y", response);
      if (!y) return;
      action.x = *x;
      action.y = *y;
      if (kind->kind == ScreenAction::Kind::kScroll) {
        auto dy = body->find("dy");
        action.scroll_dy = dy != body->end() && dy->is_number_integer() ? dy->get<int>() : 1;
      }
    } else {
      action.text =
          Field(*body, kind->kind == ScreenAction::Kind::kType ? "text" : "key", response);
      if (action.text.empty()) return;
    }
    std::shared_ptr<Session> session = SessionOf(who, id, response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<uint64_t> seq = sessions_.backend().Act(session->screen, action);
    if (!seq.ok()) return Fail(response, seq.status());
    session->last_input = *seq;
    Answer(response, 200, {{"ok", true}, {"input_seq", *seq}, {"step", StepFor(*kind, action)}});
  }

  void Step(const std::string& who, const httplib::Request& request, httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    std::shared_ptr<Session> session =
        SessionOf(who, Field(*body, "session_id", response), response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::Status changed;
    if (body->contains("steps")) {
      changed = session->draft.Replace((*body)["steps"]);
    } else if (body->contains("step")) {
      changed = session->draft.Append((*body)["step"]);
    } else {
      changed = absl::InvalidArgumentError("send \"step\" (one to append) or \"steps\" (all)");
    }
    if (!changed.ok()) return Fail(response, changed);
    Answer(response, 200, {{"ok", true}, {"steps", session->draft.steps()}});
  }

  void Validate(const std::string& who, const httplib::Request& request,
                httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    std::shared_ptr<Session> session =
        SessionOf(who, Field(*body, "session_id", response), response);
    if (!session) return;
    const std::string name = body->contains("name") && (*body)["name"].is_string()
                                 ? (*body)["name"].get<std::string>()
                                 : std::string("draft");
    std::lock_guard lock(session->mutex);
    std::vector<std::string> problems = session->draft.Validate(name, options_);
    Answer(response, 200,
           {{"ok", problems.empty()},
            {"problems", problems},
            {"steps", session->draft.steps().size()}});
  }

  void Export(const std::string& who, const httplib::Request& request,
              httplib::Response& response) {
    if (!request.has_param("session") || !request.has_param("name")) {
      return Fail(response, 400, "?session=ID&name=NAME is required");
    }
    std::shared_ptr<Session> session = SessionOf(who, request.get_param_value("session"), response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<std::string> yaml = session->draft.ExportYaml(request.get_param_value("name"));
    if (!yaml.ok()) return Fail(response, yaml.status());
    Answer(response, 200,
           {{"ok", true}, {"name", request.get_param_value("name")}, {"yaml", *yaml}});
  }

  void Close(const std::string& who, const httplib::Request& request, httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    const std::string id = Field(*body, "session_id", response);
    if (id.empty()) return;
    absl::Status closed = sessions_.Close(who, id);
    if (!closed.ok() && closed.code() != absl::StatusCode::kUnavailable) {
      return Fail(response, closed);
    }
    Answer(response, 200, {{"ok", true}});
  }

 private:
  HttpAuth& auth_;
  AuthorSessions& sessions_;
  const ScenarioOptions options_;
};

}  // namespace

void AddAuthoringApi(httplib::Server& server, HttpAuth& auth, AuthorSessions& sessions,
                     ScenarioOptions scenario_options) {
  // Lives as long as the server's handlers: they hold it.
  auto api = std::make_shared<Api>(auth, sessions, std::move(scenario_options));
  using Method = void (Api::*)(const std::string&, const httplib::Request&, httplib::Response&);
  auto route = [api](Method method) {
    return api->Guarded(
        [api, method](const std::string& who, const httplib::Request& request,
                      httplib::Response& response) { ((*api).*method)(who, request, response); });
  };
  server.Get("/api/author/vms", route(&Api::Vms));
  server.Post("/api/author/session", route(&Api::Open));
  server.Post("/api/author/capture", route(&Api::Capture));
  server.Get("/api/author/screen.png", route(&Api::ScreenPng));
  server.Post("/api/author/action", route(&Api::Act));
  server.Post("/api/author/step", route(&Api::Step));
  server.Post("/api/author/validate", route(&Api::Validate));
  server.Get("/api/author/export", route(&Api::Export));
  server.Post("/api/author/close", route(&Api::Close));
}

}  // namespace mosdat

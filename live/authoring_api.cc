#include "live/authoring_api.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "live/frame_stream.h"
#include "live/held_jobs_api.h"
#include "live/http_json.h"
#include "live/semantic_target.h"

namespace mosdat {
namespace {

using nlohmann::json;
using Session = AuthorSessions::Session;

struct ActionKind {
  const char* name;
  ScreenAction::Kind kind;
  bool pointer;  // takes x, y
  bool step;     // runs as a scenario step (shell, wait, launch), not as one input
};
constexpr ActionKind kActions[] = {
    {"hover", ScreenAction::Kind::kHover, true, false},
    {"click", ScreenAction::Kind::kClick, true, false},
    {"double_click", ScreenAction::Kind::kDoubleClick, true, false},
    {"right_click", ScreenAction::Kind::kRightClick, true, false},
    {"scroll", ScreenAction::Kind::kScroll, true, false},
    {"type", ScreenAction::Kind::kType, false, false},
    {"key", ScreenAction::Kind::kKey, false, false},
    {"shell", ScreenAction::Kind::kType, false, true},
    {"wait", ScreenAction::Kind::kType, false, true},
    {"launch", ScreenAction::Kind::kType, false, true},
};
constexpr char kActionNames[] =
    "hover, click, double_click, right_click, scroll, type, key, shell, wait, launch";

// The scenario step of a shell, wait or launch action; nullopt after answering 400.
std::optional<json> StepOfRunAction(const std::string& name, const json& body,
                                    httplib::Response& response) {
  if (name == "wait") {
    auto seconds = body.find("seconds");
    if (seconds == body.end() || !seconds->is_number() || seconds->get<double>() <= 0 ||
        seconds->get<double>() > 300) {
      Fail(response, 400, "\"seconds\" (a number above 0, at most 300) is required");
      return std::nullopt;
    }
    return json{{"wait", *seconds}};
  }
  const std::string command = Field(body, "command", response);
  if (command.empty()) return std::nullopt;
  if (name == "shell") return json{{"shell", command}};
  json launch = {{"command", command}};
  for (const char* key : {"app", "window"}) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string() && !it->get<std::string>().empty()) launch[key] = *it;
  }
  return json{{"launch", launch}};
}

// What a run of steps did, for the caller: the verdict and each finished step.
json RunAnswer(const StepsRun& run) {
  json steps = json::array();
  for (const Event& event : run.events) {
    if (event.type != EventType::kStepFinished && event.type != EventType::kLog) continue;
    json line = json::parse(ToJsonLine(event), nullptr, false);
    if (!line.is_discarded()) steps.push_back(std::move(line));
  }
  return {{"ok", true},
          {"passed", run.verdict == JobVerdict::kPass},
          {"verdict", std::string(ToString(run.verdict))},
          {"reason", run.reason},
          {"events", steps}};
}

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
  Api(HttpAuth& auth, AuthorSessions& sessions, SseStreams& streams, ScenarioOptions options)
      : auth_(auth), sessions_(sessions), streams_(streams), options_(std::move(options)) {}

  // Wraps a handler: the caller is authenticated (its principal passed on), stale
  // sessions are expired first.
  httplib::Server::Handler Guarded(
      std::function<void(const std::string&, const httplib::Request&, httplib::Response&)> body) {
    return GuardedHandler(auth_,
                          [this, body](const std::string& who, const httplib::Request& request,
                                       httplib::Response& response) {
                            sessions_.ExpireIdle();
                            body(who, request, response);
                          });
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
    // {"job"}: take over the screen of a job a failed step holds; {"watch"}: watch a
    // running job's screen; else {"vm"}.
    const bool attach = body->contains("job");
    const bool watch = !attach && body->contains("watch");
    const std::string name = Field(*body, attach ? "job" : watch ? "watch" : "vm", response);
    if (name.empty()) return;
    HeldJob held;
    absl::StatusOr<std::shared_ptr<Session>> session = attach  ? sessions_.Attach(who, name, &held)
                                                       : watch ? sessions_.Watch(who, name)
                                                               : sessions_.Open(who, name);
    if (!session.ok()) return Fail(response, session.status());
    std::lock_guard lock((*session)->mutex);
    json answer = {{"ok", true}, {"session_id", (*session)->id}, {"vm", (*session)->vm}};
    if (attach) {
      // The draft starts as the job's scenario: what the person tries becomes its fix.
      absl::Status started = (*session)->draft.StartFrom(held.scenario_yaml);
      answer["held"] = HeldJson(held);
      answer["steps"] = (*session)->draft.steps();
      if (!started.ok()) answer["draft_note"] = std::string(started.message());
    }
    absl::StatusOr<ScreenCapture> screen =
        sessions_.backend().Capture((*session)->screen, /*after_input=*/false);
    answer["width"] = screen.ok() ? screen->width : 0;
    answer["height"] = screen.ok() ? screen->height : 0;
    Answer(response, 200, answer);
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
      return Fail(response, 400, absl::StrCat("unknown action \"", name, "\": ", kActionNames));
    }
    // Checked before anything else about the action: without it nothing is done.
    auto confirm = body->find("confirm");
    if (confirm == body->end() || !confirm->is_boolean() || !confirm->get<bool>()) {
      return Fail(response, 400,
                  "actions change the VM: send \"confirm\": true to carry this one out");
    }
    if (kind->step) {
      std::optional<json> step = StepOfRunAction(name, *body, response);
      if (!step) return;
      std::shared_ptr<Session> session = SessionOf(who, id, response);
      if (!session) return;
      std::lock_guard lock(session->mutex);
      absl::StatusOr<StepsRun> run = RunSteps(*session, json::array({*step}));
      if (!run.ok()) return Fail(response, run.status());
      json answer = RunAnswer(*run);
      answer["step"] = *step;
      return Answer(response, 200, answer);
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
        action.scroll_dy = 1;
        if (dy != body->end()) {
          if (!dy->is_number_integer() || std::abs(dy->get<int64_t>()) > 100) {
            return Fail(response, 400, "\"dy\" is wheel steps, an integer from -100 to 100");
          }
          action.scroll_dy = dy->get<int>();
        }
      }
    } else {
      action.text =
          Field(*body, kind->kind == ScreenAction::Kind::kType ? "text" : "key", response);
      if (action.text.empty()) return;
    }
    std::shared_ptr<Session> session = SessionOf(who, id, response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    // Asked before acting: what is under the pointer may be gone after the click.
    json targets;
    auto semantic_field = body->find("semantic");
    if (semantic_field != body->end() && !semantic_field->is_boolean()) {
      return Fail(response, 400, "\"semantic\" is true or false");
    }
    const bool semantic = kind->pointer && kind->kind != ScreenAction::Kind::kScroll &&
                          semantic_field != body->end() && semantic_field->get<bool>();
    if (semantic) {
      absl::StatusOr<json> described =
          sessions_.backend().Describe(session->screen, action.x, action.y);
      if (described.ok()) {
        targets =
            SemanticTargets(sessions_.backend(), session->screen, *described, action.x, action.y);
      }
    }
    absl::StatusOr<uint64_t> seq = sessions_.backend().Act(session->screen, action);
    if (!seq.ok()) return Fail(response, seq.status());
    session->last_input = *seq;
    json answer = {{"ok", true}, {"input_seq", *seq}, {"step", StepFor(*kind, action)}};
    if (semantic) {
      answer["coordinate_step"] = answer["step"];
      answer["targets"] = targets;
      if (targets.is_object()) answer["step"] = StepForTarget(name, targets, action.x, action.y);
    }
    Answer(response, 200, answer);
  }

  // Runs `steps` (scenario syntax) in the session; the caller holds its mutex.
  absl::StatusOr<StepsRun> RunSteps(Session& session, const json& steps) {
    ScenarioDraft draft;
    if (absl::Status status = draft.Replace(steps); !status.ok()) return status;
    absl::StatusOr<std::string> yaml = draft.ExportYaml("authoring");
    if (!yaml.ok()) return yaml.status();
    absl::StatusOr<StepsRun> run = sessions_.backend().Run(session.screen, *yaml);
    if (run.ok()) session.last_input = 1;  // steps may have sent input: captures wait for it
    return run;
  }

  // Whether the body confirms an action; answered 400 when not.
  static bool Confirmed(const json& body, httplib::Response& response) {
    auto confirm = body.find("confirm");
    if (confirm != body.end() && confirm->is_boolean() && confirm->get<bool>()) return true;
    Fail(response, 400, "running steps changes the VM: send \"confirm\": true to run them");
    return false;
  }

  void Run(const std::string& who, const httplib::Request& request, httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body || !Confirmed(*body, response)) return;
    json steps;
    if (body->contains("steps")) {
      steps = (*body)["steps"];
    } else if (body->contains("step")) {
      steps = json::array({(*body)["step"]});
    } else {
      return Fail(response, 400, "send \"step\" (one) or \"steps\" (several) to run");
    }
    std::shared_ptr<Session> session =
        SessionOf(who, Field(*body, "session_id", response), response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<StepsRun> run = RunSteps(*session, steps);
    if (!run.ok()) return Fail(response, run.status());
    Answer(response, 200, RunAnswer(*run));
  }

  // The draft from its first step, as a job would run it.
  void Replay(const std::string& who, const httplib::Request& request,
              httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body || !Confirmed(*body, response)) return;
    std::shared_ptr<Session> session =
        SessionOf(who, Field(*body, "session_id", response), response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    if (session->draft.steps().empty()) return Fail(response, 400, "the draft has no steps yet");
    absl::StatusOr<StepsRun> run = RunSteps(*session, session->draft.steps());
    if (!run.ok()) return Fail(response, run.status());
    Answer(response, 200, RunAnswer(*run));
  }

  void Describe(const std::string& who, const httplib::Request& request,
                httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    const std::string id = Field(*body, "session_id", response);
    if (id.empty()) return;
    std::optional<int> x = IntField(*body, "x", response);
    if (!x) return;
    std::optional<int> y = IntField(*body, "y", response);
    if (!y) return;
    std::shared_ptr<Session> session = SessionOf(who, id, response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<json> described = sessions_.backend().Describe(session->screen, *x, *y);
    if (!described.ok()) return Fail(response, described.status());
    json answer = *described;
    answer["ok"] = true;
    // The word under the point, when OCR read one there.
    answer["word"] = nullptr;
    for (const json& word : answer.value("words", json::array())) {
      const json& box = word["box"];
      if (*x >= box.value("x", 0) && *x < box.value("x", 0) + box.value("width", 0) &&
          *y >= box.value("y", 0) && *y < box.value("y", 0) + box.value("height", 0)) {
        answer["word"] = word;
      }
    }
    answer["targets"] = SemanticTargets(sessions_.backend(), session->screen, *described, *x, *y);
    json suggested = json::object();
    for (const char* action : {"click", "double_click", "right_click", "hover"}) {
      suggested[action] = StepForTarget(action, answer["targets"], *x, *y);
    }
    answer["steps"] = suggested;
    Answer(response, 200, answer);
  }

  // Runs the VLM step `step_of(prompt)` (prompt: the body's) in the session: the run,
  // or nullopt after answering — a bad request, or a model that did not answer (none
  // configured, or down), which is not an answer.
  std::optional<StepsRun> RunModelStep(const std::string& who, const httplib::Request& request,
                                       httplib::Response& response,
                                       const std::function<json(const std::string&)>& step_of,
                                       std::string* prompt) {
    std::optional<json> body = Body(request, response);
    if (!body) return std::nullopt;
    const std::string id = Field(*body, "session_id", response);
    if (id.empty()) return std::nullopt;
    *prompt = Field(*body, "prompt", response);
    if (prompt->empty()) return std::nullopt;
    std::shared_ptr<Session> session = SessionOf(who, id, response);
    if (!session) return std::nullopt;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<StepsRun> run = RunSteps(*session, json::array({step_of(*prompt)}));
    if (!run.ok()) {
      Fail(response, run.status());
      return std::nullopt;
    }
    if (run->verdict == JobVerdict::kError || run->verdict == JobVerdict::kConfigError) {
      Fail(response, run->verdict == JobVerdict::kError ? 502 : 400, run->reason);
      return std::nullopt;
    }
    return *std::move(run);
  }

  // Asks the model where `prompt` is, without acting (a localize step with click:
  // false); answers the point and the step that would click it.
  void Localize(const std::string& who, const httplib::Request& request,
                httplib::Response& response) {
    std::string prompt;
    std::optional<StepsRun> run = RunModelStep(
        who, request, response,
        [](const std::string& p) {
          return json{{"localize", {{"prompt", p}, {"click", false}, {"if_visible", true}}}};
        },
        &prompt);
    if (!run) return;
    json answer = {{"ok", true}, {"found", false}, {"step", {{"localize", prompt}}}};
    for (const Event& event : run->events) {
      for (const VlmCall& call : event.vlm_calls) {
        if (call.kind != "localize" || !call.answer) continue;
        answer["found"] = true;
        answer["x"] = call.x;
        answer["y"] = call.y;
        answer["confidence"] = call.confidence;
        answer["model"] = call.model;
        answer["cache_hit"] = call.cache_hit;
      }
    }
    if (run->verdict != JobVerdict::kPass) answer["reason"] = run->reason;
    // What the model said when it did not find it: the step's log says.
    if (!answer["found"].get<bool>()) answer["events"] = RunAnswer(*run)["events"];
    Answer(response, 200, answer);
  }

  // Asks the model a yes/no question about the screen (a verify step).
  void Verify(const std::string& who, const httplib::Request& request,
              httplib::Response& response) {
    std::string prompt;
    std::optional<StepsRun> run = RunModelStep(
        who, request, response,
        [](const std::string& p) {
          return json{{"verify", p}};
        },
        &prompt);
    if (!run) return;
    json answer = {{"ok", true},
                   {"answer", run->verdict == JobVerdict::kPass},
                   {"step", {{"verify", prompt}}}};
    for (const Event& event : run->events) {
      for (const VlmCall& call : event.vlm_calls) {
        if (call.kind != "verify") continue;
        answer["reason"] = call.reason;
        answer["model"] = call.model;
        answer["cache_hit"] = call.cache_hit;
      }
    }
    Answer(response, 200, answer);
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

  // The accessible object a query picks, and the step that clicks it.
  void FindAccessible(const std::string& who, const httplib::Request& request,
                      httplib::Response& response) {
    std::optional<json> body = Body(request, response);
    if (!body) return;
    const std::string id = Field(*body, "session_id", response);
    if (id.empty()) return;
    auto query = body->find("query");
    if (query == body->end() || !query->is_object()) {
      return Fail(response, 400,
                  "\"query\" (an object such as {\"role\": \"push button\", \"name\": "
                  "\"OK\"}) is required");
    }
    std::shared_ptr<Session> session = SessionOf(who, id, response);
    if (!session) return;
    std::lock_guard lock(session->mutex);
    absl::StatusOr<json> found = sessions_.backend().Find(session->screen, *query);
    if (!found.ok()) return Fail(response, found.status());
    json step = *query;
    step.erase("verify");
    Answer(response, 200, {{"ok", true}, {"object", *found}, {"step", {{"atspi", step}}}});
  }

  // The session's screen as server-sent events (frame_stream.h).
  void Stream(const std::string& who, const httplib::Request& request,
              httplib::Response& response) {
    if (!request.has_param("session")) return Fail(response, 400, "?session=ID is required");
    std::shared_ptr<Session> session = SessionOf(who, request.get_param_value("session"), response);
    if (!session) return;
    // A session that only watches a job lives as long as its stream.
    std::function<void()> on_end;
    if (session->watch_only) {
      on_end = [this, who, id = session->id] { sessions_.Close(who, id).IgnoreError(); };
    }
    if (!streams_.Serve(response, kFrameInterval, FrameTick(sessions_.backend(), session->screen),
                        on_end) &&
        on_end) {
      on_end();
    }
  }

  // Who the caller is, and (for a browser login) the CSRF token its POSTs must carry:
  // the page asks after a reload, when it no longer has the one /login answered.
  void WhoAmI(const std::string& who, const httplib::Request& request,
              httplib::Response& response) {
    json answer = {{"ok", true}, {"principal", who}};
    const std::string csrf = auth_.CsrfTokenOf(request);
    if (!csrf.empty()) answer["csrf_token"] = csrf;
    Answer(response, 200, answer);
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
  SseStreams& streams_;
  const ScenarioOptions options_;
};

}  // namespace

void AddAuthoringApi(httplib::Server& server, HttpAuth& auth, AuthorSessions& sessions,
                     SseStreams& streams, ScenarioOptions scenario_options) {
  // Lives as long as the server's handlers: they hold it.
  auto api = std::make_shared<Api>(auth, sessions, streams, std::move(scenario_options));
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
  server.Post("/api/author/run", route(&Api::Run));
  server.Post("/api/author/replay", route(&Api::Replay));
  server.Post("/api/author/describe", route(&Api::Describe));
  server.Post("/api/author/vlm/localize", route(&Api::Localize));
  server.Post("/api/author/vlm/verify", route(&Api::Verify));
  server.Post("/api/author/atspi/find", route(&Api::FindAccessible));
  server.Get("/api/author/stream", route(&Api::Stream));
  server.Get("/api/whoami", route(&Api::WhoAmI));
}

}  // namespace mosdat

// `mosdat author --url URL [--token env:NAME | file:PATH] VERB ...`: the authoring API
// (live/authoring_api.h) for coding agents and scripts, with the original's verbs:
//   vms | doctor | start --vm V | capture --session S [--output FILE.png]
//   localize --session S --prompt P | describe --session S --x X --y Y
//   click --session S --x X --y Y | prompt-click / prompt-hover --session S --prompt P
//   prompt-type --session S --prompt P --text T | type --session S --text T
//   key --session S --key K | step --session S --json STEP | validate --session S [--name N]
//   export --session S --name N [--output FILE.yaml] | close --session S
// Each prints the server's answer as one line of compact JSON (capture and export
// write their file with --output and print where). A verb is the caller's intent, so
// the acting ones send "confirm": true. Exit codes: 0 done; 1 done, but the step failed
// or the model did not find it; 2 the command line or the request was wrong (4xx);
// 4 the server or the VM could not be reached (5xx, connection refused).
#include <httplib.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "core/secret_ref.h"
#include "live/authoring_client.h"

namespace mosdat {
namespace {

using nlohmann::json;

struct AuthorArgs {
  std::string url = "http://127.0.0.1:8082";
  std::string token_ref = "env:MOSDAT_LIVE_TOKEN";
  std::string verb;
  std::string session, vm, prompt, text, key, name, output, step_json;
  int x = -1, y = -1;
};

int Print(const json& answer, int code) {
  std::cout << answer.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  return code;
}

int Usage(const std::string& message) {
  return Print({{"ok", false}, {"error", message}}, kExitUsage);
}

// The answer and the exit code it means.
class AuthorCalls {
 public:
  AuthorCalls(const std::string& url, std::string token) : client_(url, std::move(token)) {}

  std::pair<json, int> Call(const std::string& method, const std::string& path,
                            const json& body = nullptr) {
    AuthoringAnswer answer = method == "GET" ? client_.Get(path) : client_.Post(path, body);
    switch (answer.kind) {
      case AuthoringAnswer::Kind::kUnreachable:
        return {answer.body, kExitInfrastructure};
      case AuthoringAnswer::Kind::kRefused:
        return {answer.body, kExitUsage};
      case AuthoringAnswer::Kind::kDone:
        break;
    }
    return {answer.body, answer.Negative() ? kExitTestFailed : kExitPass};
  }

 private:
  AuthoringClient client_;
};

int RunAuthor(const AuthorArgs& a) {
  absl::StatusOr<std::string> token = SecretRef::ResolveText(a.token_ref);
  if (!token.ok()) return Usage("--token: " + std::string(token.status().message()));
  AuthorCalls api(a.url, *token);
  auto need = [&](const std::string& value, const char* flag) {
    return value.empty()
               ? std::optional<int>(Usage(std::string(flag) + " is required for " + a.verb))
               : std::nullopt;
  };
  auto need_point = [&]() {
    return a.x < 0 || a.y < 0 ? std::optional<int>(Usage("--x and --y are required for " + a.verb))
                              : std::nullopt;
  };
  auto done = [](std::pair<json, int> call) { return Print(call.first, call.second); };
  const json session = {{"session_id", a.session}};
  auto with = [&](json extra) {
    json body = session;
    body.update(extra);
    return body;
  };

  if (a.verb == "vms") return done(api.Call("GET", "/api/author/vms"));
  if (a.verb == "doctor") {
    auto [vms, code] = api.Call("GET", "/api/author/vms");
    return Print({{"ok", code == kExitPass},
                  {"url", a.url},
                  {"token_accepted", code == kExitPass},
                  {"vms", vms.value("vms", json::array())},
                  {"error", vms.value("error", "")}},
                 code);
  }
  if (a.verb == "start") {
    if (auto e = need(a.vm, "--vm")) return *e;
    return done(api.Call("POST", "/api/author/session", {{"vm", a.vm}}));
  }
  if (auto e = need(a.session, "--session")) return *e;
  if (a.verb == "capture") {
    auto [answer, code] = api.Call("POST", "/api/author/capture", session);
    if (code == kExitPass && !a.output.empty()) {
      std::string png;
      if (!absl::Base64Unescape(answer.value("png_base64", ""), &png)) {
        return Print({{"ok", false}, {"error", "the capture is not base64"}}, kExitInfrastructure);
      }
      std::ofstream(a.output, std::ios::binary) << png;
      answer.erase("png_base64");
      answer["output"] = a.output;
    }
    return Print(answer, code);
  }
  if (a.verb == "localize") {
    if (auto e = need(a.prompt, "--prompt")) return *e;
    return done(api.Call("POST", "/api/author/vlm/localize", with({{"prompt", a.prompt}})));
  }
  if (a.verb == "describe") {
    if (auto e = need_point()) return *e;
    return done(api.Call("POST", "/api/author/describe", with({{"x", a.x}, {"y", a.y}})));
  }
  if (a.verb == "click") {
    if (auto e = need_point()) return *e;
    return done(api.Call("POST", "/api/author/action",
                         with({{"action", "click"}, {"x", a.x}, {"y", a.y}, {"confirm", true}})));
  }
  if (a.verb == "prompt-click" || a.verb == "prompt-type") {
    if (auto e = need(a.prompt, "--prompt")) return *e;
    json step = {{"prompt", a.prompt}};
    if (a.verb == "prompt-type") {
      if (auto e = need(a.text, "--text")) return *e;
      step["then_type"] = a.text;
    }
    json run = with({{"step", {{"localize", step}}}, {"confirm", true}});
    auto [answer, code] = api.Call("POST", "/api/author/run", run);
    answer["step"] = json{{"localize", step}};
    return Print(answer, code);
  }
  if (a.verb == "prompt-hover") {
    if (auto e = need(a.prompt, "--prompt")) return *e;
    auto [found, code] = api.Call("POST", "/api/author/vlm/localize", with({{"prompt", a.prompt}}));
    if (code != kExitPass) return Print(found, code);
    return done(api.Call("POST", "/api/author/action",
                         with({{"action", "hover"},
                               {"x", found.value("x", 0)},
                               {"y", found.value("y", 0)},
                               {"confirm", true}})));
  }
  if (a.verb == "type") {
    if (auto e = need(a.text, "--text")) return *e;
    return done(api.Call("POST", "/api/author/action",
                         with({{"action", "type"}, {"text", a.text}, {"confirm", true}})));
  }
  if (a.verb == "key") {
    if (auto e = need(a.key, "--key")) return *e;
    return done(api.Call("POST", "/api/author/action",
                         with({{"action", "key"}, {"key", a.key}, {"confirm", true}})));
  }
  if (a.verb == "step") {
    if (auto e = need(a.step_json, "--json")) return *e;
    json step = json::parse(a.step_json, nullptr, false);
    if (step.is_discarded()) return Usage("--json: not JSON");
    return done(api.Call("POST", "/api/author/step",
                         with(step.is_array() ? json{{"steps", step}} : json{{"step", step}})));
  }
  if (a.verb == "validate") {
    return done(api.Call("POST", "/api/author/validate",
                         with({{"name", a.name.empty() ? "draft" : a.name}})));
  }
  if (a.verb == "export") {
    if (auto e = need(a.name, "--name")) return *e;
    auto [answer, code] = api.Call(
        "GET", "/api/author/export?session=" + httplib::detail::encode_query_param(a.session) +
                   "&name=" + httplib::detail::encode_query_param(a.name));
    if (code == kExitPass && !a.output.empty()) {
      std::ofstream(a.output) << answer.value("yaml", "");
      answer.erase("yaml");
      answer["output"] = a.output;
    }
    return Print(answer, code);
  }
  if (a.verb == "close") return done(api.Call("POST", "/api/author/close", session));
  return Usage("unknown verb \"" + a.verb + "\"");
}

}  // namespace

void AddAuthorCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<AuthorArgs>();
  CLI::App* cmd = root.add_subcommand(
      "author", "Client of the authoring API for agents and scripts (prints compact JSON)");
  cmd->add_option("--url", args->url, "the live server (default http://127.0.0.1:8082)");
  cmd->add_option("--token", args->token_ref,
                  "its token, as env:NAME or file:PATH (default env:MOSDAT_LIVE_TOKEN)");
  cmd->add_option("verb", args->verb,
                  "vms doctor start capture localize describe click prompt-click prompt-hover "
                  "prompt-type type key validate export step close")
      ->required();
  cmd->add_option("--session", args->session, "the session id (from start)");
  cmd->add_option("--vm", args->vm, "start: the [[vm]] to open");
  cmd->add_option("--prompt", args->prompt, "localize, prompt-*: what to find");
  cmd->add_option("--text", args->text, "type, prompt-type: the text");
  cmd->add_option("--key", args->key, "key: a combo such as ctrl+s");
  cmd->add_option("--x", args->x, "click, describe: framebuffer x");
  cmd->add_option("--y", args->y, "click, describe: framebuffer y");
  cmd->add_option("--json", args->step_json, "step: one step (object) or all (array)");
  cmd->add_option("--name", args->name, "validate, export: the scenario's name");
  cmd->add_option("--output", args->output, "capture: PNG file; export: YAML file");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [args] { return RunAuthor(*args); });
  });
}

}  // namespace mosdat

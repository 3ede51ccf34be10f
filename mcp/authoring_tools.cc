#include "mcp/authoring_tools.h"

#include <httplib.h>

#include <functional>
#include <string>
#include <utility>

namespace mosdat::mcp {
namespace {

using nlohmann::json;

json Property(const char* type, const char* description) {
  return {{"type", type}, {"description", description}};
}

const json& SessionProperty() {
  static const json property = Property("string", "the session id that open_session answered");
  return property;
}

// An object schema of `properties`, `required` of them required, no others allowed.
json ObjectSchema(json properties, json required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

json SessionSchema(json more = json::object(), json required = json::array()) {
  more["session_id"] = SessionProperty();
  required.push_back("session_id");
  return ObjectSchema(std::move(more), std::move(required));
}

// The rig failed: the model must not read it as something the app did.
ToolResult InfrastructureError(const std::string& why) {
  return ToolResult::Error("infrastructure error (not a finding about the app): " + why);
}

// The live server's answer as the tool's: errors say whose fault they are.
ToolResult FromAnswer(AuthoringAnswer answer) {
  switch (answer.kind) {
    case AuthoringAnswer::Kind::kRefused:
      return ToolResult::Error("refused by the live server: " + answer.error());
    case AuthoringAnswer::Kind::kUnreachable:
      return InfrastructureError(answer.error());
    case AuthoringAnswer::Kind::kDone:
      break;
  }
  answer.body.erase("ok");
  return ToolResult::Json(std::move(answer.body));
}

// A tool that posts its arguments to `path` as they are.
std::function<ToolResult(const json&)> Passthrough(const AuthoringClient* client,
                                                   const char* path) {
  return
      [client, path](const json& arguments) { return FromAnswer(client->Post(path, arguments)); };
}

// A tool that changes the VM: without "confirm": true nothing is sent, and the model is
// told what would be done and how to confirm it.
std::function<ToolResult(const json&)> ConfirmedPost(const char* tool,
                                                     const AuthoringClient* client,
                                                     const char* path) {
  return [tool, client, path](const json& arguments) {
    if (arguments.value("confirm", false) != true) {
      json what = arguments;
      what.erase("confirm");
      return ToolResult::Error(std::string("not done: ") + tool +
                               " changes the VM's screen or state. Nothing was sent. To carry "
                               "out " +
                               what.dump() + ", call " + tool +
                               " again with the same arguments and \"confirm\": true.");
    }
    return FromAnswer(client->Post(path, arguments));
  };
}

}  // namespace

std::vector<Tool> AuthoringTools(const AuthoringClient& api) {
  const AuthoringClient* client = &api;
  std::vector<Tool> tools;

  tools.push_back({
      .name = "list_vms",
      .title = "List VMs",
      .description = "The VMs of the config a screen session can be opened on: name, "
                     "provider, os, and whether each is available now.",
      .input_schema = ObjectSchema(json::object(), json::array()),
      .read_only = true,
      .call = [client](const json&) { return FromAnswer(client->Get("/api/author/vms")); },
  });

  tools.push_back({
      .name = "open_session",
      .title = "Open a screen session",
      .description =
          "Opens a screen session on a VM (vm), or takes over the screen of a job a failed "
          "step holds (job). Answers session_id, which every other tool takes, and the "
          "screen's size. Close it with close_session when done.",
      .input_schema = ObjectSchema(
          {{"vm", Property("string", "the VM's name, as list_vms shows it")},
           {"job", Property("string", "instead of vm: the id of a job a failed step holds")}},
          json::array()),
      .call =
          [client](const json& arguments) {
            const bool job = arguments.contains("job");
            if (job == arguments.contains("vm")) {
              return ToolResult::Error("give either vm (a VM's name) or job (a held job's id)");
            }
            return FromAnswer(client->Post("/api/author/session", arguments));
          },
  });

  tools.push_back({
      .name = "capture",
      .title = "Capture the screen",
      .description = "The session's screen now, as a PNG image (after the last input has "
                     "been drawn), with its width and height in framebuffer pixels: the "
                     "coordinates describe and act take.",
      .input_schema = SessionSchema(),
      .read_only = true,
      .call =
          [client](const json& arguments) {
            AuthoringAnswer answer = client->Post("/api/author/capture", arguments);
            if (!answer.done()) return FromAnswer(std::move(answer));
            const std::string png = answer.body.value("png_base64", std::string());
            if (png.empty()) {
              return InfrastructureError("the live server sent no image");
            }
            answer.body.erase("png_base64");
            answer.body.erase("ok");
            ToolResult result = ToolResult::Json(answer.body);
            result.AddImage(png, "image/png");
            return result;
          },
  });

  tools.push_back({
      .name = "describe",
      .title = "Describe a point",
      .description =
          "What is at framebuffer point (x, y): the accessible object there (AT-SPI), the "
          "OCR words around it, the targets a scenario could find it by, and the steps "
          "that would click, double_click, right_click or hover it by them.",
      .input_schema = SessionSchema({{"x", {{"type", "integer"}, {"minimum", 0}}},
                                     {"y", {{"type", "integer"}, {"minimum", 0}}}},
                                    {"x", "y"}),
      .read_only = true,
      .call = Passthrough(client, "/api/author/describe"),
  });

  tools.push_back({
      .name = "find_accessible",
      .title = "Find an accessible object",
      .description =
          "Finds an object in the accessibility tree (AT-SPI) by role, name (exact), "
          "name_substr, app, index among matches and states; answers the object (with its "
          "screen box) and the atspi step that finds it the same way.",
      .input_schema = SessionSchema(
          {{"role", Property("string", "e.g. push button, check box, text, menu item")},
           {"name", Property("string", "the accessible name, exactly")},
           {"name_substr", Property("string", "a part of the accessible name")},
           {"app", Property("string", "the application's accessible name")},
           {"index", {{"type", "integer"}, {"minimum", 0}, {"description", "which match"}}},
           {"states",
            {{"type", "array"},
             {"items", {{"type", "string"}}},
             {"description", "states it must have, e.g. [\"showing\", \"sensitive\"]"}}}}),
      .read_only = true,
      .call =
          [client](const json& arguments) {
            json query = arguments;
            query.erase("session_id");
            return FromAnswer(client->Post(
                "/api/author/atspi/find",
                {{"session_id", arguments["session_id"]}, {"query", std::move(query)}}));
          },
  });

  tools.push_back({
      .name = "localize",
      .title = "Localize with the vision model",
      .description = "Asks the vision-language model where the described thing is on the "
                     "screen (nothing is clicked): found, x, y, confidence.",
      .input_schema = SessionSchema(
          {{"prompt", Property("string", "what to find, e.g. \"the Save button\"")}}, {"prompt"}),
      .read_only = true,
      .call = Passthrough(client, "/api/author/vlm/localize"),
  });

  tools.push_back({
      .name = "verify",
      .title = "Verify with the vision model",
      .description = "Asks the vision-language model a yes/no question about the screen: "
                     "answer (true/false) and its reason.",
      .input_schema = SessionSchema(
          {{"prompt", Property("string", "a yes/no question, e.g. \"Is a dialog open?\"")}},
          {"prompt"}),
      .read_only = true,
      .call = Passthrough(client, "/api/author/vlm/verify"),
  });

  tools.push_back({
      .name = "act",
      .title = "Act on the VM",
      .description =
          "One input or command on the VM: hover, click, double_click, right_click, scroll "
          "(x, y; dy wheel steps), type (text), key (key, e.g. ctrl+s), shell (command, run "
          "in the guest), wait (seconds), launch (command; app, window). Answers the "
          "scenario step that does the same (by its target when semantic is true). It "
          "changes the VM, so it does nothing until called with confirm: true.",
      .input_schema = SessionSchema(
          {{"action",
            {{"type", "string"},
             {"enum",
              {"hover", "click", "double_click", "right_click", "scroll", "type", "key", "shell",
               "wait", "launch"}}}},
           {"x", {{"type", "integer"}, {"minimum", 0}}},
           {"y", {{"type", "integer"}, {"minimum", 0}}},
           {"dy", {{"type", "integer"}, {"minimum", -100}, {"maximum", 100}}},
           {"text", Property("string", "type: the text")},
           {"key", Property("string", "key: a combination such as ctrl+s or Return")},
           {"command", Property("string", "shell, launch: the command")},
           {"seconds", {{"type", "number"}, {"minimum", 0}, {"maximum", 300}}},
           {"app", Property("string", "launch: the app's accessible name to wait for")},
           {"window", Property("string", "launch: the window title to wait for")},
           {"semantic",
            Property("boolean", "pointer actions: answer the step by the target found there")},
           {"confirm", Property("boolean", "true to carry the action out")}},
          {"action"}),
      .destructive = true,
      .call = ConfirmedPost("act", client, "/api/author/action"),
  });

  tools.push_back({
      .name = "run_steps",
      .title = "Run scenario steps",
      .description = "Runs scenario steps (the YAML scenario syntax, as JSON objects) on the "
                     "session's VM: passed, verdict, reason and each step's events. Does "
                     "nothing until called with confirm: true.",
      .input_schema =
          SessionSchema({{"steps", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                         {"confirm", Property("boolean", "true to run them")}},
                        {"steps"}),
      .destructive = true,
      .call = ConfirmedPost("run_steps", client, "/api/author/run"),
  });

  tools.push_back({
      .name = "append_step",
      .title = "Append a step to the draft",
      .description = "Appends one scenario step (a JSON object in the scenario syntax, such "
                     "as a step act or describe answered) to the session's draft; answers "
                     "the draft's steps.",
      .input_schema = SessionSchema({{"step", {{"type", "object"}}}}, {"step"}),
      .call = Passthrough(client, "/api/author/step"),
  });

  tools.push_back({
      .name = "validate",
      .title = "Validate the draft",
      .description = "Parses the draft as the runner would: valid, and each problem with "
                     "its line and column in the exported YAML.",
      .input_schema = SessionSchema({{"name", Property("string", "the scenario's name")}}),
      .read_only = true,
      .call =
          [client](const json& arguments) {
            json body = arguments;
            if (!body.contains("name")) body["name"] = "draft";
            AuthoringAnswer answer = client->Post("/api/author/validate", body);
            // The API's "ok" here is the draft's validity, not the call's.
            if (answer.done()) answer.body["valid"] = answer.body.value("ok", false);
            return FromAnswer(std::move(answer));
          },
  });

  tools.push_back({
      .name = "export_yaml",
      .title = "Export the draft as YAML",
      .description = "The draft as a scenario YAML file named name, ready to save under "
                     "scenarios/.",
      .input_schema =
          SessionSchema({{"name", Property("string", "the scenario's name")}}, {"name"}),
      .read_only = true,
      .call =
          [client](const json& arguments) {
            AuthoringAnswer answer = client->Get(
                "/api/author/export?session=" +
                httplib::detail::encode_query_param(arguments["session_id"].get<std::string>()) +
                "&name=" +
                httplib::detail::encode_query_param(arguments["name"].get<std::string>()));
            if (!answer.done()) return FromAnswer(std::move(answer));
            if (!answer.body.contains("yaml") || !answer.body["yaml"].is_string()) {
              return InfrastructureError("the live server's export has no YAML");
            }
            const std::string yaml = answer.body["yaml"].get<std::string>();
            ToolResult result = ToolResult::Text(yaml);
            result.structured = {{"name", arguments["name"]}, {"yaml", yaml}};
            return result;
          },
  });

  tools.push_back({
      .name = "close_session",
      .title = "Close the session",
      .description = "Closes the session and its VNC connection.",
      .input_schema = SessionSchema(),
      .call = Passthrough(client, "/api/author/close"),
  });
  return tools;
}

}  // namespace mosdat::mcp

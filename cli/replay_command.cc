// `mosdat replay <result-dir>`: asks the VLM again every question a past run asked it
// (the localize prompts and verify questions recorded in events.jsonl, each with the
// screenshot the model saw) and says which answers changed. For judging a new model,
// prompt or endpoint against evidence instead of re-running the VMs.
//   mosdat replay results/functional/<run>[/<vm>] --config X.toml [--model M]
//   mosdat replay <dir> --gateway HOST:PORT --token env:NAME
// Exit 0: every answer is the same; 1: some changed; 3: no usable result directory or
// VLM configuration; 4: a question could not be asked again (the VLM failed, or its
// screenshot is missing). events.jsonl is untrusted input: screenshot names must be
// plain .png names inside the directory, and a malformed line is skipped with a warning.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/embedded.h"
#include "cli/exit_codes.h"
#include "core/events.h"
#include "core/file_util.h"
#include "vnc-agent/vlm_gateway_client.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxScreenshotBytes = 64 << 20;

struct ReplayArgs {
  std::string result_dir;
  std::string config;
  std::string gateway;
  std::string token_ref;
  ClientTlsOptions tls;
  std::string model;
  int tolerance = 16;
  bool use_cache = false;
  bool json = false;
};

// One recorded question and what the model says now.
struct Replayed {
  std::string job_dir;
  std::string vm;
  int step = 0;  // 1-based, as progress lines show it
  VlmCall was;
  VlmCall now;
  std::string error;  // the question could not be asked again
  bool same = false;
};

std::string Answer(const VlmCall& call) {
  if (call.kind == "verify") return call.answer ? "yes" : "no";
  if (!call.answer) return "not found";
  return absl::StrFormat("(%d,%d)", call.x, call.y);
}

bool Same(const VlmCall& was, const VlmCall& now, int tolerance) {
  if (was.answer != now.answer) return false;
  if (was.kind == "verify" || !was.answer) return true;
  double dx = static_cast<double>(was.x) - now.x, dy = static_cast<double>(was.y) - now.y;
  return dx * dx + dy * dy <= static_cast<double>(tolerance) * tolerance;
}

// Every events.jsonl at or under `root`, in a stable order.
std::vector<fs::path> EventLogs(const fs::path& root) {
  std::vector<fs::path> logs;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->path().filename() == "events.jsonl") logs.push_back(it->path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

Replayed Ask(VlmClient& vlm, const fs::path& dir, const std::string& vm, const Event& step,
             const VlmCall& call, const ReplayArgs& args) {
  Replayed r{.job_dir = dir.string(), .vm = vm, .step = step.step_index + 1, .was = call};
  if (!IsPlainPngName(call.screenshot)) {
    r.error = absl::StrCat("the screenshot name \"", call.screenshot,
                           "\" is not a plain .png file name in the result directory");
    return r;
  }
  const fs::path path = dir / call.screenshot;
  std::error_code error;
  if (!fs::is_regular_file(path, error) || fs::file_size(path, error) > kMaxScreenshotBytes) {
    r.error = absl::StrCat("cannot read the screenshot ", path.string(),
                           " (missing, not a file, or over 64 MiB)");
    return r;
  }
  const std::string png = ReadFileOrEmpty(path.string());
  if (png.empty()) {
    r.error = absl::StrCat("cannot read the screenshot ", path.string());
    return r;
  }
  const std::string model = args.model.empty() ? call.model : args.model;
  const absl::Duration timeout = absl::Minutes(5);
  absl::Status asked;
  if (call.kind == "localize") {
    absl::StatusOr<LocalizeResult> result = vlm.Localize({.image = {.png = png},
                                                          .prompt = call.prompt,
                                                          .model = model,
                                                          .bypass_cache = !args.use_cache},
                                                         timeout);
    if (result.ok()) r.now = RecordOf(*result);
    asked = result.status();
  } else if (call.kind == "verify") {
    absl::StatusOr<VerifyResult> result = vlm.Verify({.image = {.png = png},
                                                      .question = call.prompt,
                                                      .model = model,
                                                      .bypass_cache = !args.use_cache},
                                                     timeout);
    if (result.ok()) r.now = RecordOf(*result);
    asked = result.status();
  } else {
    asked = absl::InvalidArgumentError(absl::StrCat("unknown question kind \"", call.kind, "\""));
  }
  if (!asked.ok()) {
    r.error = std::string(asked.message());
    return r;
  }
  r.now.prompt = call.prompt;
  r.now.screenshot = call.screenshot;
  r.same = Same(r.was, r.now, args.tolerance);
  return r;
}

nlohmann::json ToJson(const VlmCall& call) {
  nlohmann::json j = {{"answer", call.answer}, {"model", call.model}};
  if (call.kind == "localize") {
    j["point"] = {call.x, call.y};
    j["confidence"] = call.confidence;
  } else {
    j["reason"] = call.reason;
  }
  return j;
}

int RunReplay(const ReplayArgs& args) {
  std::error_code error;
  if (!fs::is_directory(args.result_dir, error)) {
    std::cerr << "mosdat replay: " << args.result_dir << " is not a directory\n";
    return kExitConfigError;
  }
  std::vector<fs::path> logs = EventLogs(args.result_dir);
  if (logs.empty()) {
    std::cerr << "mosdat replay: no events.jsonl at or under " << args.result_dir
              << " (give a results/functional/<run> or <run>/<vm> directory)\n";
    return kExitConfigError;
  }

  EmbeddedOptions embedded;
  if (args.gateway.empty()) {
    if (args.config.empty()) {
      std::cerr << "mosdat replay: pass --config X.toml (its [vlm] table) or --gateway "
                   "HOST:PORT\n";
      return kExitUsage;
    }
    absl::StatusOr<VlmConfig> vlm = LoadVlmConfig(args.config, "mosdat replay", "pass --gateway");
    if (!vlm.ok()) {
      std::cerr << vlm.status().message() << "\n";
      return kExitConfigError;
    }
    embedded.vlm = *vlm;
  }
  absl::StatusOr<ServiceConnection> connection =
      ConnectServices(args.gateway, args.token_ref, args.tls, embedded);
  if (!connection.ok()) {
    std::cerr << "mosdat replay: " << connection.status().message() << "\n";
    return connection.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                            : kExitInfrastructure;
  }
  std::unique_ptr<VlmClient> vlm = NewVlmGatewayClient(connection->channel, connection->token);

  std::vector<Replayed> replayed;
  for (const fs::path& log : logs) {
    // A run cut short by a crash may end in a torn line; the rest counts.
    absl::StatusOr<std::vector<Event>> events =
        ReadEventLog(log.string(), [](const std::string& where, const absl::Status& why) {
          std::cerr << "mosdat replay: " << where << ": skipped: " << why.message() << "\n";
        });
    if (!events.ok()) {
      std::cerr << "mosdat replay: " << events.status().message() << "\n";
      return kExitConfigError;
    }
    std::string vm;
    for (const Event& event : *events) {
      if (event.type == EventType::kJobStarted) vm = event.vm;
      if (event.type != EventType::kStepFinished) continue;
      for (const VlmCall& call : event.vlm_calls) {
        replayed.push_back(Ask(*vlm, log.parent_path(), vm, event, call, args));
        const Replayed& r = replayed.back();
        if (args.json) continue;
        std::cout << absl::StrFormat("[%s] step %d %s \"%s\" (%s): was %s, now %s", r.vm, r.step,
                                     call.kind, call.prompt, call.screenshot, Answer(r.was),
                                     r.error.empty() ? Answer(r.now) : "?");
        if (!r.error.empty()) {
          std::cout << " — ERROR: " << r.error << "\n";
        } else {
          std::cout << (r.same ? " — same" : " — CHANGED")
                    << (r.now.reason.empty() || r.same ? "" : " (" + r.now.reason + ")") << "\n";
        }
      }
    }
  }

  int same = 0, changed = 0, errors = 0;
  for (const Replayed& r : replayed) {
    if (!r.error.empty()) {
      ++errors;
    } else if (r.same) {
      ++same;
    } else {
      ++changed;
    }
  }
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Replayed& r : replayed) {
      nlohmann::json j = {{"dir", r.job_dir},       {"vm", r.vm},
                          {"step", r.step},         {"kind", r.was.kind},
                          {"prompt", r.was.prompt}, {"screenshot", r.was.screenshot},
                          {"was", ToJson(r.was)},   {"same", r.same}};
      if (r.error.empty()) {
        j["now"] = ToJson(r.now);
      } else {
        j["error"] = r.error;
      }
      out.push_back(std::move(j));
    }
    std::cout << nlohmann::json{{"questions", out},
                                {"same", same},
                                {"changed", changed},
                                {"errors", errors}}
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << absl::StrFormat(
        "%d question(s) asked again%s: %d same, %d changed, %d could not be asked\n",
        replayed.size(), args.model.empty() ? "" : " of " + args.model, same, changed, errors);
  }
  if (errors > 0) return kExitInfrastructure;
  return changed > 0 ? kExitTestFailed : kExitPass;
}

}  // namespace

void AddReplayCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* cmd = root.add_subcommand(
      "replay", "Re-ask the VLM the questions of a past run, on the screenshots it saw");
  cmd->add_option("result_dir", args->result_dir, "results/functional/<run> or <run>/<vm>")
      ->required();
  cmd->add_option("--config", args->config, "config whose [vlm] table to ask");
  cmd->add_option("--gateway", args->gateway, "a running vlm-gateway (host:port) instead");
  cmd->add_option("--token", args->token_ref, "the gateway's token, as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->tls);
  cmd->add_option("--model", args->model, "model to ask instead of the recorded one");
  cmd->add_option("--tolerance", args->tolerance,
                  "pixels a localized point may move and still be the same (default 16)")
      ->check(CLI::Range(0, 10000));
  cmd->add_flag("--use-cache", args->use_cache,
                "accept cached answers (default: ask the model itself)");
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunReplay(*args); });
  });
}

}  // namespace mosdat

#include "vnc-agent/steps/smoke_runner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/json_depth.h"
#include "core/outcome.h"
#include "core/smoke.h"
#include "core/time_left.h"
#include "vnc-agent/guest/guest_session.h"
#include "vnc-agent/guest/smoke_wrapper.h"

namespace mosdat {
namespace {

constexpr int kEnvironmentStep = 0;
constexpr int kRunStep = 1;
constexpr int kCleanupStep = 2;
// The app's output kept per stream (events carry it; the proto allows 64 KiB).
constexpr int kTailBytes = 8192;
// The Python runner importing and starting the app; a loaded VM takes longer.
constexpr absl::Duration kRunnerStartTimeout = absl::Seconds(60);
// After the app's timeout: the runner's stop grace (5 s), gdb (60 s) and slack.
constexpr absl::Duration kRunnerEndSlack = absl::Seconds(120);
constexpr absl::Duration kWestonReadyTimeout = absl::Seconds(15);
// The screenshot is taken once the screen changed and then stayed still this long.
constexpr absl::Duration kScreenSettled = absl::Milliseconds(500);
constexpr absl::Duration kPollSlice = absl::Milliseconds(100);

std::string FileTail(const std::string& path, size_t max) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() <= max ? all : "..." + all.substr(all.size() - max);
}

bool IsSocket(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

class SmokeRun {
 public:
  explicit SmokeRun(const SmokeRunContext& context)
      : c_(context), spec_(*context.job.smoke), variant_(ToString(spec_.variant)) {}

  SmokeRunOutcome Run() {
    SmokeRunOutcome outcome = RunPhases();
    StopWeston();
    return outcome;
  }

 private:
  void Emit(Event event) { c_.emit(std::move(event)).IgnoreError(); }

  void Log(const std::string& level, const std::string& text) {
    Event event = Event::Of(EventType::kLog);
    event.level = level;
    event.text = text;
    Emit(std::move(event));
  }

  // Opens a step with its started event; StepFinished and Abort close the open one.
  void StepStarted(int index, const std::string& kind, const std::string& label,
                   const std::string& description, bool cleanup = false) {
    Event event = Event::Of(EventType::kStepStarted);
    event.step_index = index;
    event.step_kind = kind;
    event.label = label;
    event.description = description;
    event.attempt = 1;
    event.cleanup = cleanup;
    open_step_ = event;
    step_began_ = absl::Now();
    Emit(std::move(event));
  }

  // The finished event of the open step.
  Event StepFinished(StepStatus status, std::string reason) {
    Event event = open_step_;
    event.type = EventType::kStepFinished;
    event.status = status;
    event.reason = std::move(reason);
    event.duration_seconds = absl::ToDoubleSeconds(absl::Now() - step_began_);
    return event;
  }

  // Ends the job in the open step, which did not get to judge the app.
  SmokeRunOutcome Abort(const absl::Status& why) {
    Outcome outcome = OutcomeOf(why);
    std::string reason(why.message());
    Emit(StepFinished(StepStatusOf(outcome), reason));
    return {.verdict = VerdictOf(outcome), .reason = reason};
  }

  std::string VmName() const { return c_.job.vm.name; }

  // wayland-real on the local target: a headless weston in the desktop's runtime dir.
  absl::Status StartWeston() {
    weston_socket_ =
        absl::StrCat("mosdat-wayland-", getpid(), "-", absl::ToUnixMicros(absl::Now()));
    absl::StatusOr<Process*> weston =
        c_.desktop->Launch({"weston", "--backend=headless-backend.so",
                            absl::StrCat("--socket=", weston_socket_), "--idle-time=0"});
    if (!weston.ok()) {
      return InfrastructureError(absl::StrCat("VM \"", VmName(), "\": cannot start weston (",
                                              weston.status().message(),
                                              "); install it with deploy/install-deps.sh"));
    }
    weston_ = *weston;
    auto runtime = c_.desktop->session_env().find("XDG_RUNTIME_DIR");
    const std::string socket_path =
        (runtime == c_.desktop->session_env().end() ? std::string("/tmp") : runtime->second) + "/" +
        weston_socket_;
    const absl::Time deadline = absl::Now() + kWestonReadyTimeout;
    while (!IsSocket(socket_path)) {
      std::optional<ExitStatus> ended = weston_->Poll();
      if (ended || absl::Now() >= deadline) {
        std::string log = FileTail(c_.desktop->LogPath(weston_), 1500);
        return InfrastructureError(absl::StrCat(
            "VM \"", VmName(), "\": headless weston ",
            ended
                ? absl::StrCat("ended (", ended->ToString(), ")")
                : absl::StrCat("made no socket within ", absl::FormatDuration(kWestonReadyTimeout)),
            " before its Wayland socket ", socket_path, " appeared; its log: ", log));
      }
      absl::SleepFor(absl::Milliseconds(20));  // polling for the socket, with a deadline
    }
    return absl::OkStatus();
  }

  void StopWeston() {
    if (weston_ == nullptr) return;
    StepStarted(kCleanupStep, "smoke-cleanup", "stop weston", weston_socket_, /*cleanup=*/true);
    ExitStatus status = weston_->Terminate(absl::Seconds(5));
    weston_ = nullptr;
    Emit(StepFinished(StepStatus::kPassed, ""));
    Log("debug", absl::StrCat("weston stopped (", status.ToString(), ")"));
  }

  std::string RunnerCommand(const SmokeEnvironment& env) const {
    nlohmann::json spec = {{"argv", nlohmann::json::array()},
                           {"set", env.set},
                           {"unset", env.unset},
                           {"wayland", env.session_wayland ? "session" : "given"},
                           {"timeout", spec_.timeout_seconds},
                           {"tail_bytes", kTailBytes},
                           {"backtrace", true}};
    spec["argv"].push_back(spec_.binary);
    for (const std::string& arg : spec_.args) spec["argv"].push_back(arg);
    // The session's DISPLAY, D-Bus and XDG_RUNTIME_DIR when the SSH login lacks them.
    return absl::StrCat(
        SessionPreamble(/*force_x11=*/false), "exec /usr/bin/python3 -c ",
        ShellQuote(std::string(SmokeRunnerSource())), " ",
        ShellQuote(spec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  }

  absl::StatusOr<nlohmann::json> ReadMessage(absl::Duration timeout) {
    absl::StatusOr<std::string> line = process_->ReadLine(timeout);
    if (!line.ok()) return line.status();
    nlohmann::json message = ParsePeerJson(*line);
    if (!message.is_object()) {
      return InfrastructureError(
          absl::StrCat("the smoke runner on VM \"", VmName(),
                       "\" said something unexpected: ", line->substr(0, 300)));
    }
    return message;
  }

  // The screenshot while the app runs: once the screen changed and settled, or at the
  // latest shortly before the timeout.
  void WatchScreen(absl::Time shot_deadline) {
    if (shot_.has_value()) return;
    absl::StatusOr<Frame> update = c_.screen.WaitForUpdate(last_update_seq_, absl::ZeroDuration());
    const absl::Time now = absl::Now();
    if (update.ok()) {
      last_update_seq_ = update->update_seq;
      changed_ = true;
      quiet_since_ = now;
    }
    if ((changed_ && now - quiet_since_ >= kScreenSettled) || now >= shot_deadline) {
      TakeScreenshot("running");
    }
  }

  void TakeScreenshot(const std::string& why) {
    if (c_.job.screenshots == ScreenshotPolicy::kNone) return;
    absl::StatusOr<Frame> frame = c_.screen.Capture();
    if (!frame.ok()) {
      Log("warning", absl::StrCat("no screenshot: ", frame.status().message()));
      shot_ = std::string();
      return;
    }
    absl::StatusOr<std::string> png = EncodePng(*frame);
    shot_ = png.ok() ? *png : std::string();
    shot_why_ = why;
  }

  // Emits the screenshot (per the job's policy) and returns its file name.
  std::string EmitScreenshot(bool passed) {
    if (!shot_.has_value() || shot_->empty()) return "";
    if (c_.job.screenshots == ScreenshotPolicy::kFailures && passed) return "";
    Event event = Event::Of(EventType::kScreenshot);
    event.step_index = kRunStep;
    event.why = shot_why_;
    event.screenshot =
        absl::StrFormat("001-step%s-%s.png", StepNumber(kRunStep, "", /*padded=*/true), shot_why_);
    event.png = std::move(*shot_);
    std::string name = event.screenshot;
    Emit(std::move(event));
    return name;
  }

  SmokeRunOutcome RunPhases() {
    // Step 1: the variant's environment.
    const std::string env_label = absl::StrCat("prepare ", variant_);
    StepStarted(kEnvironmentStep, "smoke-environment", env_label, "");
    if (spec_.variant == SmokeVariant::kWaylandReal && c_.desktop != nullptr) {
      if (absl::Status s = StartWeston(); !s.ok()) {
        return Abort(s);
      }
    }
    const std::string missing_socket = absl::StrCat("mosdat-no-such-wayland-", getpid());
    SmokeEnvironment env = SmokeEnvironmentFor(spec_, weston_socket_, missing_socket);
    std::vector<std::string> described;
    for (const auto& [name, value] : env.set) described.push_back(absl::StrCat(name, "=", value));
    for (const std::string& name : env.unset) described.push_back(absl::StrCat("-", name));
    if (env.session_wayland) described.push_back("WAYLAND_DISPLAY=<the session's socket>");
    const std::string env_description = absl::StrJoin(described, " ");
    // The environment is known only now: the finished event describes it.
    Event prepared = StepFinished(
        StepStatus::kPassed,
        weston_ != nullptr ? absl::StrCat("headless weston on Wayland socket ", weston_socket_)
                           : "");
    prepared.description = env_description;
    Emit(std::move(prepared));

    // Step 2: the app.
    const std::string run_label = absl::StrCat("run the app (", variant_, ")");
    const std::string run_description =
        absl::StrCat(spec_.binary, spec_.args.empty() ? "" : " ", absl::StrJoin(spec_.args, " "),
                     " for up to ", spec_.timeout_seconds, " s");
    StepStarted(kRunStep, "smoke-run", run_label, run_description);
    absl::StatusOr<GuestSession*> guest = c_.guest.Get();
    if (!guest.ok()) return Abort(InfrastructureError(Std(guest.status().message())));
    absl::StatusOr<Frame> before = c_.screen.Capture();
    if (before.ok()) last_update_seq_ = before->update_seq;
    absl::StatusOr<std::unique_ptr<SshProcess>> process =
        (*guest)->StartProcess(RunnerCommand(env));
    if (!process.ok()) {
      return Abort(InfrastructureError(absl::StrCat(
          "VM \"", VmName(), "\": cannot start the smoke runner: ", process.status().message())));
    }
    process_ = std::move(*process);

    absl::StatusOr<nlohmann::json> first = ReadMessage(kRunnerStartTimeout);
    if (!first.ok()) {
      return Abort(InfrastructureError(
          absl::StrCat("VM \"", VmName(),
                       "\": the smoke runner did not start the app (is /usr/bin/python3 "
                       "there?): ",
                       first.status().message())));
    }
    if (first->contains("error")) {
      const std::string kind = first->value("error", "");
      const std::string message = first->value("message", "");
      if (kind == "not_found" || kind == "not_executable") {
        return Abort(
            ConfigError(absl::StrCat("the app cannot run on VM \"", VmName(), "\": ", message,
                                     " (is it installed? [app].binary or the VM's "
                                     "app_path names it)")));
      }
      return Abort(InfrastructureError(
          absl::StrCat("VM \"", VmName(), "\" cannot run variant \"", variant_, "\": ", message)));
    }
    const absl::Time started = absl::Now();
    {
      std::vector<std::string> shown;
      if (first->contains("env") && (*first)["env"].is_object()) {
        for (const auto& [name, value] : (*first)["env"].items()) {
          shown.push_back(absl::StrCat(
              name, "=", value.is_string() ? value.get<std::string>() : std::string("(unset)")));
        }
      }
      Log("info", absl::StrCat("app started (pid ", first->value("started", 0), ") with ",
                               absl::StrJoin(shown, " ")));
    }

    // Until the runner reports the end: the screenshot, and cancellation.
    const absl::Duration timeout = absl::Seconds(spec_.timeout_seconds);
    const absl::Time shot_deadline =
        started + std::min(std::max(timeout - absl::Seconds(1), timeout / 2), absl::Seconds(15));
    const absl::Time end_deadline = started + timeout + kRunnerEndSlack;
    bool stop_sent = false;
    std::optional<nlohmann::json> end;
    while (!end) {
      if (c_.cancel && c_.cancel->lost()) return {JobVerdict::kError, "lost"};
      if (c_.cancel && c_.cancel->stop_requested() && !stop_sent) {
        process_->WriteLine("stop").IgnoreError();
        stop_sent = true;
      }
      absl::StatusOr<nlohmann::json> message = ReadMessage(kPollSlice);
      if (message.ok()) {
        if (message->contains("end")) end = std::move(*message);
        continue;
      }
      if (message.status().code() != absl::StatusCode::kDeadlineExceeded) {
        return Abort(InfrastructureError(absl::StrCat(
            "VM \"", VmName(),
            "\": the smoke runner ended without a result: ", message.status().message())));
      }
      if (absl::Now() >= end_deadline) {
        return Abort(InfrastructureError(
            absl::StrCat("VM \"", VmName(), "\": the smoke runner gave no result within ",
                         absl::FormatDuration(timeout + kRunnerEndSlack))));
      }
      WatchScreen(shot_deadline);
    }
    process_.reset();
    if (!shot_.has_value()) TakeScreenshot("after-end");

    if (stop_sent || end->value("end", "") == "stopped") {
      std::string reason(c_.cancel ? c_.cancel->AsStatus().message() : "stopped");
      Emit(StepFinished(StepStatus::kError, reason));
      return {JobVerdict::kError, reason};
    }
    AppEnd app_end;
    const std::string kind = end->value("end", "");
    if (kind == "exited") {
      app_end.kind = AppEnd::Kind::kExited;
      app_end.code = end->value("code", -1);
    } else if (kind == "signaled") {
      app_end.kind = AppEnd::Kind::kSignaled;
      app_end.signal = end->value("signal", 0);
    } else if (kind == "timeout") {
      app_end.kind = AppEnd::Kind::kTimedOut;
      app_end.after_stop = end->value("after_stop", "");
    } else {
      return Abort(InfrastructureError(absl::StrCat(
          "VM \"", VmName(), "\": the smoke runner reported an unknown end \"", kind, "\"")));
    }
    const Verdict verdict = SmokeVerdict(app_end, spec_.exit_codes);
    const std::string reason = SmokeReason(app_end, spec_.timeout_seconds, spec_.exit_codes);

    if (end->contains("backtrace_note")) {
      const nlohmann::json& bt = (*end)["backtrace"];
      if (bt.is_string()) {
        Log("warning",
            absl::StrCat("backtrace (best effort: gdb on the ", end->value("backtrace_note", ""),
                         "):\n", bt.get<std::string>()));
      } else {
        Log("info", absl::StrCat("no backtrace: ", end->value("backtrace_note", "")));
      }
    }
    const bool passed = verdict == Verdict::kPass;
    Event finished = StepFinished(passed ? StepStatus::kPassed : StepStatus::kFailed, reason);
    finished.screenshot = EmitScreenshot(passed);
    finished.output = CommandOutput{.exit_code = SeedExitCode(app_end),
                                    .out = end->value("stdout", ""),
                                    .err = end->value("stderr", ""),
                                    .timed_out = app_end.kind == AppEnd::Kind::kTimedOut};
    Emit(std::move(finished));
    return {JobVerdictOf(verdict), reason};
  }

  const SmokeRunContext& c_;
  const SmokeSpec& spec_;
  const std::string variant_;
  Event open_step_;  // the step StepStarted opened last
  absl::Time step_began_ = absl::Now();
  Process* weston_ = nullptr;  // owned by the desktop
  std::string weston_socket_;
  std::unique_ptr<SshProcess> process_;
  uint64_t last_update_seq_ = 0;
  bool changed_ = false;
  absl::Time quiet_since_ = absl::InfinitePast();
  std::optional<std::string> shot_;  // PNG; "" = tried and failed
  std::string shot_why_;
};

}  // namespace

SmokeRunOutcome RunSmokeTest(const SmokeRunContext& context) { return SmokeRun(context).Run(); }

}  // namespace mosdat

#include "vnc-agent/steps/job_executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/net.h"
#include "core/outcome.h"
#include "core/scenario_parser.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"
#include "vnc-agent/steps/guest_access.h"
#include "vnc-agent/steps/package_deployer.h"
#include "vnc-agent/steps/scenario_runner.h"
#include "vnc-agent/steps/session_recorder.h"
#include "vnc-agent/steps/smoke_runner.h"

namespace mosdat {
namespace {

// Numbers and timestamps events; none leaves once the job is lost.
class Numbered {
 public:
  Numbered(const JobSpec& job, const EmitEvent& emit, const CancelToken* cancel)
      : job_(job), emit_(emit), cancel_(cancel) {
    for (const auto& [name, value] : job.secrets) secrets_.push_back(value);
  }
  absl::Status operator()(Event event) {
    // The coordinator took the job away and refuses its events: say nothing more.
    if (cancel_ != nullptr && cancel_->lost()) return cancel_->AsStatus();
    RedactEvent(secrets_, &event);  // every event of the job leaves through here
    event.job_id = job_.job_id;
    event.seq = ++seq_;
    event.unix_ms = absl::ToUnixMillis(absl::Now());
    return emit_(std::move(event));
  }
  void Log(std::string level, std::string text) {
    Event event = Event::Of(EventType::kLog);
    event.level = std::move(level);
    event.text = std::move(text);
    (*this)(std::move(event)).IgnoreError();
  }

 private:
  const JobSpec& job_;
  const EmitEvent& emit_;
  const CancelToken* cancel_;
  std::vector<std::string> secrets_;
  uint64_t seq_ = 0;
};

// A scenario that starts the app itself (a top-level `launch`) gets an empty desktop.
bool LaunchesItsApp(const Scenario& scenario) {
  return std::any_of(scenario.steps.begin(), scenario.steps.end(), [](const Step& step) {
    return std::holds_alternative<LaunchStep>(step.kind);
  });
}

// Installs the plan's packages over the VM's SSH session. ConfigError or
// InfrastructureError (core/outcome.h), naming the VM, package and step.
// Finishes the recording and sends it (and its strip) as evidence; what goes wrong is
// logged. The video must fit one event: a longer one is said, not sent.
void EmitRecording(SessionRecorder& recorder, Numbered& events) {
  absl::StatusOr<Recording> recording = recorder.Finish(absl::Seconds(120));
  if (!recording.ok()) {
    events.Log("warning", absl::StrCat("the recording failed: ", recording.status().message()));
    return;
  }
  constexpr size_t kMaxRecordingBytes = 3u << 20;  // under gRPC's 4 MiB message
  if (recording->webm.size() > kMaxRecordingBytes) {
    events.Log("warning", absl::StrCat("the recording (", recording->webm.size() >> 20,
                                       " MiB) is larger than an event may be; record fewer "
                                       "frames (--fps) or a shorter scenario"));
  } else {
    Event video = Event::Of(EventType::kScreenshot);
    video.why = "recording";
    video.screenshot = kRecordingFile;
    video.png = std::move(recording->webm);
    events(std::move(video)).IgnoreError();
  }
  if (!recording->strip_png.empty()) {
    Event strip = Event::Of(EventType::kScreenshot);
    strip.why = "recording-strip";
    strip.screenshot = kRecordingStripFile;
    strip.png = std::move(recording->strip_png);
    events(std::move(strip)).IgnoreError();
  }
  events.Log("info",
             absl::StrCat("recorded ", recording->frames, " frames (", kRecordingFile, ") and ",
                          recording->key_moments, " key moments (", kRecordingStripFile, ")"));
}

absl::Status Deploy(const DeployPlan& plan, GuestAccess& guest, Numbered& events) {
  absl::StatusOr<GuestSession*> session = guest.Get();
  if (!session.ok()) {
    return InfrastructureError(absl::StrCat("deploy: ", session.status().message()));
  }
  return DeployPackages((*session)->ssh(), plan, std::ref(events));
}

}  // namespace

JobVerdict ExecuteJob(const JobSpec& job, const EmitEvent& emit, std::shared_ptr<VlmClient> vlm,
                      std::shared_ptr<const CancelToken> cancel, AgentJobs* jobs) {
  Numbered events(job, emit, cancel.get());
  absl::Time begin = absl::Now();
  Event started = Event::Of(EventType::kJobStarted);
  started.vm = job.vm.name;
  started.scenario = job.smoke ? absl::StrCat("smoke test ", job.variant, ": ", job.smoke->binary)
                     : job.install_only ? std::string("install the packages")
                                        : job.scenario_path;
  events(started).IgnoreError();
  for (const std::string& note : job.provision_notes) {
    Event log = Event::Of(EventType::kLog);
    log.level = absl::StartsWith(note, "warning:") ? "warning" : "info";
    log.text = note;
    events(std::move(log)).IgnoreError();
  }

  auto finish = [&](JobVerdict verdict, std::string reason,
                    std::optional<BugVerdict> bug = std::nullopt) {
    // Lost: no job_finished either (Numbered drops it).
    Event finished = Event::Of(EventType::kJobFinished);
    finished.verdict = verdict;
    finished.reason = std::move(reason);
    finished.bug = bug;
    finished.duration_seconds = absl::ToDoubleSeconds(absl::Now() - begin);
    events(std::move(finished)).IgnoreError();
    return verdict;
  };

  // Parse before touching any VM: a broken scenario is a config error, not a failure.
  Diagnostics diagnostics;
  VarMap overrides = job.vars;
  for (const auto& [name, value] : job.secrets) overrides[name] = Value(value);
  ScenarioOptions options{
      .overrides = overrides,
      .read_file = [&](const std::string& path) -> absl::StatusOr<std::string> {
        auto it = job.files.find(path);
        if (it == job.files.end()) {
          return absl::NotFoundError(absl::StrCat(path, " was not sent with the job"));
        }
        return it->second;
      },
      // Only the files the CLI gathered (and confined) travel with a job.
      .any_file = true};
  // A smoke job has no scenario: it runs the app itself (smoke_runner.h).
  Scenario scenario;
  if (!job.smoke && !job.install_only) {
    scenario =
        ParseScenario(job.files.at(job.scenario_path), job.scenario_path, options, &diagnostics);
  }
  if (!diagnostics.empty()) {
    return finish(JobVerdict::kConfigError, diagnostics.ToStatus().ToString());
  }

  // Cancelled or lost while queued or parsed: no desktop is worth starting.
  if (cancel && cancel->stop_requested()) {
    return finish(JobVerdict::kError, std::string(cancel->AsStatus().message()));
  }

  // Shared with the sessions a person attaches while the job is held; stopped here all
  // the same when the job ends.
  std::shared_ptr<LocalDesktop> desktop;
  VncOptions vnc;
  vnc.password = job.vm.vnc_password;
  if (job.park) {
    vnc.park_x = job.park->x;
    vnc.park_y = job.park->y;
  }
  const bool deploys = job.deploy && !job.deploy->packages.empty();
  // The local VM's app, unless the job starts it itself; after the deploy when the
  // packages bring it.
  const bool starts_app = !job.smoke && !job.install_only && !LaunchesItsApp(scenario);
  if (job.vm.provider == VmProvider::kLocal) {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> started_desktop = LocalDesktop::Start(
        {.width = job.vm.width,
         .height = job.vm.height,
         .app_command = starts_app && !deploys ? job.vm.app_command : std::vector<std::string>{},
         .app_env = job.vm.app_env});
    if (!started_desktop.ok()) {
      return finish(JobVerdict::kError, absl::StrCat("local desktop did not start: ",
                                                     started_desktop.status().message()));
    }
    desktop = std::move(*started_desktop);
    vnc.port = desktop->vnc_port();
    vnc.password = desktop->vnc_password();  // made for this desktop, for this job
    events.Log("info", absl::StrCat("local desktop :", desktop->display(), " on VNC ",
                                    desktop->vnc_address()));
  } else {
    absl::StatusOr<std::pair<std::string, int>> address = ParseHostPort(job.vm.vnc_address);
    if (!address.ok()) {
      return finish(JobVerdict::kConfigError,
                    absl::StrCat("VNC address: ", address.status().message()));
    }
    vnc.host = address->first;
    vnc.port = address->second;
  }

  absl::StatusOr<std::unique_ptr<VncSession>> session = VncSession::Connect(vnc);
  if (!session.ok()) {
    return finish(JobVerdict::kError, std::string(session.status().message()));
  }
  std::optional<GuestAccess> guest;
  guest.emplace(job.vm, desktop.get(),
                [&events](const std::string& text) { events.Log("info", text); });
  // While it runs, sessions may watch the job's screen (and take it over when held).
  std::unique_ptr<AgentJobs::Tracked> tracked;
  if (jobs != nullptr)
    tracked = jobs->Track(job.job_id, {.target = job.vm, .desktop = desktop, .vnc = vnc});
  // No session reaches the VM once it goes; SSH and the local sshd go before the
  // desktop; VNC closes before the desktop goes.
  auto tear_down = [&] {
    tracked.reset();
    guest.reset();
    session->reset();
    if (desktop) desktop->Stop();
  };
  // The deploy phase: the run's packages go into the VM before the app is started.
  if (deploys) {
    absl::Status deployed = Deploy(*job.deploy, *guest, events);
    if (deployed.ok() && desktop && starts_app && !job.vm.app_command.empty()) {
      deployed = desktop->StartApp(job.vm.app_command, job.vm.app_env,
                                   absl::Now() + LocalDesktopOptions{}.ready_timeout);
      if (!deployed.ok()) {
        deployed = InfrastructureError(
            absl::StrCat("the installed app did not start: ", deployed.message()));
      }
    }
    if (!deployed.ok()) {
      tear_down();
      return finish(VerdictOf(OutcomeOf(deployed)), std::string(deployed.message()));
    }
  }
  if (job.install_only) {
    tear_down();
    if (!deploys) return finish(JobVerdict::kConfigError, "an install job without packages");
    return finish(JobVerdict::kPass, "");
  }
  if (job.smoke) {
    SmokeRunOutcome smoke = RunSmokeTest({.job = job,
                                          .screen = **session,
                                          .guest = *guest,
                                          .desktop = desktop.get(),
                                          .emit = std::ref(events),
                                          .cancel = cancel});
    tear_down();
    return finish(smoke.verdict, smoke.reason);
  }
  RunnerOptions runner_options{.job_id = job.job_id,
                               .files = job.files,
                               .screenshots = job.screenshots,
                               .park = job.park,
                               .guest = [&guest] { return guest->Get(); },
                               .x11 = job.vm.x11,
                               .vlm = std::move(vlm),
                               .cancel = cancel};
  if (jobs != nullptr) {
    runner_options.pause_on_failure = RunnerOptions::PauseOnFailure{
        .wanted = [&] { return jobs->Wanted(job.run_id, job.pause_on_failure); },
        .hold =
            [&](int failed_step, const std::string& reason) {
              events.Log("warning",
                         "held for a person: take over its screen in the workbench of "
                         "mosdat live, then resume or abort it there");
              return jobs->Hold({.job_id = job.job_id,
                                 .run_id = job.run_id,
                                 .test = job.test,
                                 .vm = job.vm.name,
                                 .failed_step = failed_step,
                                 .step_count = static_cast<int>(scenario.steps.size()),
                                 .reason = reason,
                                 .since = absl::Now(),
                                 .scenario_path = job.scenario_path,
                                 .scenario_yaml = job.files.at(job.scenario_path)},
                                {.target = job.vm, .desktop = desktop, .vnc = vnc}, cancel.get());
            }};
  }
  // --record: the screen as a video while the steps run, the screen after each step as
  // its key moments. A recording that cannot start or finish is said, not a failure.
  std::unique_ptr<SessionRecorder> recorder;
  if (job.record_fps > 0) {
    absl::StatusOr<std::unique_ptr<SessionRecorder>> started =
        SessionRecorder::Start(**session, {.fps = job.record_fps});
    if (started.ok()) {
      recorder = std::move(*started);
    } else {
      events.Log("warning", absl::StrCat("not recorded: ", started.status().message()));
    }
  }
  ScenarioRunner runner(**session, runner_options, [&](Event event) {
    if (recorder && event.type == EventType::kStepFinished && !event.cleanup &&
        event.substep.empty()) {
      recorder->MarkKeyMoment();
    }
    return events(std::move(event));
  });
  RunOutcome outcome = runner.Run(scenario);
  if (recorder) EmitRecording(*recorder, events);
  tear_down();
  return finish(outcome.verdict, outcome.reason, outcome.bug);
}

}  // namespace mosdat

#include "cli/run_client.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/embedded.h"
#include "cli/evidence_fetch.h"
#include "cli/exit_codes.h"
#include "cli/live_host.h"
#include "cli/package_upload.h"
#include "core/preflight.h"
#include "core/process.h"
#include "core/secret_ref.h"
#include "core/utf8.h"
#include "report/html_parts.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"

namespace mosdat {

void AddMatrixFlags(CLI::App* cmd, MatrixArgs* args, bool detach) {
  AddRunSelection(cmd, args);
  cmd->add_option("--coordinator", args->coordinator,
                  "coordinator address host:port; empty = run everything in this process");
  cmd->add_option("--token", args->token_ref, "coordinator token as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->tls);
  cmd->add_option("--results", args->results,
                  "results root (default: [report].output_dir); with --coordinator on another "
                  "machine, where the run's evidence is copied to");
  cmd->add_flag("--leave-evidence", args->leave_evidence,
                "with --coordinator: leave the evidence on the coordinator's machine instead "
                "of copying it here");
  cmd->add_flag("--json", args->json, "print a JSON summary instead of progress");
  cmd->add_option("--retries", args->retries,
                  "runs of a job again after an infrastructure error (default: the "
                  "coordinator's, 1); a test failure is never retried")
      ->check(CLI::Range(0, 10));
  cmd->add_flag("--pause-on-failure", args->pause_on_failure,
                "a failed must_pass step holds its job and VM: take over its screen in the "
                "live page this command serves, then resume the job from a step or abort it");
  cmd->add_flag("--record", args->record,
                "record each scenario job's screen: recording.webm (frames newer than the last, "
                "timed as they came) and recording-strip.png (the screen after each step) in "
                "its results; needs ffmpeg where the job runs");
  cmd->add_option("--fps", args->record_fps, "most frames a second a recording takes (default 10)")
      ->check(CLI::Range(1, kMaxRecordFps));
  cmd->add_flag("--live", args->live,
                "serve the live page of this run while it runs (each job's screen live, its "
                "steps, its failure); the URL is printed");
  cmd->add_option("--live-listen", args->live_listen,
                  "where the live page of --live and --pause-on-failure listens (default "
                  "127.0.0.1:0, any free port)");
  cmd->add_option("--live-token", args->live_token_ref,
                  "the token of that live page, as env:NAME or file:PATH (default: one made for "
                  "this run, printed once)");
  if (detach) {
    cmd->add_flag("--detach", args->detach,
                  "print the run id once submitted and exit (follow it with `mosdat watch`); "
                  "needs --coordinator");
  }
}

std::string LastAttemptDir(const v1::Job& job) {
  return job.attempts().empty() ? job.results_dir() : job.attempts().rbegin()->results_dir();
}

void AddPackageFlag(CLI::App* cmd, MatrixArgs* args) {
  cmd->add_option("--package", args->packages,
                  "a pre-built package (.deb, .rpm, .AppImage, .tar.gz, ...) each VM whose "
                  "[[vm.package]] takes it installs before its jobs; repeatable")
      ->check(CLI::ExistingFile);
}

void RunPrinter::Name(const v1::Job& job, bool with_test) {
  std::string name = with_test ? job.test() + "/" + job.vm().name() : job.vm().name();
  // Repeated jobs are told apart by their iteration.
  if (IterationOf(job.variant()) > 0) name += " " + job.variant();
  names_[job.job_id()] = std::move(name);
}

std::string RunPrinter::Who(const std::string& job_id) const {
  auto it = names_.find(job_id);
  return it == names_.end() ? job_id : it->second;
}

void RunPrinter::OnUpdate(const v1::RunUpdate& update) {
  if (update.has_event() && update.event().has_step_finished()) {
    const v1::StepFinished& step = update.event().step_finished();
    if (step.kind() == "smoke-run" && step.has_output()) {
      smoke_exit_codes_[update.event().job_id()] = step.output().exit_code();
    }
  }
  if (quiet_) return;
  if (update.has_job()) {
    const v1::Job& job = update.job();
    const std::string who = Who(job.job_id());
    if (job.state() == v1::JOB_STATE_RUNNING || job.state() == v1::JOB_STATE_PREPARING) {
      if (job.attempt() > 1 && attempts_[job.job_id()] < job.attempt()) {
        std::cout << absl::StrFormat("[%s] attempt %d of %d on agent %s\n", who, job.attempt(),
                                     job.max_attempts(), job.agent_id());
      }
      attempts_[job.job_id()] = std::max(attempts_[job.job_id()], job.attempt());
    } else if (job.state() == v1::JOB_STATE_QUEUED && job.attempts_size() > 0) {
      const v1::JobAttempt& last = job.attempts(job.attempts_size() - 1);
      std::cout << absl::StrFormat(
          "[%s] attempt %d ended in an infrastructure error (%s); "
          "it will run again\n",
          who, last.number(), last.reason());
    } else if (job.state() == v1::JOB_STATE_CANCELLED && job.attempts_size() == 0) {
      std::cout << absl::StrFormat("[%s] %s\n", who, job.reason());
    } else if (job.state() == v1::JOB_STATE_DONE && job.attempts_size() == 0) {
      std::cout << absl::StrFormat("[%s] %s: %s\n", who, ToString(FromProto(job.verdict())),
                                   job.reason());
    }
    std::cout << std::flush;
    return;
  }
  if (!update.has_event()) return;
  Event e = FromProto(update.event());
  const std::string who = Who(e.job_id);
  switch (e.type) {
    case EventType::kJobStarted:
      std::cout << absl::StrFormat("[%s] %s\n", who, e.scenario);
      break;
    case EventType::kStepFinished: {
      // 40 characters wide (not bytes), padded by characters.
      std::string name =
          ShortenText(e.step_kind + " " + (e.label.empty() ? e.description : e.label), 40);
      name.append(40 - std::min<size_t>(40, Utf8Length(name)), ' ');
      std::cout << absl::StrFormat("[%s] %s%2s %-8s %s %6.2fs%s\n", who,
                                   e.cleanup ? "cleanup " : "", StepNumber(e.step_index, e.substep),
                                   ToString(e.status), name, e.duration_seconds,
                                   e.reason.empty() ? "" : "  " + e.reason);
      break;
    }
    case EventType::kLog:
      if (e.level != "debug") std::cout << absl::StrFormat("[%s] %s\n", who, e.text);
      break;
    case EventType::kJobPaused:
      std::cout << absl::StrFormat("[%s] PAUSED at step %d for a person: %s\n", who,
                                   e.step_index + 1, e.reason);
      if (!live_url_.empty()) {
        std::cout << absl::StrFormat(
            "[%s] take over its screen at %s/?job=%s, then resume or abort it there\n", who,
            live_url_, UrlPathEscape(e.job_id));
      }
      break;
    case EventType::kJobResumed:
      std::cout << absl::StrFormat("[%s] %s\n", who, e.text);
      break;
    case EventType::kJobFinished:
      std::cout << absl::StrFormat("[%s] %s%s\n", who, ToString(e.verdict),
                                   e.reason.empty() ? "" : ": " + e.reason);
      break;
    default:
      break;
  }
  std::cout << std::flush;
}

void PrintRunSummary(const v1::Run& run, bool json,
                     const std::map<std::string, int>& smoke_exit_codes) {
  auto exit_code = [&](const v1::Job& job) -> std::optional<int> {
    auto it = smoke_exit_codes.find(job.job_id());
    if (it == smoke_exit_codes.end()) return std::nullopt;
    return it->second;
  };
  JobVerdict verdict = FromProto(run.verdict());
  if (json) {
    nlohmann::json out = {{"run", run.run_id()},
                          {"verdict", std::string(ToString(verdict))},
                          {"cancelled", run.cancelled()},
                          {"results", run.results_dir()},
                          {"jobs", nlohmann::json::array()}};
    for (const v1::Job& job : run.jobs()) {
      nlohmann::json attempts = nlohmann::json::array();
      for (const v1::JobAttempt& a : job.attempts()) {
        attempts.push_back({{"number", a.number()},
                            {"agent", a.agent_id()},
                            {"verdict", std::string(ToString(FromProto(a.verdict())))},
                            {"reason", a.reason()},
                            {"duration_seconds", a.duration_seconds()},
                            {"results", a.results_dir()}});
      }
      nlohmann::json entry = {{"test", job.test()},
                              {"vm", job.vm().name()},
                              {"verdict", std::string(ToString(FromProto(job.verdict())))},
                              {"reason", job.reason()},
                              {"duration_seconds", job.duration_seconds()},
                              {"attempts", attempts},
                              {"results", job.results_dir()}};
      if (!job.variant().empty()) entry["variant"] = job.variant();
      if (std::optional<int> code = exit_code(job)) entry["exit_code"] = *code;
      out["jobs"].push_back(std::move(entry));
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  // "test on vm", and the variant of a smoke job: "wayland-fake on local (wayland-fake)".
  auto name_of = [](const v1::Job& job) {
    std::string name = job.test() + " on " + job.vm().name();
    if (!job.variant().empty()) name += " (" + job.variant() + ")";
    return name;
  };
  size_t width = 20;
  for (const v1::Job& job : run.jobs()) width = std::max(width, Utf8Length(name_of(job)));
  // The app's exit code decides a smoke job: the column is there when the run has one.
  const bool has_smoke = std::any_of(run.jobs().begin(), run.jobs().end(), [](const v1::Job& job) {
    return !job.variant().empty() && IterationOf(job.variant()) == 0;
  });
  auto exit_column = [&](std::string text) {
    return has_smoke ? absl::StrFormat(" %4s", text) : std::string();
  };
  std::cout << absl::StrFormat(
      "\nsummary%s\n  %-7s %-*s%s %9s  %s\n", run.cancelled() ? " (cancelled)" : "", "verdict",
      static_cast<int>(width), "test on vm", exit_column("exit"), "duration", "attempts");
  for (const v1::Job& job : run.jobs()) {
    std::string name = name_of(job);
    name.append(width - std::min(width, Utf8Length(name)), ' ');
    std::optional<int> code = exit_code(job);
    std::cout << absl::StrFormat("  %-7s %s%s %8.1fs  %d\n", ToString(FromProto(job.verdict())),
                                 name, exit_column(code ? absl::StrCat(*code) : "-"),
                                 job.duration_seconds(), job.attempts_size());
    for (const v1::JobAttempt& a : job.attempts()) {
      if (job.attempts_size() > 1) {
        std::cout << absl::StrFormat("          attempt %d on %s: %s%s\n", a.number(), a.agent_id(),
                                     ToString(FromProto(a.verdict())),
                                     a.reason().empty() ? "" : " (" + a.reason() + ")");
      }
    }
    if (!job.reason().empty()) std::cout << "          " << job.reason() << "\n";
    // The last attempt's trace viewer when it is on this machine, else the directory.
    const std::string last_dir = LastAttemptDir(job);
    const std::string trace = (std::filesystem::path(last_dir) / "trace.html").string();
    std::error_code error;
    std::cout << "          " << (std::filesystem::exists(trace, error) ? trace : job.results_dir())
              << "\n";
  }
  std::cout << "results: " << run.results_dir() << "\n";
}

absl::StatusOr<v1::Run> FollowRun(v1::Coordinator::Stub& coordinator, const std::string& token,
                                  const std::string& run_id, uint64_t after_seq,
                                  const std::function<void(const v1::RunUpdate&)>& on_update,
                                  absl::Duration patience) {
  absl::Time unreachable_since = absl::InfiniteFuture();
  for (;;) {
    grpc::ClientContext context;
    AttachToken(context, token);
    v1::WatchRunRequest watch;
    watch.set_run_id(run_id);
    watch.set_after_seq(after_seq);
    auto reader = coordinator.WatchRun(&context, watch);
    v1::RunUpdate update;
    while (reader->Read(&update)) {
      unreachable_since = absl::InfiniteFuture();
      if (update.run_seq() <= after_seq) continue;  // never twice
      after_seq = update.run_seq();
      on_update(update);
      if (update.has_run()) {
        context.TryCancel();
        reader->Finish().ok();
        return update.run();
      }
    }
    grpc::Status status = reader->Finish();
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::CANCELLED) {
      return FromGrpcStatus(status);
    }
    // Lost the coordinator (it restarts, or the network dropped): resume after the
    // last update seen.
    const absl::Time now = absl::Now();
    if (unreachable_since == absl::InfiniteFuture()) {
      unreachable_since = now;
      std::cerr << "lost the coordinator while watching run " << run_id
                << (status.ok() ? "" : " (" + status.error_message() + ")") << "; trying again\n";
    } else if (now - unreachable_since > patience) {
      return absl::UnavailableError(absl::StrCat("lost the coordinator while watching the run",
                                                 status.ok() ? "" : ": " + status.error_message()));
    }
    absl::SleepFor(absl::Milliseconds(500));  // between reconnect attempts, not a wait for state
  }
}

namespace {

// The live page beside an embedded run (--live, --pause-on-failure), its URL printed
// (and its token, when made here); nullopt with *exit_code set when it cannot serve.
std::optional<LiveHost> ServeLivePage(const MatrixArgs& args, const Config& config,
                                      const ServiceConnection& connection,
                                      const std::string& results_root, const std::string& command,
                                      int* exit_code) {
  std::string token = GenerateToken();
  const bool made = args.live_token_ref.empty();
  if (!made) {
    absl::StatusOr<std::string> given = SecretRef::ResolveText(args.live_token_ref);
    if (!given.ok() || given->empty()) {
      std::cerr << command << ": --live-token: "
                << (given.ok() ? "the token is empty" : given.status().message()) << "\n";
      *exit_code = kExitUsage;
      return std::nullopt;
    }
    token = *given;
  }
  absl::StatusOr<LiveHost> live =
      StartLiveHost(config, connection, args.live_listen, token, results_root);
  if (!live.ok()) {
    std::cerr << command << ": --live-listen: " << live.status().message() << "\n";
    *exit_code = live.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                            : kExitInfrastructure;
    return std::nullopt;
  }
  (args.json ? std::cerr : std::cout)
      << "live page of this run: " << live->server->url() << "/runs"
      << (made ? " (log in with the token " + token + ")" : "") << std::endl;
  return std::move(*live);
}

}  // namespace

int RunMatrix(const MatrixArgs& args, const std::string& command,
              const std::function<int(const v1::Run&)>& on_finished) {
  // Embedded, the jobs record on this machine: it needs ffmpeg before anything starts.
  if (args.record && args.coordinator.empty() && FindExecutable("ffmpeg").empty()) {
    std::cerr << command
              << ": --record needs ffmpeg, which is not installed here (apt-get install ffmpeg, "
                 "or deploy/install-deps.sh)\n";
    return kExitConfigError;
  }
  if (args.detach && args.coordinator.empty()) {
    std::cerr << command
              << ": --detach needs --coordinator: an embedded run lives in this process\n";
    return kExitUsage;
  }
  PreflightOptions preflight{.config_path = args.config,
                             .tests = args.tests,
                             .vms = args.vms,
                             .embedded = args.coordinator.empty(),
                             .smoke_tests = args.smoke_tests,
                             .installs_packages = !args.packages.empty(),
                             .install_only = args.install_jobs == InstallJobs::kOnly,
                             .scenario_tests = args.scenario_tests};
  for (const std::string& assignment : args.vars) {
    absl::StatusOr<std::pair<std::string, Value>> var = ParseVarAssignment(assignment);
    if (!var.ok()) {
      std::cerr << command << ": " << var.status().message() << "\n";
      return kExitUsage;
    }
    preflight.vars[var->first] = var->second;
  }
  // The same checks as `mosdat preflight`, before anything is submitted or started:
  // whatever the run would trip on is a config error now, not a failure later.
  PreflightReport report = RunPreflight(preflight);
  for (const Diagnostic& d : report.problems.warnings()) {
    std::cerr << "warning: " << d.ToString() << "\n";
  }
  if (!report.usage_errors.empty()) {
    for (const Diagnostic& d : report.problems.items()) std::cerr << d.ToString() << "\n";
    for (const std::string& error : report.usage_errors) {
      std::cerr << command << ": " << error << "\n";
    }
    return kExitUsage;
  }
  if (!report.ok()) {
    for (const Diagnostic& d : report.problems.items()) std::cerr << d.ToString() << "\n";
    std::cerr << command << ": preflight found " << report.problems.size()
              << (report.problems.size() == 1 ? " problem" : " problems")
              << "; nothing was started\n";
    return ExitCodeFor(Outcome::kConfigError);
  }
  for (const PreflightTestReport& t : report.tests) {
    if (t.skipped) std::cerr << "test \"" << t.name << "\" " << t.note << "\n";
  }
  const Config& config = report.config;

  EmbeddedOptions embedded;
  // The embedded agent runs every VM: local desktops itself, Proxmox VMs through the
  // embedded bridge's console tunnels (loopback ports in this process).
  for (const VmConfig& vm : config.vms) embedded.vms.push_back(vm.name);
  embedded.coordinator.results_root =
      args.results.empty() ? config.report.output_dir : args.results;
  embedded.vlm = config.vlm;
  absl::StatusOr<ServiceConnection> connection =
      ConnectServices(args.coordinator, args.token_ref, args.tls, embedded);
  if (!connection.ok()) {
    std::cerr << command << ": " << connection.status().message() << "\n";
    return connection.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                            : kExitInfrastructure;
  }
  const std::string& token = connection->token;
  auto coordinator = v1::Coordinator::NewStub(connection->channel);

  v1::SubmitMatrixRequest request;
  request.set_config_path(config.source_path);
  for (const std::string& test : args.tests) request.add_tests(test);
  if (args.tests.empty() && !args.smoke_tests) {
    // No tests named means every [[test]] to the coordinator, smoke tests included:
    // name the ones this command runs.
    for (const PreflightTestReport& t : report.tests) {
      if (!t.skipped) request.add_tests(t.name);
    }
    if (request.tests().empty()) {
      std::cerr << command << ": the config has only smoke tests; run them with `mosdat test`\n";
      return kExitUsage;
    }
  }
  for (const std::string& vm : args.vms) request.add_vms(vm);
  for (const auto& [name, value] : preflight.vars) {
    (*request.mutable_vars())[name] = ValueToJson(value);
  }
  for (const auto& [name, value] : report.secrets) (*request.mutable_secrets())[name] = value;
  if (args.retries) request.set_retries(*args.retries);
  request.set_label(config.app.name);
  request.set_install_jobs(static_cast<v1::InstallJobs>(args.install_jobs));
  request.set_pause_on_failure(args.pause_on_failure);
  request.set_iterations(args.iterations);
  if (args.record) request.set_record_fps(args.record_fps);
  for (const auto& [name, path] : args.scenario_tests) {
    (*request.mutable_scenario_tests())[name] = path;
  }
  // Embedded, the jobs run in this process: so does the page that shows them live and
  // takes a held one over.
  std::optional<LiveHost> live;
  if ((args.live || args.pause_on_failure) && args.coordinator.empty()) {
    int exit_code = 0;
    live = ServeLivePage(args, config, *connection, embedded.coordinator.results_root, command,
                         &exit_code);
    if (!live) return exit_code;
  } else if (args.live || args.pause_on_failure) {
    std::cerr << "the jobs run on their agents: watch them, and take a held one over, with "
                 "`mosdat live --agent HOST:PORT`\n";
  }
  if (!args.packages.empty()) {
    absl::StatusOr<std::vector<v1::ArtifactRef>> uploaded =
        UploadPackages(*coordinator, token, args.packages);
    if (!uploaded.ok()) {
      std::cerr << command << ": " << uploaded.status().message() << "\n";
      // A file that is not there is the command line's fault; anything else, the rig's.
      return ExitCodeFor(uploaded.status().code() == absl::StatusCode::kInvalidArgument
                             ? Outcome::kConfigError
                             : Outcome::kInfrastructureError);
    }
    for (v1::ArtifactRef& ref : *uploaded) {
      if (!args.json) {
        std::cout << "package " << ref.name() << " (" << ref.size() << " bytes, sha256 "
                  << ref.sha256().substr(0, 12) << ")\n";
      }
      *request.add_packages() = std::move(ref);
    }
  }
  v1::SubmitMatrixResponse submitted;
  {
    grpc::ClientContext context;
    AttachToken(context, token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    // The request, then the files in chunks: a suite is bound by kMaxJobFilesBytes
    // (which preflight checks), not by gRPC's message size.
    auto writer = coordinator->SubmitMatrixStream(&context, &submitted);
    v1::SubmitMatrixChunk head;
    *head.mutable_request() = std::move(request);
    if (writer->Write(head)) {
      WriteFileChunks(report.job_files, [&](const v1::FileChunk& chunk) {
        v1::SubmitMatrixChunk next;
        *next.mutable_file() = chunk;
        return writer->Write(next);
      });
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) {
      std::cerr << command << ": " << status.error_message() << "\n";
      return ExitCodeFor(FromGrpcStatus(status));
    }
  }
  if (args.detach) {
    std::cout << submitted.run_id() << "\n";
    return kExitPass;
  }
  // Progress lines name the VM, and the test too when the run has several.
  std::set<std::string> tests_in_run;
  for (const v1::Job& job : submitted.jobs()) tests_in_run.insert(job.test());
  RunPrinter printer(args.json);
  if (live) printer.set_live_url(live->server->url());
  for (const v1::Job& job : submitted.jobs()) printer.Name(job, tests_in_run.size() > 1);
  if (!args.json) {
    std::cout << "run " << submitted.run_id() << ": " << submitted.jobs_size() << " job(s)\n";
  }
  absl::StatusOr<v1::Run> finished =
      FollowRun(*coordinator, token, submitted.run_id(), 0, [&](const v1::RunUpdate& update) {
        printer.OnUpdate(update);
        if (args.on_update) args.on_update(update);
      });
  if (!finished.ok()) {
    std::cerr << command << ": " << finished.status().message() << "\n";
    return kExitInfrastructure;
  }
  if (!args.coordinator.empty() && !args.leave_evidence) {
    FetchRunEvidenceSaying(*coordinator, token, embedded.coordinator.results_root, command,
                           &*finished);
  }
  if (on_finished) return on_finished(*finished);
  PrintRunSummary(*finished, args.json, printer.smoke_exit_codes());
  return ExitCodeFor(FromProto(finished->verdict()));
}

}  // namespace mosdat

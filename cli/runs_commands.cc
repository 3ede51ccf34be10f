// `mosdat runs`, `mosdat watch RUN` and `mosdat cancel RUN`: the run history, following
// a run again (from the start, or after the last update seen with --after), and
// stopping one. With --coordinator they ask it; without, `runs` and `watch` read the
// history the embedded runs of this results directory kept (<results>/.mosdat-state).
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/embedded.h"
#include "cli/evidence_fetch.h"
#include "cli/exit_codes.h"
#include "cli/run_client.h"
#include "coordinator/run_proto.h"
#include "coordinator/sqlite_store.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

struct HistoryArgs {
  std::string coordinator;
  std::string token_ref;
  ClientTlsOptions tls;
  std::string results = "results";
  std::string run_id;
  uint64_t after = 0;
  int limit = 20;
  bool json = false;
  bool leave_evidence = false;  // watch --coordinator: not copied under --results
};

void AddConnectionFlags(CLI::App* cmd, HistoryArgs* args) {
  cmd->add_option("--coordinator", args->coordinator,
                  "coordinator address host:port; empty = the history of embedded runs");
  cmd->add_option("--token", args->token_ref, "coordinator token as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->tls);
  cmd->add_option("--results", args->results,
                  "results root whose embedded runs to read (without --coordinator); `watch "
                  "--coordinator` copies the run's evidence under it")
      ->capture_default_str();
}

std::string StateDirOf(const HistoryArgs& args) { return args.results + "/.mosdat-state"; }

absl::StatusOr<std::unique_ptr<Store>> OpenHistory(const HistoryArgs& args) {
  return OpenSqliteStore({.dir = StateDirOf(args), .read_only = true});
}

int Fail(const std::string& command, const absl::Status& status) {
  std::cerr << command << ": " << status.message() << "\n";
  return ExitCodeFor(status);
}

// The coordinator at --coordinator, and a call context carrying its token.
struct Remote {
  ServiceConnection connection;
  std::unique_ptr<v1::Coordinator::Stub> stub;
  std::unique_ptr<grpc::ClientContext> Call() const {
    auto context = std::make_unique<grpc::ClientContext>();
    AttachToken(*context, connection.token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return context;
  }
};

absl::StatusOr<Remote> ConnectRemote(const HistoryArgs& args) {
  absl::StatusOr<ServiceConnection> connection =
      ConnectServices(args.coordinator, args.token_ref, args.tls);
  if (!connection.ok()) return connection.status();
  Remote remote{.connection = *std::move(connection)};
  remote.stub = v1::Coordinator::NewStub(remote.connection.channel);
  return remote;
}

std::string Counts(const v1::Run& run) {
  std::map<std::string, int> by_verdict;
  int active = 0;
  for (const v1::Job& job : run.jobs()) {
    if (job.state() == v1::JOB_STATE_DONE || job.state() == v1::JOB_STATE_CANCELLED) {
      ++by_verdict[std::string(ToString(FromProto(job.verdict())))];
    } else {
      ++active;
    }
  }
  std::string out;
  for (const auto& [verdict, n] : by_verdict)
    absl::StrAppend(&out, out.empty() ? "" : " ", n, " ", verdict);
  if (active > 0) absl::StrAppend(&out, out.empty() ? "" : " ", active, " active");
  return out;
}

int ListRuns(const HistoryArgs& args) {
  std::vector<v1::Run> runs;
  if (args.coordinator.empty()) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenHistory(args);
    if (!store.ok()) return Fail("mosdat runs", store.status());
    absl::StatusOr<std::vector<RunRecord>> records = (*store)->ListRuns(args.limit);
    if (!records.ok()) return Fail("mosdat runs", records.status());
    for (const RunRecord& r : *records) runs.push_back(RunToProto(r));
  } else {
    absl::StatusOr<Remote> remote = ConnectRemote(args);
    if (!remote.ok()) return Fail("mosdat runs", remote.status());
    v1::ListRunsRequest request;
    request.set_limit(args.limit);
    v1::ListRunsResponse response;
    grpc::Status status = remote->stub->ListRuns(remote->Call().get(), request, &response);
    if (!status.ok()) return Fail("mosdat runs", FromGrpcStatus(status));
    runs.assign(response.runs().begin(), response.runs().end());
  }
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const v1::Run& run : runs) {
      out.push_back(
          {{"run", run.run_id()},
           {"label", run.label()},
           {"created_unix_ms", run.created_unix_ms()},
           {"done", run.done()},
           {"cancelled", run.cancelled()},
           {"verdict", run.done() ? std::string(ToString(FromProto(run.verdict()))) : "running"},
           {"jobs", run.jobs_size()},
           {"results", run.results_dir()}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitPass;
  }
  if (runs.empty()) {
    std::cout << "no runs yet\n";
    return kExitPass;
  }
  std::cout << absl::StrFormat("%-20s %-19s %-9s %-24s %s\n", "run", "created", "verdict", "jobs",
                               "label");
  for (const v1::Run& run : runs) {
    std::string verdict = run.done() ? std::string(ToString(FromProto(run.verdict()))) : "running";
    if (run.cancelled()) verdict += "*";
    std::cout << absl::StrFormat(
        "%-20s %-19s %-9s %-24s %s\n", run.run_id(),
        absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(run.created_unix_ms()),
                         absl::LocalTimeZone()),
        verdict, Counts(run), run.label());
  }
  return kExitPass;
}

// Follows a run the embedded history holds (another `mosdat` may be running it).
absl::StatusOr<v1::Run> FollowStored(Store& store, const std::string& run_id, uint64_t after,
                                     const std::function<void(const v1::RunUpdate&)>& on_update) {
  for (;;) {
    absl::StatusOr<std::vector<StoredUpdate>> updates = store.UpdatesAfter(run_id, after, 1000);
    if (!updates.ok()) return updates.status();
    for (const StoredUpdate& update : *updates) {
      after = update.seq;
      if (update.kind == StoredUpdate::Kind::kRun) {
        absl::StatusOr<RunRecord> run = store.GetRun(run_id);
        if (!run.ok()) return run.status();
        v1::RunUpdate out = UpdateToProto(update, &*run);
        on_update(out);
        return out.run();
      }
      on_update(UpdateToProto(update));
    }
    if (updates->empty()) {
      absl::StatusOr<RunRecord> run = store.GetRun(run_id);
      if (!run.ok()) return run.status();
      if (run->done) return RunToProto(*run);   // finished before it had a run update
      absl::SleepFor(absl::Milliseconds(200));  // polling another process's database
    }
  }
}

int Watch(const HistoryArgs& args) {
  RunPrinter printer(args.json);
  auto name_jobs = [&](const v1::Run& run) {
    std::set<std::string> tests;
    for (const v1::Job& job : run.jobs()) tests.insert(job.test());
    for (const v1::Job& job : run.jobs()) printer.Name(job, tests.size() > 1);
  };
  auto print = [&](const v1::RunUpdate& update) { printer.OnUpdate(update); };
  absl::StatusOr<v1::Run> finished;
  if (args.coordinator.empty()) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenHistory(args);
    if (!store.ok()) return Fail("mosdat watch", store.status());
    absl::StatusOr<RunRecord> run = (*store)->GetRun(args.run_id);
    if (!run.ok()) return Fail("mosdat watch", run.status());
    name_jobs(RunToProto(*run));
    finished = FollowStored(**store, args.run_id, args.after, print);
  } else {
    absl::StatusOr<Remote> remote = ConnectRemote(args);
    if (!remote.ok()) return Fail("mosdat watch", remote.status());
    v1::GetRunRequest request;
    request.set_run_id(args.run_id);
    v1::Run run;
    grpc::Status status = remote->stub->GetRun(remote->Call().get(), request, &run);
    if (!status.ok()) return Fail("mosdat watch", FromGrpcStatus(status));
    name_jobs(run);
    finished = FollowRun(*remote->stub, remote->connection.token, args.run_id, args.after, print);
    if (finished.ok() && !args.leave_evidence) {
      FetchRunEvidenceSaying(*remote->stub, remote->connection.token, args.results, "mosdat watch",
                             &*finished);
    }
  }
  if (!finished.ok()) return Fail("mosdat watch", finished.status());
  PrintRunSummary(*finished, args.json, printer.smoke_exit_codes());
  return ExitCodeFor(FromProto(finished->verdict()));
}

int Cancel(const HistoryArgs& args) {
  if (args.coordinator.empty()) {
    std::cerr << "mosdat cancel: needs --coordinator; an embedded run stops with Ctrl-C in the "
                 "terminal that runs it\n";
    return kExitUsage;
  }
  absl::StatusOr<Remote> remote = ConnectRemote(args);
  if (!remote.ok()) return Fail("mosdat cancel", remote.status());
  v1::CancelRunRequest request;
  request.set_run_id(args.run_id);
  v1::CancelRunResponse response;
  grpc::Status status = remote->stub->CancelRun(remote->Call().get(), request, &response);
  if (!status.ok()) return Fail("mosdat cancel", FromGrpcStatus(status));
  std::cout << absl::StrFormat(
      "run %s: %d queued job(s) cancelled, %d running job(s) stopping at their next step\n",
      args.run_id, response.cancelled_queued(), response.stopping());
  return kExitPass;
}

}  // namespace

void AddRunsCommands(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto runs = std::make_shared<HistoryArgs>();
  CLI::App* runs_cmd = root.add_subcommand("runs", "List past and current runs, newest first");
  AddConnectionFlags(runs_cmd, runs.get());
  runs_cmd->add_option("--limit", runs->limit, "at most this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  runs_cmd->add_flag("--json", runs->json, "print JSON");
  runs_cmd->callback([runs, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return ListRuns(*runs); });
  });

  auto watch = std::make_shared<HistoryArgs>();
  CLI::App* watch_cmd =
      root.add_subcommand("watch", "Follow a run to its end (again), then print its summary");
  watch_cmd->add_option("run", watch->run_id, "the run id")->required();
  AddConnectionFlags(watch_cmd, watch.get());
  watch_cmd->add_option("--after", watch->after,
                        "resume after this update number (run_seq) instead of the start");
  watch_cmd->add_flag("--json", watch->json, "print a JSON summary instead of progress");
  watch_cmd->add_flag("--leave-evidence", watch->leave_evidence,
                      "with --coordinator: leave the evidence on the coordinator's machine "
                      "instead of copying it under --results");
  watch_cmd->callback([watch, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return Watch(*watch); });
  });

  auto cancel = std::make_shared<HistoryArgs>();
  CLI::App* cancel_cmd = root.add_subcommand(
      "cancel",
      "Cancel a run: queued jobs do not start, running ones stop at their next step "
      "and run their cleanup");
  cancel_cmd->add_option("run", cancel->run_id, "the run id")->required();
  AddConnectionFlags(cancel_cmd, cancel.get());
  cancel_cmd->callback([cancel, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return Cancel(*cancel); });
  });
}

}  // namespace mosdat

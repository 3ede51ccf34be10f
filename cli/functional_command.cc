// `mosdat functional --config X.toml [--test S]... [--vm V]... [--var K=V]...`: runs
// scenarios on VMs through the coordinator (embedded by default, or --coordinator) and
// reports progress, a summary, and where the evidence is.
// Exit codes: 0 all passed, 1 a test failed, 3 config/scenario invalid, 4 infrastructure.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/embedded.h"
#include "cli/exit_codes.h"
#include "cli/run_selection.h"
#include "core/preflight.h"
#include "core/secret_ref.h"
#include "core/utf8.h"
#include "runtime/file_chunks.h"
#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

struct FunctionalArgs : RunSelection {
  std::string coordinator;
  std::string token_ref;
  ClientTlsOptions tls;
  std::string results;
  bool json = false;
};

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet) {}

  void OnEvent(const v1::JobEvent& proto, const std::map<std::string, std::string>& vm_of) {
    if (quiet_) return;
    Event e = FromProto(proto);
    auto vm = vm_of.find(e.job_id);
    std::string who = vm == vm_of.end() ? e.job_id : vm->second;
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
                                     e.cleanup ? "cleanup " : "",
                                     StepNumber(e.step_index, e.substep), ToString(e.status), name,
                                     e.duration_seconds, e.reason.empty() ? "" : "  " + e.reason);
        break;
      }
      case EventType::kLog:
        if (e.level != "debug") std::cout << absl::StrFormat("[%s] %s\n", who, e.text);
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

 private:
  bool quiet_;
};

int RunFunctional(const FunctionalArgs& args) {
  PreflightOptions preflight{.config_path = args.config,
                             .tests = args.tests,
                             .vms = args.vms,
                             .embedded = args.coordinator.empty()};
  for (const std::string& assignment : args.vars) {
    absl::StatusOr<std::pair<std::string, Value>> var = ParseVarAssignment(assignment);
    if (!var.ok()) {
      std::cerr << "mosdat functional: " << var.status().message() << "\n";
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
      std::cerr << "mosdat functional: " << error << "\n";
    }
    return kExitUsage;
  }
  if (!report.ok()) {
    for (const Diagnostic& d : report.problems.items()) std::cerr << d.ToString() << "\n";
    std::cerr << "mosdat functional: preflight found " << report.problems.size()
              << (report.problems.size() == 1 ? " problem" : " problems")
              << "; nothing was started\n";
    return ExitCodeFor(Outcome::kConfigError);
  }
  for (const PreflightTestReport& t : report.tests) {
    if (t.skipped) std::cerr << "test \"" << t.name << "\" " << t.note << "\n";
  }
  const Config& config = report.config;
  const VarMap& vars = preflight.vars;

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
    std::cerr << "mosdat functional: " << connection.status().message() << "\n";
    return connection.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                            : kExitInfrastructure;
  }
  const std::string& token = connection->token;
  auto coordinator = v1::Coordinator::NewStub(connection->channel);

  v1::SubmitMatrixRequest request;
  request.set_config_path(config.source_path);
  for (const std::string& test : args.tests) request.add_tests(test);
  for (const std::string& vm : args.vms) request.add_vms(vm);
  for (const auto& [name, value] : vars) (*request.mutable_vars())[name] = ValueToJson(value);
  for (const auto& [name, value] : report.secrets) (*request.mutable_secrets())[name] = value;
  request.set_label(config.app.name);
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
      std::cerr << "mosdat functional: " << status.error_message() << "\n";
      return ExitCodeFor(FromGrpcStatus(status));
    }
  }
  // Progress lines name the VM, and the test too when the run has several.
  std::set<std::string> tests_in_run;
  for (const v1::Job& job : submitted.jobs()) tests_in_run.insert(job.test());
  std::map<std::string, std::string> vm_of;
  for (const v1::Job& job : submitted.jobs()) {
    vm_of[job.job_id()] =
        tests_in_run.size() > 1 ? job.test() + "/" + job.vm().name() : job.vm().name();
  }
  if (!args.json) {
    std::cout << "run " << submitted.run_id() << ": " << submitted.jobs_size() << " job(s)\n";
  }

  ProgressPrinter printer(args.json);
  grpc::ClientContext watch_context;
  AttachToken(watch_context, token);
  v1::WatchRunRequest watch;
  watch.set_run_id(submitted.run_id());
  auto reader = coordinator->WatchRun(&watch_context, watch);
  v1::RunUpdate update;
  std::optional<v1::Run> finished;
  while (reader->Read(&update)) {
    if (update.has_event()) printer.OnEvent(update.event(), vm_of);
    if (update.has_run()) finished = update.run();
  }
  grpc::Status status = reader->Finish();
  if (!finished) {
    std::cerr << "mosdat functional: lost the coordinator while watching the run"
              << (status.ok() ? "" : ": " + status.error_message()) << "\n";
    return kExitInfrastructure;
  }

  JobVerdict verdict = FromProto(finished->verdict());
  if (args.json) {
    nlohmann::json out = {{"run", finished->run_id()},
                          {"verdict", std::string(ToString(verdict))},
                          {"results", finished->results_dir()},
                          {"jobs", nlohmann::json::array()}};
    for (const v1::Job& job : finished->jobs()) {
      out["jobs"].push_back({{"test", job.test()},
                             {"vm", job.vm().name()},
                             {"verdict", std::string(ToString(FromProto(job.verdict())))},
                             {"reason", job.reason()},
                             {"results", job.results_dir()}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "\nsummary\n";
    for (const v1::Job& job : finished->jobs()) {
      std::cout << absl::StrFormat(
          "  %-7s %s on %s%s\n          %s\n", ToString(FromProto(job.verdict())), job.test(),
          job.vm().name(), job.reason().empty() ? "" : ": " + job.reason(), job.results_dir());
    }
    std::cout << "results: " << finished->results_dir() << "\n";
  }
  return ExitCodeFor(verdict);
}

}  // namespace

void AddFunctionalCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<FunctionalArgs>();
  CLI::App* cmd = root.add_subcommand("functional", "Run functional UI scenarios (scenario x VM)");
  AddRunSelection(cmd, args.get());
  cmd->add_option("--coordinator", args->coordinator,
                  "coordinator address host:port; empty = run everything in this process");
  cmd->add_option("--token", args->token_ref, "coordinator token as env:NAME or file:PATH");
  AddConnectionTlsFlags(cmd, &args->tls);
  cmd->add_option("--results", args->results, "results root (default: [report].output_dir)");
  cmd->add_flag("--json", args->json, "print a JSON summary instead of progress");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return RunFunctional(*args); });
  });
}

}  // namespace mosdat

// The CLI's side of a run on the coordinator: submitting a matrix (tests × VMs),
// following it to the end — re-attaching after a dropped connection or a coordinator
// restart, from the last update seen, so nothing is printed twice or missed — and
// printing live progress and the summary table. `mosdat functional`, `run`, `test`
// and `watch` share it.
#ifndef MOSDAT_CLI_RUN_CLIENT_H_
#define MOSDAT_CLI_RUN_CLIENT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/run_selection.h"
#include "core/job.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/tls.h"

namespace mosdat {

// What the matrix commands take on the command line.
struct MatrixArgs : RunSelection {
  std::string coordinator;
  std::string token_ref;
  ClientTlsOptions tls;
  std::string results;
  // With a coordinator on another machine: leave the evidence there instead of copying
  // it under `results` (cli/evidence_fetch.h).
  bool leave_evidence = false;
  bool json = false;
  bool detach = false;
  std::optional<int> retries;
  // Smoke tests run too (`run`, `test`); `functional` runs scenarios only.
  bool smoke_tests = true;
  // Package files (`test --package`) each VM installs before its jobs.
  std::vector<std::string> packages;
  // Install jobs with the [verify] checks of the installed copy (core/job.h).
  InstallJobs install_jobs = InstallJobs::kNone;
  // A failed must_pass step holds its job and VM for a person. Embedded, this process
  // serves the live page on `live_listen` meanwhile (its URL and token are printed).
  bool pause_on_failure = false;
  bool live = false;  // serve the live page of the run (embedded) without holding
  std::string live_listen = "127.0.0.1:0";
  std::string live_token_ref;  // env:NAME or file:PATH; "" = one made for the run, printed
  // Record each scenario job's screen (`--record`), at most `record_fps` frames a second.
  bool record = false;
  int record_fps = 10;
  // Each scenario job runs this many times (`mosdat confirm --iterations`).
  int iterations = 1;
  // Tests defined here, not in the config: name → scenario file.
  std::map<std::string, std::string> scenario_tests;
  // Sees every update of the run too (after the progress lines).
  std::function<void(const v1::RunUpdate&)> on_update;
};
void AddMatrixFlags(CLI::App* cmd, MatrixArgs* args, bool detach);

// Submits `args` (after preflight) and follows the run; returns the exit code.
// `command` ("mosdat run") prefixes messages. With `on_finished`, the finished run goes
// to it, which prints what it makes of it and returns the exit code, instead of the
// summary table and the run's verdict.
int RunMatrix(const MatrixArgs& args, const std::string& command,
              const std::function<int(const v1::Run&)>& on_finished = nullptr);

// Progress lines for people: a job's state changes and its step results, named by VM
// (and test, when the run has several).
class RunPrinter {
 public:
  explicit RunPrinter(bool quiet) : quiet_(quiet) {}
  void Name(const v1::Job& job, bool with_test);
  void OnUpdate(const v1::RunUpdate& update);
  // Where a person takes over a held job ("" = not served by this process).
  void set_live_url(std::string url) { live_url_ = std::move(url); }
  // Smoke jobs: the app's exit code (the seed's number: 124 timeout, 139 SIGSEGV...),
  // by job id, from the events seen (quiet or not).
  const std::map<std::string, int>& smoke_exit_codes() const { return smoke_exit_codes_; }

 private:
  std::string Who(const std::string& job_id) const;
  bool quiet_;
  std::map<std::string, std::string> names_;  // job id → "vm" or "test/vm"
  std::map<std::string, int> attempts_;       // attempts announced per job
  std::map<std::string, int> smoke_exit_codes_;
  std::string live_url_;
};

// The summary: a table of test × VM (× variant, for smoke jobs) with verdict, the app's
// exit code (smoke jobs, from `smoke_exit_codes`), duration and attempts, then where
// the results are; or the same as JSON.
void PrintRunSummary(const v1::Run& run, bool json,
                     const std::map<std::string, int>& smoke_exit_codes = {});

// Where a job's last attempt keeps its evidence (the job's own directory before any).
std::string LastAttemptDir(const v1::Job& job);

// `--package FILE...`: package files each VM whose [[vm.package]] takes them installs.
void AddPackageFlag(CLI::App* cmd, MatrixArgs* args);

// Follows `run_id` after `after_seq` until the run finishes, calling `on_update` for
// each update once. While the coordinator is unreachable it tries again, for up to
// `patience`; Unavailable after that, NotFound for an unknown run.
absl::StatusOr<v1::Run> FollowRun(v1::Coordinator::Stub& coordinator, const std::string& token,
                                  const std::string& run_id, uint64_t after_seq,
                                  const std::function<void(const v1::RunUpdate&)>& on_update,
                                  absl::Duration patience = absl::Minutes(10));

}  // namespace mosdat

#endif  // MOSDAT_CLI_RUN_CLIENT_H_

// What `mosdat confirm` found, and the evidence it leaves in
// <results>/issues/<N>/<run>/: report.md (per VM: the environment observed, each
// iteration's verdict with its precondition and bug-signal frames), comment.md (ready
// to post on the issue), summary.json (for machines), and frames/ (the frames the two
// Markdown files show, copied so the folder stands alone).
#ifndef MOSDAT_CONFIRM_CONFIRM_REPORT_H_
#define MOSDAT_CONFIRM_CONFIRM_REPORT_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "confirm/github_client.h"
#include "core/bug_verdict.h"
#include "core/events.h"
#include "core/observed_environment.h"

namespace mosdat {

// One iteration on one VM, as its results directory tells it.
struct IterationResult {
  std::string vm;
  int iteration = 0;
  BugVerdict verdict = BugVerdict::kHarnessError;
  std::string reason;
  std::string dir;                 // the job's (last attempt's) results directory
  std::string precondition_frame;  // absolute paths; "" when none was taken
  std::string signal_frame;
  double duration_seconds = 0;
  std::optional<ObservedEnvironment> environment;
};

// Reads the iteration's events.jsonl in `dir` (untrusted: malformed lines skipped).
// A job without a bug verdict (it never ran its scenario, or the file is gone) is a
// harness error whose reason says so; `job_verdict`/`job_reason` are the coordinator's.
IterationResult ReadIteration(const std::string& vm, int iteration, const std::string& dir,
                              JobVerdict job_verdict, const std::string& job_reason);

struct VmResult {
  std::string vm;
  BugTally tally;
  BugAggregate verdict = BugAggregate::kInconclusive;
  std::optional<ObservedEnvironment> environment;  // the first iteration's that has one
  std::vector<IterationResult> iterations;         // in iteration order
};

struct ConfirmResult {
  IssueRef ref;
  std::optional<GitHubIssue> issue;
  std::string issue_note;  // why the issue's text is missing or old, when it is
  ConfirmMode mode = ConfirmMode::kConfirm;
  std::string scenario_path;
  std::string what_ran;  // "the packages a.deb", "ref v1.2 (commit abc)", "as installed"
  std::string run_id;
  std::string run_dir;
  std::string started_at;  // RFC 3339 UTC
  int iterations = 0;      // asked per VM
  std::vector<VmResult> vms;
  BugTally all;
  BugAggregate verdict = BugAggregate::kInconclusive;
};

// Groups the iterations per VM (in the order VMs first appear) and decides each VM's
// verdict and the overall one (core/bug_verdict.h).
void Summarize(std::vector<IterationResult> iterations, ConfirmResult* result);

// "INTERMITTENT (3/10 reproduced)", "CONFIRMED (5/5)", "INCONCLUSIVE (0 of 4 counted)".
std::string VerdictLine(BugAggregate verdict, const BugTally& tally);

std::string ReportMarkdown(const ConfirmResult& result);
std::string CommentMarkdown(const ConfirmResult& result);
nlohmann::json SummaryJson(const ConfirmResult& result, int exit_code);

// Writes report.md, comment.md, summary.json and frames/ into `dir` (created).
absl::Status WriteConfirmEvidence(const ConfirmResult& result, int exit_code,
                                  const std::string& dir);

}  // namespace mosdat

#endif  // MOSDAT_CONFIRM_CONFIRM_REPORT_H_

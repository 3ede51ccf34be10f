// `mosdat dashboard`: a static history site of the runs in a results directory — pass
// rate per test × VM across runs with each job's verdict linked to its evidence, flaky
// tests (pass and fail on the same inputs: config, scenarios, references, variables and
// packages hash alike), the infrastructure-error rate per agent host, duration trends as
// inline SVG, and the recent runs. One index.html, no script, no network.
//
// Reads <results>/functional/<run>/[<test>/]<vm>/ (job.json, events.jsonl, attempt-N/
// and attempt.json as the coordinator writes them); everything read is untrusted and
// bounded: at most `max_jobs` jobs (the newest runs first), small JSON files only.
#ifndef MOSDAT_REPORT_DASHBOARD_SITE_H_
#define MOSDAT_REPORT_DASHBOARD_SITE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/events.h"

namespace mosdat {

struct DashboardOptions {
  std::string results_root = "results";
  std::string out_dir = "site";
  size_t max_jobs = 20000;
};

// One attempt of a job, as read back.
struct JobAttemptRecord {
  std::string dir;
  std::string agent;    // "" when attempt.json does not say
  std::string verdict;  // events.jsonl's word: "pass", "fail", "error", ...; "running"
  double duration_seconds = 0;
};

// One job, as read back: what it was and its attempts (the last one decides).
struct JobHistory {
  std::string run_id, job_id, test, vm, inputs_sha256, dir;
  int64_t created_unix_ms = 0;
  std::vector<JobAttemptRecord> attempts;
  const JobAttemptRecord& last() const { return attempts.back(); }
};

// Every job under results_root (newest run first), at most max_jobs; `*skipped` gets
// "DIR: why" for directories that could not be read as jobs.
std::vector<JobHistory> ReadJobHistory(const DashboardOptions& options,
                                       std::vector<std::string>* skipped);

// The site's page for `jobs`; links are relative to `out_dir`.
std::string DashboardHtml(const std::vector<JobHistory>& jobs,
                          const std::vector<std::string>& skipped, const std::string& out_dir);

struct DashboardSummary {
  std::string index;  // the page written
  size_t jobs = 0;
  size_t runs = 0;
  size_t skipped = 0;
};

// Reads the history and writes out_dir/index.html. NotFound when results_root holds no
// runs at all; the error of the page's write otherwise.
absl::StatusOr<DashboardSummary> WriteDashboardSite(const DashboardOptions& options);

}  // namespace mosdat

#endif  // MOSDAT_REPORT_DASHBOARD_SITE_H_

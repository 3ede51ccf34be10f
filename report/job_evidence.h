// The evidence of one job attempt, read back from its result directory (events.jsonl
// and the screenshots it names) and arranged by step: what each step did, the frame
// before it and after it, where it pointed, what it considered. The trace viewer and
// the dashboard render it. The directory is untrusted input: a malformed line is
// skipped and said, a screenshot name that is not a plain file in it is ignored.
#ifndef MOSDAT_REPORT_JOB_EVIDENCE_H_
#define MOSDAT_REPORT_JOB_EVIDENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/events.h"

namespace mosdat {

struct StepEvidence {
  int index = -1;
  std::string substep;
  int attempt = 1;
  std::string kind, label, description, where;
  bool cleanup = false;
  bool finished = false;  // false: the job ended while it ran
  StepStatus status = StepStatus::kPassed;
  bool must_pass = true;
  double duration_seconds = 0;
  std::string reason;
  std::vector<LocatorCandidate> candidates;
  std::vector<VlmCall> vlm_calls;
  std::vector<PointerInput> pointer;
  std::optional<CommandOutput> output;
  std::optional<FailureSnapshot> snapshot;  // what was there at the failure
  std::string before;  // the newest screenshot taken before the step started, if any
  std::string after;   // the step's own (after it passed, or at its failure), if any
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

struct JobEvidence {
  std::string dir;
  std::string job_id, vm, scenario;
  std::string test;  // job.json's (beside the events, or in the job of an attempt-N/)
  bool finished = false;
  JobVerdict verdict = JobVerdict::kUnknown;
  std::string reason;
  std::optional<BugVerdict> bug;  // a bug scenario's attempt: what it found
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::vector<StepEvidence> steps;
  std::vector<Event> logs;           // log lines, in order
  std::vector<Event> screenshots;    // every screenshot event, in order
  std::vector<std::string> skipped;  // "events.jsonl:LINE: why" for malformed lines
  // Held for a person now (pause on failure): the failed step and why. Paused and
  // resumed events also show among the logs.
  struct Pause {
    int step_index = -1;
    std::string reason;
    int64_t since_ms = 0;
  };
  std::optional<Pause> paused;
};

// The evidence in `dir` (one attempt's directory). NotFound when it has no
// events.jsonl, ResourceExhausted when that is bigger than 256 MiB; the file's own read
// error otherwise.
absl::StatusOr<JobEvidence> ReadJobEvidence(const std::string& dir);

// The verdict as events.jsonl spells it ("pass", "fail", "error", ...); "running"
// when the job has not finished, "paused" while a failed step holds it.
std::string VerdictWord(const JobEvidence& job);

}  // namespace mosdat

#endif  // MOSDAT_REPORT_JOB_EVIDENCE_H_

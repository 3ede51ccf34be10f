#include "report/job_evidence.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "report/results_layout.h"

namespace mosdat {

namespace fs = std::filesystem;

namespace {

// Far more than any job writes (its screenshots are files of their own).
constexpr uintmax_t kMaxEventLogBytes = 256u << 20;

}  // namespace

absl::StatusOr<JobEvidence> ReadJobEvidence(const std::string& dir) {
  const std::string path = (fs::path(dir) / "events.jsonl").string();
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": no events.jsonl (not a job's result directory)"));
  }
  if (const uintmax_t size = fs::file_size(path, error); !error && size > kMaxEventLogBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(path, ": ", size >> 20,
                                                     " MiB of events, more than a page shows (",
                                                     kMaxEventLogBytes >> 20, " MiB at most)"));
  }
  JobEvidence job;
  job.dir = dir;
  for (const fs::path& about :
       {fs::path(dir) / "job.json", fs::path(dir).parent_path() / "job.json"}) {
    const nlohmann::json json = ReadAboutFile(about);
    if (auto test = json.find("test"); test != json.end() && test->is_string()) {
      job.test = test->get<std::string>().substr(0, 200);
      break;
    }
  }
  absl::StatusOr<std::vector<Event>> events =
      ReadEventLog(path, [&job](const std::string& where, const absl::Status& why) {
        job.skipped.push_back(absl::StrCat(where, ": ", why.message()));
      });
  if (!events.ok()) return events.status();

  std::string newest_shot;  // the latest screenshot so far: the frame a step starts from
  auto shot = [&](const std::string& name) {
    return IsPlainPngName(name) && fs::is_regular_file(fs::path(dir) / name, error) ? name : "";
  };
  for (Event& event : *events) {
    switch (event.type) {
      case EventType::kJobStarted:
        job.job_id = event.job_id;
        job.vm = event.vm;
        job.scenario = event.scenario;
        job.started_ms = event.unix_ms;
        break;
      case EventType::kStepStarted: {
        StepEvidence step;
        step.index = event.step_index;
        step.substep = event.substep;
        step.attempt = event.attempt;
        step.kind = event.step_kind;
        step.label = event.label;
        step.description = event.description;
        step.where = event.source_location;
        step.cleanup = event.cleanup;
        step.before = newest_shot;
        step.started_ms = event.unix_ms;
        job.steps.push_back(std::move(step));
        break;
      }
      case EventType::kStepFinished: {
        // Its step_started is the newest one with the same place (a lost line leaves
        // a finished step without a start: it still counts).
        StepEvidence* step = job.steps.empty() ? nullptr : &job.steps.back();
        if (step == nullptr || step->finished || step->index != event.step_index ||
            step->substep != event.substep) {
          job.steps.push_back({.index = event.step_index,
                               .substep = event.substep,
                               .kind = event.step_kind,
                               .label = event.label,
                               .description = event.description,
                               .where = event.source_location,
                               .before = newest_shot});
          step = &job.steps.back();
        }
        step->finished = true;
        step->attempt = event.attempt;
        step->status = event.status;
        step->must_pass = event.must_pass;
        step->duration_seconds = event.duration_seconds;
        step->reason = event.reason;
        step->candidates = std::move(event.candidates);
        step->vlm_calls = std::move(event.vlm_calls);
        step->pointer = std::move(event.pointer);
        step->output = std::move(event.output);
        step->snapshot = std::move(event.snapshot);
        step->after = shot(event.screenshot);
        step->finished_ms = event.unix_ms;
        for (VlmCall& call : step->vlm_calls) call.screenshot = shot(call.screenshot);
        break;
      }
      case EventType::kScreenshot:
        if (std::string name = shot(event.screenshot); !name.empty()) {
          newest_shot = name;
          job.screenshots.push_back(std::move(event));
        }
        break;
      case EventType::kLog:
        job.logs.push_back(std::move(event));
        break;
      case EventType::kJobPaused:
        job.paused = JobEvidence::Pause{event.step_index, event.reason, event.unix_ms};
        event.level = "warning";
        event.text =
            absl::StrCat("paused at step ", event.step_index + 1, " for a person: ", event.reason);
        job.logs.push_back(std::move(event));
        break;
      case EventType::kJobResumed:
        job.paused.reset();
        event.level = "warning";
        job.logs.push_back(std::move(event));
        break;
      case EventType::kJobFinished:
        job.paused.reset();
        job.finished = true;
        job.verdict = event.verdict;
        job.reason = event.reason;
        job.bug = event.bug;
        job.finished_ms = event.unix_ms;
        break;
    }
  }
  return job;
}

std::string VerdictWord(const JobEvidence& job) {
  if (job.finished) return std::string(ToString(job.verdict));
  return job.paused ? "paused" : "running";
}

}  // namespace mosdat

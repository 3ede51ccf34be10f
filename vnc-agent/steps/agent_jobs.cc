#include "vnc-agent/steps/agent_jobs.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

// How often a held job looks at its cancel token (which has its own condition).
constexpr absl::Duration kCancelCheck = absl::Milliseconds(200);

}  // namespace

AgentJobs::Tracked::~Tracked() {
  std::lock_guard lock(jobs_.mutex_);
  jobs_.running_.erase(job_id_);
}

std::unique_ptr<AgentJobs::Tracked> AgentJobs::Track(const std::string& job_id, JobScreen screen) {
  std::lock_guard lock(mutex_);
  running_[job_id] = std::move(screen);
  return std::make_unique<Tracked>(*this, job_id);
}

absl::StatusOr<JobScreen> AgentJobs::Running(const std::string& job_id) const {
  std::lock_guard lock(mutex_);
  auto it = running_.find(job_id);
  if (it == running_.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " is not running on this agent"));
  }
  return it->second;
}

bool AgentJobs::Wanted(const std::string& run_id, bool job_asks) const {
  std::lock_guard lock(mutex_);
  auto it = run_switches_.find(run_id);
  return it == run_switches_.end() ? job_asks : it->second.first;
}

void AgentJobs::SetRunSwitch(const std::string& run_id, bool hold) {
  std::lock_guard lock(mutex_);
  run_switches_[run_id] = {hold, ++switch_order_};
  if (run_switches_.size() > kMaxRunSwitches) {
    auto oldest = std::min_element(
        run_switches_.begin(), run_switches_.end(),
        [](const auto& a, const auto& b) { return a.second.second < b.second.second; });
    run_switches_.erase(oldest);
  }
}

absl::StatusOr<ResumeDecision> AgentJobs::Hold(PausedJob job, JobScreen screen,
                                               const CancelToken* cancel) {
  const std::string id = job.job_id;
  std::unique_lock lock(mutex_);
  if (held_.count(id) != 0) return absl::AlreadyExistsError(absl::StrCat("job ", id, " is held"));
  held_[id] = Held{std::move(job), std::move(screen), std::nullopt};
  absl::StatusOr<ResumeDecision> outcome = absl::UnknownError("not decided");
  for (;;) {
    Held& held = held_.at(id);
    if (held.decision) {
      outcome = *held.decision;
      break;
    }
    if (cancel != nullptr && cancel->stop_requested()) {
      outcome = cancel->AsStatus();
      break;
    }
    decided_.wait_for(lock, absl::ToChronoMilliseconds(kCancelCheck));
  }
  held_.erase(id);
  return outcome;
}

std::vector<PausedJob> AgentJobs::List() const {
  std::lock_guard lock(mutex_);
  std::vector<PausedJob> jobs;
  for (const auto& [id, held] : held_) {
    if (!held.decision) jobs.push_back(held.job);
  }
  return jobs;
}

absl::StatusOr<std::pair<PausedJob, JobScreen>> AgentJobs::Find(const std::string& job_id) const {
  std::lock_guard lock(mutex_);
  auto it = held_.find(job_id);
  if (it == held_.end() || it->second.decision) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " is not paused on this agent"));
  }
  return std::make_pair(it->second.job, it->second.screen);
}

absl::Status AgentJobs::Resume(const std::string& job_id, int from_step, const std::string& by) {
  std::lock_guard lock(mutex_);
  auto it = held_.find(job_id);
  if (it == held_.end() || it->second.decision) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " is not paused on this agent"));
  }
  const PausedJob& job = it->second.job;
  if (from_step < 0 || from_step >= job.step_count) {
    return absl::InvalidArgumentError(
        absl::StrCat("from_step must be one of the scenario's steps, 0 to ", job.step_count - 1,
                     " (counted from 0, as in events.jsonl)"));
  }
  it->second.decision =
      ResumeDecision{from_step, absl::StrCat("resumed from step ", from_step + 1, " by ", by,
                                             " (the verdict stays the failure of step ",
                                             job.failed_step + 1, ")")};
  decided_.notify_all();
  return absl::OkStatus();
}

absl::Status AgentJobs::Abort(const std::string& job_id, const std::string& by) {
  std::lock_guard lock(mutex_);
  auto it = held_.find(job_id);
  if (it == held_.end() || it->second.decision) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " is not paused on this agent"));
  }
  it->second.decision = ResumeDecision{-1, absl::StrCat("aborted by ", by)};
  decided_.notify_all();
  return absl::OkStatus();
}

}  // namespace mosdat

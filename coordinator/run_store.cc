#include "coordinator/run_store.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/junit.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

std::string NewRunId() {
  std::random_device random;
  return absl::StrCat(absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::UTCTimeZone()), "-",
                      absl::StrFormat("%04x", random() & 0xffff));
}

// Worse verdicts win when a run combines its jobs.
int Severity(JobVerdict verdict) {
  switch (verdict) {
    case JobVerdict::kPass:
      return 0;
    case JobVerdict::kUnknown:
      return 1;
    case JobVerdict::kFail:
      return 2;
    case JobVerdict::kConfigError:
      return 3;
    case JobVerdict::kError:
      return 4;
  }
  return 4;
}

}  // namespace

RunStore::RunStore(std::string results_root) : results_root_(std::move(results_root)) {}

absl::StatusOr<RunStatus> RunStore::CreateRun(std::vector<JobSpec> specs, std::string label) {
  std::lock_guard lock(mutex_);
  Run run;
  run.status.run_id = NewRunId();
  run.status.label = std::move(label);
  run.status.created = absl::Now();
  run.status.results_dir = (fs::path(results_root_) / "functional" / run.status.run_id).string();
  std::set<std::string> tests;
  for (const JobSpec& spec : specs) tests.insert(spec.test);
  int index = 0;
  for (JobSpec& spec : specs) {
    spec.run_id = run.status.run_id;
    spec.job_id = absl::StrCat(run.status.run_id, "-", ++index);
    Job job;
    fs::path dir = fs::path(run.status.results_dir);
    if (tests.size() > 1) dir /= spec.test;
    dir /= spec.vm.name;
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("cannot create results directory ", dir.string(), ": ", error.message()));
    }
    absl::StatusOr<EventLog> log = EventLog::Open((dir / "events.jsonl").string());
    if (!log.ok()) return log.status();
    job.log.emplace(std::move(*log));
    job.status.results_dir = dir.string();
    job.status.spec = std::move(spec);
    run.job_ids.push_back(job.status.spec.job_id);
    queue_.push_back(job.status.spec.job_id);
    jobs_.emplace(job.status.spec.job_id, std::move(job));
  }
  std::string id = run.status.run_id;
  run_order_.push_back(id);
  runs_.emplace(id, std::move(run));
  changed_.notify_all();
  return Snapshot(runs_.at(id));
}

std::optional<JobSpec> RunStore::Lease(const std::string& agent,
                                       const std::vector<std::string>& vms, absl::Duration wait) {
  std::unique_lock lock(mutex_);
  std::optional<JobSpec> leased;
  changed_.wait_for(lock, absl::ToChronoMilliseconds(wait), [&] {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      Job& job = jobs_.at(*it);
      if (std::find(vms.begin(), vms.end(), job.status.spec.vm.name) != vms.end()) {
        job.status.state = JobState::kRunning;
        job.status.agent = agent;
        leased = job.status.spec;
        queue_.erase(it);
        return true;
      }
    }
    return false;
  });
  return leased;
}

absl::StatusOr<std::map<std::string, std::string>> RunStore::JobFiles(
    const std::string& job_id, const std::string& agent) const {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.status.agent != agent ||
      it->second.status.state != JobState::kRunning) {
    return absl::NotFoundError(
        absl::StrCat("no running job \"", job_id, "\" is leased to agent \"", agent, "\""));
  }
  return it->second.status.spec.files;
}

std::mutex* RunStore::JobWrites(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second.writes.get();
}

absl::Status RunStore::Record(const Event& event) {
  std::mutex* writes = JobWrites(event.job_id);
  if (writes == nullptr) return absl::NotFoundError(absl::StrCat("no job \"", event.job_id, "\""));
  std::lock_guard write_lock(*writes);  // one writer per job; jobs_ never drops a job

  Job* job;
  {
    std::lock_guard lock(mutex_);
    job = &jobs_.at(event.job_id);
    if (job->status.state != JobState::kRunning) {
      return absl::FailedPreconditionError(absl::StrCat("job ", event.job_id, " is not running"));
    }
    if (event.seq != job->last_seq + 1) {
      return absl::InvalidArgumentError(absl::StrCat("job ", event.job_id, ": event ", event.seq,
                                                     " after ", job->last_seq, " (out of order)"));
    }
  }
  // The job's log and directory only change under its write lock, which is held.
  if (event.type == EventType::kScreenshot) {
    if (!IsPlainPngName(event.screenshot)) {
      return absl::InvalidArgumentError(
          absl::StrCat("screenshot name \"", event.screenshot, "\" is not a plain .png file name"));
    }
    std::string path = (fs::path(job->status.results_dir) / event.screenshot).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(event.png.data(), static_cast<std::streamsize>(event.png.size()));
    if (!out.flush()) return absl::DataLossError(absl::StrCat("cannot write ", path));
  }
  if (absl::Status s = job->log->Append(event); !s.ok()) return s;

  Event stored = event;
  stored.png.clear();
  std::lock_guard lock(mutex_);
  job->last_seq = event.seq;
  job->events.push_back(stored);
  AppendUpdate(runs_.at(job->status.spec.run_id), {.event = stored});
  if (event.type == EventType::kJobFinished) {
    FinishJob(*job, event.verdict, event.reason, event.duration_seconds);
  }
  changed_.notify_all();
  return absl::OkStatus();
}

void RunStore::AbandonJob(const std::string& job_id, const std::string& reason) {
  std::mutex* writes = JobWrites(job_id);
  if (writes == nullptr) return;
  std::lock_guard write_lock(*writes);
  Job* job;
  Event finished = Event::Of(EventType::kJobFinished);
  {
    std::lock_guard lock(mutex_);
    job = &jobs_.at(job_id);
    if (job->status.state != JobState::kRunning) return;
    finished.job_id = job_id;
    finished.seq = job->last_seq + 1;
    finished.unix_ms = absl::ToUnixMillis(absl::Now());
    finished.verdict = JobVerdict::kError;
    finished.reason = reason;
  }
  job->log->Append(finished).IgnoreError();  // best effort: the job is lost either way
  std::lock_guard lock(mutex_);
  job->last_seq = finished.seq;
  job->events.push_back(finished);
  AppendUpdate(runs_.at(job->status.spec.run_id), {.event = finished});
  FinishJob(*job, JobVerdict::kError, reason, 0);
  changed_.notify_all();
}

void RunStore::FinishJob(Job& job, JobVerdict verdict, const std::string& reason, double duration) {
  job.status.state = JobState::kDone;
  job.status.verdict = verdict;
  job.status.reason = reason;
  job.status.duration_seconds = duration;
  JunitJob junit{.suite = absl::StrCat(job.status.spec.test, " on ", job.status.spec.vm.name),
                 .events = job.events,
                 .verdict = verdict,
                 .reason = reason,
                 .duration_seconds = duration};
  std::ofstream(fs::path(job.status.results_dir) / "junit.xml") << JunitXml({junit});

  Run& run = runs_.at(job.status.spec.run_id);
  bool all_done = true;
  JobVerdict worst = JobVerdict::kPass;
  for (const std::string& id : run.job_ids) {
    const JobStatus& status = jobs_.at(id).status;
    all_done &= status.state == JobState::kDone;
    if (Severity(status.verdict) > Severity(worst)) worst = status.verdict;
  }
  if (!all_done) return;
  run.status.done = true;
  run.status.verdict = worst;
  AppendUpdate(run, {.finished = Snapshot(run)});
}

void RunStore::AppendUpdate(Run& run, RunUpdate update) {
  update.seq = run.updates.size() + 1;
  run.updates.push_back(std::move(update));
}

RunStatus RunStore::Snapshot(const Run& run) const {
  RunStatus status = run.status;
  status.jobs.clear();
  for (const std::string& id : run.job_ids) {
    JobStatus job = jobs_.at(id).status;
    job.spec.files.clear();  // watchers need states, not the payload
    status.jobs.push_back(std::move(job));
  }
  return status;
}

absl::StatusOr<std::vector<RunUpdate>> RunStore::Updates(const std::string& run_id,
                                                         uint64_t after_seq, absl::Duration wait) {
  std::unique_lock lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("no run \"", run_id, "\""));
  const Run& run = it->second;
  changed_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                    [&] { return run.updates.size() > after_seq; });
  std::vector<RunUpdate> updates;
  for (size_t i = after_seq; i < run.updates.size(); ++i) updates.push_back(run.updates[i]);
  return updates;
}

absl::StatusOr<RunStatus> RunStore::GetRun(const std::string& run_id) const {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return absl::NotFoundError(absl::StrCat("no run \"", run_id, "\""));
  return Snapshot(it->second);
}

std::vector<RunStatus> RunStore::ListRuns(int limit) const {
  std::lock_guard lock(mutex_);
  std::vector<RunStatus> out;
  for (auto it = run_order_.rbegin(); it != run_order_.rend(); ++it) {
    if (limit > 0 && static_cast<int>(out.size()) >= limit) break;
    out.push_back(Snapshot(runs_.at(*it)));
  }
  return out;
}

}  // namespace mosdat

#include "coordinator/run_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/junit.h"
#include "core/sha256.h"
#include "report/trace_html.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr int kUpdatesPerRead = 1000;

std::string NewRunId() {
  std::random_device random;
  return absl::StrCat(absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::UTCTimeZone()), "-",
                      absl::StrFormat("%04x", random() & 0xffff));
}

// Screenshots go where events.jsonl says they are, acknowledged only once on disk.
absl::Status WriteDurably(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::DataLossError(absl::StrCat("cannot write ", path));
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            fdatasync(fd) == 0;
  close(fd);
  if (!ok) return absl::DataLossError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// One digest of everything a run's jobs are made from: its files (config, scenarios,
// references), variables and packages. Runs with the same digest tested the same
// thing, so differing verdicts among them mean a flaky test (report/dashboard_site.h).
std::string SubmissionDigest(const Submission& submission) {
  std::string all;
  auto add = [&all](const std::string& part) { absl::StrAppend(&all, part.size(), ":", part); };
  for (const auto& [path, contents] : submission.files) {
    add(path);
    add(Sha256Hex(contents));
  }
  for (const auto& [name, value] : submission.vars) {
    add(name);
    add(ToJinjaJson(value));
  }
  for (const ArtifactRef& package : submission.packages) add(package.sha256);
  return Sha256Hex(all);
}

// Worse verdicts win when a run combines its jobs.
int Severity(JobVerdict v) {
  switch (v) {
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

std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.0f s", absl::ToDoubleSeconds(d));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunStore>> RunStore::Open(RunStoreOptions options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("RunStore needs a store");
  std::unique_ptr<RunStore> runs(new RunStore(std::move(options)));
  if (absl::Status s = runs->Recover(); !s.ok()) return s;
  return runs;
}

RunStore::~RunStore() = default;

std::string RunStore::AttemptDir(const JobRecord& job, int attempt) const {
  if (attempt <= 1) return job.results_dir;
  return (fs::path(job.results_dir) / absl::StrCat("attempt-", attempt)).string();
}

absl::Status RunStore::Recover() {
  absl::StatusOr<std::vector<RunRecord>> unfinished = options_.store->UnfinishedRuns();
  if (!unfinished.ok()) return unfinished.status();
  const absl::Time now = absl::Now();
  for (RunRecord& run : *unfinished) {
    std::vector<JobSpec> specs;
    absl::Status expanded = absl::OkStatus();
    absl::StatusOr<Submission> submission = options_.store->GetSubmission(run.run_id);
    if (!options_.resume) {
      expanded =
          absl::CancelledError("the mosdat process that ran it stopped before the run finished");
    } else if (!submission.ok()) {
      expanded = submission.status();
    } else if (!submission->secrets.empty()) {
      expanded = absl::FailedPreconditionError(
          "its run credentials ([functional] test_user, test_password) are never written to "
          "disk, so it cannot resume after a restart; submit it again");
    } else if (!options_.expand) {
      expanded = absl::FailedPreconditionError("no matrix expansion configured");
    } else {
      absl::StatusOr<std::vector<JobSpec>> made = options_.expand(*submission);
      if (!made.ok()) {
        expanded = made.status();
      } else if (made->size() != run.jobs.size()) {
        expanded = absl::FailedPreconditionError(absl::StrCat(
            "the submission now expands to ", made->size(), " jobs, not ", run.jobs.size()));
      } else {
        specs = std::move(*made);
      }
    }
    ActiveRun active{.record = run};
    active.record.jobs.clear();
    for (JobRecord& record : run.jobs) {
      ActiveJob job;
      job.record = record;
      active.job_ids.push_back(record.job_id);
      if (!specs.empty()) {
        job.spec = std::move(specs[record.index - 1]);
        job.spec.files.clear();
        job.spec.run_id = run.run_id;
        job.spec.job_id = record.job_id;
        job.resources = ResourcesOf(job.spec);
      }
      job.renewed = now;  // its agent has one lease_timeout to come back
      job.queued_since = now;
      if (!record.Finished() && !record.attempts.empty() &&
          (record.state == JobState::kRunning || record.state == JobState::kPreparing)) {
        // events.jsonl holds exactly what was acknowledged: the agent re-sends the rest.
        AttemptRecord& attempt = *job.record.Current();
        absl::StatusOr<std::vector<Event>> events =
            options_.store->AttemptEvents(record.job_id, attempt.number);
        if (!events.ok()) return events.status();
        attempt.last_seq = events->empty() ? 0 : events->back().seq;
        const std::string dir = attempt.results_dir;
        std::error_code error;
        fs::create_directories(dir, error);
        const std::string path = (fs::path(dir) / "events.jsonl").string();
        fs::remove(path, error);
        absl::StatusOr<EventLog> log = EventLog::Open(path);
        if (!log.ok()) return log.status();
        for (const Event& event : *events) log->Append(event, false).IgnoreError();
        if (absl::Status s = log->Sync(); !s.ok()) return s;
        job.log.emplace(std::move(*log));
      }
      jobs_.emplace(record.job_id, std::move(job));
    }
    const std::string run_id = run.run_id;
    runs_.emplace(run_id, std::move(active));
    if (!expanded.ok()) {
      if (options_.resume) {
        spdlog::error("run {} cannot be resumed: {}", run_id, std::string(expanded.message()));
      }
      const std::vector<std::string> job_ids = runs_.at(run_id).job_ids;
      for (const std::string& job_id : job_ids) {
        auto found = jobs_.find(job_id);
        if (found == jobs_.end()) continue;
        ActiveJob& job = found->second;
        if (job.record.Finished()) continue;
        const std::string reason =
            options_.resume ? absl::StrCat("the coordinator restarted and cannot resume this job: ",
                                           expanded.message())
                            : std::string(expanded.message());
        if (job.record.state == JobState::kQueued) {
          job.record.state = JobState::kDone;
          job.record.verdict = JobVerdict::kError;
          job.record.reason = reason;
          if (absl::Status s =
                  options_.store->Write({.jobs = {job.record}, .updates = {JobUpdate(job.record)}});
              !s.ok()) {
            return s;
          }
        } else {
          std::lock_guard writes(*job.writes);
          Event finished = Event::Of(EventType::kJobFinished);
          finished.job_id = job_id;
          finished.verdict = JobVerdict::kError;
          finished.reason = reason;
          job.record.max_attempts = static_cast<int>(job.record.attempts.size());  // no retry
          if (absl::Status s = FinishAttempt(job_id, finished, true); !s.ok()) return s;
        }
      }
    }
    std::optional<RunRecord> completed;
    {
      std::lock_guard lock(mutex_);
      auto it = runs_.find(run_id);
      if (it != runs_.end()) completed = CompleteRunIfDone(it->second);
    }
    if (completed) {
      if (absl::Status s =
              WriteAndNotify({.runs = {*completed},
                              .updates = {{.run_id = run_id, .kind = StoredUpdate::Kind::kRun}}});
          !s.ok()) {
        return s;
      }
      Forget(run_id);
    }
  }
  if (!runs_.empty()) spdlog::info("resumed {} unfinished run(s)", runs_.size());
  return absl::OkStatus();
}

StoredUpdate RunStore::JobUpdate(const JobRecord& job) const {
  return {.run_id = job.run_id, .kind = StoredUpdate::Kind::kJob, .job_id = job.job_id, .job = job};
}

absl::Status RunStore::WriteAndNotify(StoreWrite write) {
  absl::Status s = options_.store->Write(std::move(write));
  changed_.notify_all();
  return s;
}

absl::StatusOr<RunRecord> RunStore::CreateRun(std::vector<JobSpec> specs, Submission submission,
                                              std::string label) {
  RunRecord run{.run_id = NewRunId(), .label = std::move(label), .created = absl::Now()};
  run.results_dir = (fs::path(options_.results_root) / "functional" / run.run_id).string();
  std::set<std::string> tests;
  for (const JobSpec& spec : specs) tests.insert(spec.test);
  const int max_attempts = 1 + std::max(0, submission.retries);
  const std::string digest = SubmissionDigest(submission);
  std::vector<ActiveJob> jobs;
  int index = 0;
  for (JobSpec& spec : specs) {
    spec.run_id = run.run_id;
    spec.job_id = absl::StrCat(run.run_id, "-", ++index);
    fs::path dir = fs::path(run.results_dir);
    if (tests.size() > 1) dir /= spec.test;
    dir /= spec.vm.name;
    if (spec.iteration > 0) dir /= IterationName(spec.iteration);
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("cannot create results directory ", dir.string(), ": ", error.message()));
    }
    // Who the job is, for pages that read results without the store (report/).
    nlohmann::json about = {{"run_id", run.run_id},
                            {"job_id", spec.job_id},
                            {"label", run.label},
                            {"test", spec.test},
                            {"vm", spec.vm.name},
                            {"variant", spec.variant},
                            {"pause_on_failure", spec.pause_on_failure},
                            {"record_fps", spec.record_fps},
                            {"created_unix_ms", absl::ToUnixMillis(run.created)},
                            {"inputs_sha256", digest}};
    if (absl::Status s = WriteFileAtomically((dir / "job.json").string(), about.dump(2) + "\n");
        !s.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot write job.json: ", s.message()));
    }
    ActiveJob job;
    job.record = JobRecord{.job_id = spec.job_id,
                           .run_id = run.run_id,
                           .index = index,
                           .test = spec.test,
                           .vm = spec.vm.name,
                           .variant = spec.variant,
                           .results_dir = dir.string(),
                           .max_attempts = max_attempts};
    job.resources = ResourcesOf(spec);
    spec.files.clear();  // kept once per run, in the store
    job.spec = std::move(spec);
    job.queued_since = run.created;
    run.jobs.push_back(job.record);
    jobs.push_back(std::move(job));
  }
  if (absl::Status s =
          options_.store->Write({.new_run = std::make_pair(run, std::move(submission))});
      !s.ok()) {
    return s;
  }
  {
    std::lock_guard lock(mutex_);
    ActiveRun active{.record = run};
    active.record.jobs.clear();
    for (ActiveJob& job : jobs) {
      active.job_ids.push_back(job.record.job_id);
      jobs_.emplace(job.record.job_id, std::move(job));
    }
    runs_.emplace(run.run_id, std::move(active));
  }
  changed_.notify_all();
  return run;
}

std::optional<RunStore::Lease> RunStore::LeaseJob(const AgentSlots& agent, absl::Duration wait,
                                                  bool (*needs_preparing)(const JobSpec&)) {
  const absl::Time deadline = absl::Now() + wait;
  std::unique_lock lock(mutex_);
  for (;;) {
    std::vector<QueuedJob> queued;
    std::vector<RunningJob> running;
    for (const auto& [id, job] : jobs_) {
      const JobRecord& r = job.record;
      if (r.state == JobState::kQueued && !job.spec.job_id.empty()) {
        queued.push_back({.job_id = id,
                          .run_id = r.run_id,
                          .run_created = runs_.at(r.run_id).record.created,
                          .index = r.index,
                          .resources = job.resources});
      } else if (r.state == JobState::kRunning || r.state == JobState::kPreparing) {
        running.push_back({.agent = r.agent, .run_id = r.run_id, .resources = job.resources});
      }
    }
    if (std::optional<size_t> pick = PickJob(queued, running, agent)) {
      ActiveJob& job = jobs_.at(queued[*pick].job_id);
      JobRecord& r = job.record;
      const bool preparing = needs_preparing != nullptr && needs_preparing(job.spec);
      r.state = preparing ? JobState::kPreparing : JobState::kRunning;
      r.agent = agent.id;
      r.lease_id = GenerateToken();
      AttemptRecord attempt{.number = static_cast<int>(r.attempts.size()) + 1,
                            .agent = agent.id,
                            .started = absl::Now()};
      attempt.results_dir = AttemptDir(r, attempt.number);
      r.attempts.push_back(attempt);
      job.renewed = absl::Now();
      job.log.reset();
      Lease lease{.spec = job.spec, .lease_id = r.lease_id, .attempt = attempt.number};
      const JobRecord snapshot = r;
      std::shared_ptr<std::mutex> writes = job.writes;
      lock.unlock();

      std::lock_guard write_lock(*writes);
      std::error_code error;
      fs::create_directories(attempt.results_dir, error);
      absl::StatusOr<EventLog> log =
          EventLog::Open((fs::path(attempt.results_dir) / "events.jsonl").string());
      absl::Status stored =
          log.ok() ? options_.store->Write({.jobs = {snapshot}, .updates = {JobUpdate(snapshot)}})
                   : log.status();
      changed_.notify_all();
      if (!stored.ok()) {
        spdlog::error("cannot lease job {}: {}", snapshot.job_id, std::string(stored.message()));
        lock.lock();
        // Back in the queue, as if never leased.
        ActiveJob& again = jobs_.at(snapshot.job_id);
        again.record.attempts.pop_back();
        again.record.state = JobState::kQueued;
        again.record.agent.clear();
        again.record.lease_id.clear();
        return std::nullopt;
      }
      lock.lock();
      jobs_.at(snapshot.job_id).log.emplace(std::move(*log));
      return lease;
    }
    if (changed_.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::timeout) {
      return std::nullopt;
    }
  }
}

void RunStore::Prepared(const std::string& job_id) {
  JobRecord snapshot;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end() || it->second.record.state != JobState::kPreparing) return;
    it->second.record.state = JobState::kRunning;
    it->second.renewed = absl::Now();
    snapshot = it->second.record;
  }
  WriteAndNotify({.jobs = {snapshot}, .updates = {JobUpdate(snapshot)}}).IgnoreError();
}

void RunStore::Poke() { changed_.notify_all(); }

absl::StatusOr<Submission> RunStore::LeasedSubmission(const std::string& job_id,
                                                      const std::string& agent) {
  std::string run_id;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end() || it->second.record.agent != agent ||
        it->second.record.state != JobState::kRunning) {
      return absl::NotFoundError(
          absl::StrCat("no running job \"", job_id, "\" is leased to agent \"", agent, "\""));
    }
    run_id = it->second.record.run_id;
  }
  return options_.store->GetSubmission(run_id);
}

std::shared_ptr<std::mutex> RunStore::JobWrites(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second.writes;
}

void RunStore::Forget(const std::string& run_id) {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end() || !it->second.record.done) return;
  for (const std::string& id : it->second.job_ids) jobs_.erase(id);
  runs_.erase(it);
}

absl::Status RunStore::RecordAfterTheFact(const Event& event) {
  // The job finished (its run may be gone from memory): an event it already stored,
  // re-sent because its ack was lost, is acknowledged again; anything else is refused.
  const size_t dash = event.job_id.rfind('-');
  if (dash != std::string::npos) {
    absl::StatusOr<RunRecord> run = options_.store->GetRun(event.job_id.substr(0, dash));
    if (run.ok()) {
      for (const JobRecord& job : run->jobs) {
        if (job.job_id != event.job_id) continue;
        absl::StatusOr<std::vector<Event>> events =
            options_.store->AttemptEvents(job.job_id, event.job_attempt);
        if (events.ok() && !events->empty() && event.seq <= events->back().seq) {
          return absl::OkStatus();
        }
      }
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "job ", event.job_id, " is not active (finished, cancelled or unknown); stop it"));
}

absl::Status RunStore::Record(const Event& event, const std::string& lease_id, bool* finished) {
  size_t recorded = 0;
  return RecordAll(std::span<const Event>(&event, 1), lease_id, &recorded, finished);
}

absl::Status RunStore::RecordAll(std::span<const Event> events, const std::string& lease_id,
                                 size_t* recorded, bool* finished) {
  *recorded = 0;
  if (finished != nullptr) *finished = false;
  if (events.empty()) return absl::OkStatus();
  const std::string& job_id = events.front().job_id;
  std::shared_ptr<std::mutex> writes = JobWrites(job_id);
  if (writes == nullptr) {
    for (const Event& event : events) {
      if (absl::Status s = RecordAfterTheFact(event); !s.ok()) return s;
      ++*recorded;
    }
    return absl::OkStatus();
  }
  std::lock_guard write_lock(*writes);  // one writer per job; jobs_ keeps an active job
  ActiveJob* job;
  AttemptRecord* attempt;
  uint64_t stored_seq;
  {
    std::lock_guard lock(mutex_);
    job = &jobs_.at(job_id);
    const JobRecord& r = job->record;
    if (r.lease_id.empty() || r.lease_id != lease_id || r.state != JobState::kRunning) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job ", job_id,
          " is not leased to the sender (the lease expired or the job moved on); stop it"));
    }
    attempt = job->record.Current();
    job->renewed = absl::Now();
    stored_seq = attempt->last_seq;
  }
  // The job's log, directory and attempt only change under its write lock, held here.
  StoreWrite write;
  uint64_t next_seq = stored_seq + 1;
  size_t accepted = 0;
  absl::Status refused = absl::OkStatus();
  std::optional<Event> job_finished;
  for (const Event& event : events) {
    if (event.job_id != job_id) {
      refused = absl::InvalidArgumentError(
          absl::StrCat("events of job ", event.job_id, " among job ", job_id, "'s"));
      break;
    }
    if (event.job_attempt != attempt->number) {
      refused = absl::FailedPreconditionError(absl::StrCat("job ", job_id, ": event of attempt ",
                                                           event.job_attempt, ", but attempt ",
                                                           attempt->number, " is running"));
      break;
    }
    if (event.seq < next_seq) {  // re-sent, stored already
      ++accepted;
      continue;
    }
    if (event.seq != next_seq) {
      refused = absl::InvalidArgumentError(absl::StrCat(
          "job ", job_id, ": event ", event.seq, " after ", next_seq - 1, " (out of order)"));
      break;
    }
    if (event.type == EventType::kScreenshot) {
      // A recording is the one file that is no PNG: a WebM, by its EBML header.
      const bool recording =
          event.screenshot == kRecordingFile && event.png.compare(0, 4, "\x1a\x45\xdf\xa3") == 0;
      if (!IsPlainPngName(event.screenshot) && !recording) {
        refused = absl::InvalidArgumentError(absl::StrCat("screenshot name \"", event.screenshot,
                                                          "\" is not a plain .png file name"));
        break;
      }
      if (absl::Status s =
              WriteDurably((fs::path(attempt->results_dir) / event.screenshot).string(), event.png);
          !s.ok()) {
        refused = s;
        break;
      }
    }
    Event stored = event;
    stored.png.clear();
    if (event.type == EventType::kJobFinished) {
      job_finished = std::move(stored);
      break;
    }
    if (job->log) job->log->Append(stored, false).IgnoreError();  // repaired from the store
    write.updates.push_back({.run_id = job->record.run_id,
                             .kind = StoredUpdate::Kind::kEvent,
                             .job_id = job_id,
                             .event = std::move(stored)});
    ++accepted;
    ++next_seq;
  }
  if (!write.updates.empty()) {
    if (absl::Status s = WriteAndNotify(std::move(write)); !s.ok()) return s;
    std::lock_guard lock(mutex_);
    attempt->last_seq = next_seq - 1;
  }
  *recorded = accepted;
  if (!job_finished) return refused;
  if (absl::Status s = FinishAttempt(job_id, *std::move(job_finished), false); !s.ok()) return s;
  ++*recorded;
  if (finished != nullptr) {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    *finished = it == jobs_.end() || it->second.record.Finished();
  }
  if (*recorded < events.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, ": events after its job_finished"));
  }
  return absl::OkStatus();
}

void RunStore::EndAttempt(const std::string& job_id, const std::string& lease_id,
                          const std::string& reason) {
  std::shared_ptr<std::mutex> writes = JobWrites(job_id);
  if (writes == nullptr) return;
  std::lock_guard write_lock(*writes);
  {
    std::lock_guard lock(mutex_);
    const JobRecord& r = jobs_.at(job_id).record;
    if (r.lease_id != lease_id ||
        (r.state != JobState::kRunning && r.state != JobState::kPreparing)) {
      return;  // that lease already ended
    }
  }
  Event finished = Event::Of(EventType::kJobFinished);
  finished.job_id = job_id;
  finished.verdict = JobVerdict::kError;
  finished.reason = reason;
  if (absl::Status s = FinishAttempt(job_id, finished, true); !s.ok()) {
    spdlog::error("job {}: cannot record the end of its attempt: {}", job_id,
                  std::string(s.message()));
  }
}

absl::Status RunStore::FinishAttempt(const std::string& job_id, Event finished, bool synthesized) {
  ActiveJob* job;
  JobRecord after;
  bool retry = false;
  {
    std::lock_guard lock(mutex_);
    job = &jobs_.at(job_id);
    after = job->record;
    AttemptRecord& attempt = *after.Current();
    finished.job_id = job_id;
    finished.job_attempt = attempt.number;
    if (synthesized) {
      finished.seq = attempt.last_seq + 1;
      finished.unix_ms = absl::ToUnixMillis(absl::Now());
      finished.duration_seconds = absl::ToDoubleSeconds(absl::Now() - attempt.started);
    }
    const ActiveRun& run = runs_.at(after.run_id);
    attempt.finished = true;
    attempt.verdict = finished.verdict;
    attempt.reason = finished.reason;
    attempt.ended = absl::Now();
    attempt.duration_seconds = finished.duration_seconds;
    attempt.last_seq = finished.seq;
    const bool cancelled = job->cancel_requested || run.record.cancelled;
    retry = finished.verdict == JobVerdict::kError && !cancelled &&
            static_cast<int>(after.attempts.size()) < after.max_attempts;
    after.agent.clear();
    after.lease_id.clear();
    if (retry) {
      after.state = JobState::kQueued;
    } else {
      after.state = cancelled ? JobState::kCancelled : JobState::kDone;
      after.verdict = finished.verdict;
      after.reason = finished.reason;
      if (cancelled && finished.verdict == JobVerdict::kPass) {
        // Finished before it saw the cancel: its pass stands.
        after.state = JobState::kDone;
      }
    }
  }
  if (job->log) {
    job->log->Append(finished, false).IgnoreError();
    job->log->Sync().IgnoreError();
  }
  // The attempt's trace viewer beside its evidence (report/trace_html.h); a page that
  // cannot be written costs the viewer, not the verdict.
  // Which agent ran it goes beside them too (attempt.json), for per-host rates.
  if (const AttemptRecord* attempt = after.Current(); attempt != nullptr) {
    const std::string dir = attempt->results_dir;
    if (absl::Status s = WriteTraceHtml(dir, (fs::path(dir) / "trace.html").string()); !s.ok()) {
      spdlog::warn("job {}: no trace.html: {}", job_id, std::string(s.message()));
    }
    const nlohmann::json about = {{"attempt", attempt->number},
                                  {"agent", attempt->agent},
                                  {"verdict", std::string(ToString(finished.verdict))},
                                  {"reason", finished.reason}};
    if (absl::Status s =
            WriteFileAtomically((fs::path(dir) / "attempt.json").string(), about.dump(2) + "\n");
        !s.ok()) {
      spdlog::warn("job {}: no attempt.json: {}", job_id, std::string(s.message()));
    }
  }
  StoreWrite write{.jobs = {after},
                   .updates = {{.run_id = after.run_id,
                                .kind = StoredUpdate::Kind::kEvent,
                                .job_id = job_id,
                                .event = finished},
                               JobUpdate(after)}};
  if (!retry) {
    // junit.xml before the store says "finished": a restart in between re-finishes it.
    std::vector<JunitJob> suites;
    for (const AttemptRecord& a : after.attempts) {
      absl::StatusOr<std::vector<Event>> events = options_.store->AttemptEvents(job_id, a.number);
      std::vector<Event> list = events.ok() ? *std::move(events) : std::vector<Event>();
      if (a.number == after.Current()->number) list.push_back(finished);
      std::string suite = absl::StrCat(after.test, " on ", after.vm);
      if (after.attempts.size() > 1) {
        absl::StrAppend(&suite, " (attempt ", a.number, " of ", after.attempts.size(), ")");
      }
      suites.push_back({.suite = suite,
                        .events = std::move(list),
                        .verdict = a.verdict,
                        .reason = a.reason,
                        .duration_seconds = a.duration_seconds});
    }
    std::ofstream(fs::path(after.results_dir) / "junit.xml") << JunitXml(suites);
  }
  if (absl::Status s = WriteAndNotify(std::move(write)); !s.ok()) return s;

  std::optional<RunRecord> completed;
  {
    std::lock_guard lock(mutex_);
    const bool cancel_requested = job->cancel_requested;
    job->record = after;
    job->log.reset();
    if (retry) {
      ++retries_;
      job->queued_since = absl::Now();
      spdlog::info("job {}: attempt {} ended in an infrastructure error ({}); retrying", job_id,
                   after.attempts.size(), finished.reason);
    }
    job->cancel_requested = cancel_requested;
    completed = CompleteRunIfDone(runs_.at(after.run_id));
  }
  changed_.notify_all();  // a slot, a VM or a GPU is free, or the job is queued again
  if (options_.on_attempt_end) options_.on_attempt_end(job_id);
  if (completed) {
    if (absl::Status s = WriteAndNotify(
            {.runs = {*completed},
             .updates = {{.run_id = completed->run_id, .kind = StoredUpdate::Kind::kRun}}});
        !s.ok()) {
      return s;
    }
    Forget(completed->run_id);  // done and stored: nothing of it stays in memory
  }
  return absl::OkStatus();
}

std::optional<RunRecord> RunStore::CompleteRunIfDone(ActiveRun& run) {
  if (run.record.done) return std::nullopt;
  JobVerdict worst = JobVerdict::kPass;
  for (const std::string& id : run.job_ids) {
    const JobRecord& r = jobs_.at(id).record;
    if (!r.Finished()) return std::nullopt;
    if (Severity(r.verdict) > Severity(worst)) worst = r.verdict;
  }
  run.record.done = true;
  run.record.verdict = worst;
  run.record.finished = absl::Now();
  return run.record;
}

RunStore::Renewal RunStore::Renew(const std::string& agent,
                                  const std::vector<std::string>& busy_jobs) {
  Renewal renewal;
  std::lock_guard lock(mutex_);
  const absl::Time now = absl::Now();
  for (const std::string& id : busy_jobs) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.record.agent != agent ||
        (it->second.record.state != JobState::kRunning &&
         it->second.record.state != JobState::kPreparing)) {
      renewal.lost.push_back(id);
      continue;
    }
    it->second.renewed = now;
    if (it->second.cancel_requested) renewal.cancel.push_back(id);
  }
  return renewal;
}

std::vector<std::string> RunStore::Reclaim(
    const std::string& agent, const std::vector<std::pair<std::string, std::string>>& held) {
  std::vector<std::string> lost;
  std::lock_guard lock(mutex_);
  for (const auto& [id, lease_id] : held) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.record.agent != agent ||
        it->second.record.lease_id != lease_id || it->second.record.Finished()) {
      lost.push_back(id);
      continue;
    }
    it->second.renewed = absl::Now();
  }
  return lost;
}

int RunStore::ExpireLeases(absl::Time now, const std::function<bool(const std::string&)>& can_run) {
  struct Expired {
    std::string job_id, lease_id, reason;
  };
  std::vector<Expired> expired;
  std::vector<std::string> unschedulable;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, job] : jobs_) {
      const JobRecord& r = job.record;
      if ((r.state == JobState::kRunning || r.state == JobState::kPreparing) &&
          now - job.renewed > options_.lease_timeout) {
        expired.push_back(
            {id, r.lease_id,
             absl::StrCat("lease lost: agent \"", r.agent, "\" sent no heartbeat or event for ",
                          Seconds(now - job.renewed),
                          " (killed, stopped, or cut off from the coordinator)")});
      } else if (r.state == JobState::kQueued &&
                 now - job.queued_since > options_.unschedulable_timeout && can_run &&
                 !can_run(r.vm)) {
        unschedulable.push_back(id);
      }
    }
    lease_expiries_ += static_cast<int>(expired.size());
  }
  for (const Expired& e : expired) {
    spdlog::warn("job {}: {}", e.job_id, e.reason);
    EndAttempt(e.job_id, e.lease_id, e.reason);
  }
  for (const std::string& id : unschedulable) {
    std::optional<RunRecord> completed;
    JobRecord snapshot;
    {
      std::lock_guard lock(mutex_);
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second.record.state != JobState::kQueued) continue;
      JobRecord& r = it->second.record;
      r.state = JobState::kDone;
      r.verdict = JobVerdict::kError;
      r.reason = absl::StrCat("no live agent drives VM \"", r.vm, "\" (waited ",
                              Seconds(now - it->second.queued_since),
                              "): start a mosdat-agent that owns it");
      snapshot = r;
      completed = CompleteRunIfDone(runs_.at(r.run_id));
    }
    StoreWrite write{.jobs = {snapshot}, .updates = {JobUpdate(snapshot)}};
    if (completed) {
      write.runs.push_back(*completed);
      write.updates.push_back({.run_id = completed->run_id, .kind = StoredUpdate::Kind::kRun});
    }
    WriteAndNotify(std::move(write)).IgnoreError();
    if (completed) Forget(completed->run_id);
  }
  return static_cast<int>(expired.size());
}

absl::StatusOr<RunStore::Cancelled> RunStore::Cancel(const std::string& run_id,
                                                     const std::string& reason) {
  Cancelled result;
  StoreWrite write;
  {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) {
      absl::StatusOr<RunRecord> stored = options_.store->GetRun(run_id);
      if (!stored.ok()) return stored.status();
      return result;  // finished already: nothing to stop
    }
    ActiveRun& run = it->second;
    run.record.cancelled = true;
    for (const std::string& id : run.job_ids) {
      ActiveJob& job = jobs_.at(id);
      JobRecord& r = job.record;
      if (r.state == JobState::kQueued) {
        r.state = JobState::kCancelled;
        r.verdict = JobVerdict::kError;
        r.reason = absl::StrCat("cancelled before it ran: ", reason);
        write.jobs.push_back(r);
        write.updates.push_back(JobUpdate(r));
        ++result.queued;
      } else if (!r.Finished()) {
        job.cancel_requested = true;
        job.cancel_reason = reason;
        ++result.stopping;
      }
    }
    RunRecord row = run.record;
    if (std::optional<RunRecord> completed = CompleteRunIfDone(run)) {
      row = *completed;
      write.updates.push_back({.run_id = run_id, .kind = StoredUpdate::Kind::kRun});
    }
    write.runs.push_back(row);
  }
  const bool done = !write.updates.empty() && write.updates.back().kind == StoredUpdate::Kind::kRun;
  if (absl::Status s = WriteAndNotify(std::move(write)); !s.ok()) return s;
  if (done) Forget(run_id);
  return result;
}

absl::StatusOr<std::vector<StoredUpdate>> RunStore::Updates(const std::string& run_id,
                                                            uint64_t after_seq,
                                                            absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    absl::StatusOr<std::vector<StoredUpdate>> updates =
        options_.store->UpdatesAfter(run_id, after_seq, kUpdatesPerRead);
    if (!updates.ok() || !updates->empty()) return updates;
    std::unique_lock lock(mutex_);
    if (!runs_.contains(run_id)) {
      // Not active: finished (its updates are all stored) or unknown.
      if (absl::StatusOr<RunRecord> run = options_.store->GetRun(run_id); !run.ok()) {
        return run.status();
      }
      lock.unlock();
      return options_.store->UpdatesAfter(run_id, after_seq, kUpdatesPerRead);
    }
    if (absl::Now() >= deadline) return std::vector<StoredUpdate>();
    changed_.wait_until(lock,
                        absl::ToChronoTime(std::min(deadline, absl::Now() + absl::Seconds(1))));
  }
}

absl::StatusOr<RunRecord> RunStore::GetRun(const std::string& run_id) {
  return options_.store->GetRun(run_id);
}

absl::StatusOr<std::vector<RunRecord>> RunStore::ListRuns(int limit) {
  return options_.store->ListRuns(limit);
}

absl::StatusOr<bool> RunStore::RunDone(const std::string& run_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(run_id);
    if (it != runs_.end()) return it->second.record.done;
  }
  absl::StatusOr<RunRecord> run = options_.store->GetRun(run_id);
  if (!run.ok()) return run.status();
  return run->done;
}

RunStoreCounts RunStore::Counts() const {
  RunStoreCounts counts;
  std::lock_guard lock(mutex_);
  counts.lease_expiries = lease_expiries_;
  counts.retries = retries_;
  for (const auto& [id, job] : jobs_) {
    switch (job.record.state) {
      case JobState::kQueued:
        ++counts.queued;
        break;
      case JobState::kPreparing:
        ++counts.preparing;
        break;
      case JobState::kRunning:
        ++counts.running;
        break;
      default:
        break;
    }
  }
  return counts;
}

std::map<std::string, int> RunStore::SlotsInUse() const {
  std::map<std::string, int> in_use;
  std::lock_guard lock(mutex_);
  for (const auto& [id, job] : jobs_) {
    if (job.record.state == JobState::kRunning || job.record.state == JobState::kPreparing) {
      ++in_use[job.record.agent];
    }
  }
  return in_use;
}

}  // namespace mosdat

#include "live/run_board.h"

#include <algorithm>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "live/http_json.h"
#include "report/html_parts.h"
#include "report/job_evidence.h"
#include "report/results_layout.h"

namespace mosdat {

std::string_view RunsPage();  // live/pages/runs.html, embedded by CMake

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kDefaultRuns = 20;
constexpr size_t kMaxRuns = 200;
constexpr size_t kMaxJobsPerRun = 2000;
constexpr size_t kLogLinesShown = 200;
constexpr size_t kMaxReasonChars = 2000;            // in a summary; the job's own page has it whole
constexpr uintmax_t kMaxEvidenceBytes = 64u << 20;  // one file served whole
constexpr absl::Duration kChangeInterval = absl::Seconds(1);

// Evidence a page may fetch, by extension, with its type.
constexpr std::pair<const char*, const char*> kEvidenceTypes[] = {
    {".png", "image/png"},
    {".html", "text/html; charset=utf-8"},
    {".jsonl", "text/plain; charset=utf-8"},
    {".json", "application/json"},
    {".xml", "application/xml"},
};

// Served pages of the results (trace.html) run no script and load only from here.
constexpr char kEvidencePolicy[] =
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

std::string StepTitle(const StepEvidence& step) {
  const std::string what = !step.label.empty() ? step.label : step.description;
  return absl::StrCat(StepNumber(step.index, step.substep), " ", step.kind,
                      what.empty() ? "" : absl::StrCat(": ", what));
}

std::string StepState(const StepEvidence& step) {
  return step.finished ? std::string(ToString(step.status)) : "running";
}

json StringField(const json& about, const char* key) {
  auto it = about.find(key);
  return it != about.end() && it->is_string() ? json(it->get<std::string>().substr(0, 200))
                                              : json(nullptr);
}

bool BoolField(const json& about, const char* key) {
  auto it = about.find(key);
  return it != about.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

RunBoard::RunBoard(fs::path results_root) : root_(std::move(results_root)) {}

std::string RunBoard::Relative(const fs::path& path) const {
  // Lexically: every path here is made from root_, and a results directory reached
  // through a symbolic link must keep its names.
  return path.lexically_relative(root_).generic_string();
}

json RunBoard::JobSummary(const fs::path& dir) {
  const std::vector<fs::path> attempts = AttemptDirs(dir);
  const fs::path& last = attempts.back();
  std::error_code error;
  const fs::path events = last / "events.jsonl";
  const uintmax_t size = fs::file_size(events, error);
  const fs::file_time_type time = error ? fs::file_time_type() : fs::last_write_time(events, error);
  // trace.html comes after the last event: a summary made before it is stale.
  const bool traced = fs::is_regular_file(last / "trace.html", error);
  const std::string key = last.string();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.size == size && it->second.time == time &&
        it->second.traced == traced) {
      return it->second.summary;
    }
  }
  const json about = ReadAboutFile(dir / "job.json");
  auto url = [this, &last](const std::string& name) -> json {
    if (name.empty()) return nullptr;
    return absl::StrCat("/results/", UrlPathEscape(Relative(last / name)));
  };
  json summary = {{"dir", Relative(dir)},
                  {"run_id", StringField(about, "run_id")},
                  {"job_id", StringField(about, "job_id")},
                  {"test", StringField(about, "test")},
                  {"vm", StringField(about, "vm")},
                  {"attempts", attempts.size()},
                  {"verdict", "queued"},
                  {"current_step", nullptr},
                  {"failed_step", nullptr},
                  {"frame", nullptr},
                  {"trace", nullptr},
                  {"held", nullptr},
                  {"pause_on_failure", BoolField(about, "pause_on_failure")}};
  absl::StatusOr<JobEvidence> job = ReadJobEvidence(last.string());
  if (job.ok()) {
    if (summary["test"].is_null()) summary["test"] = job->scenario;
    if (summary["vm"].is_null()) summary["vm"] = job->vm;
    summary["verdict"] = VerdictWord(*job);
    summary["reason"] = job->reason.substr(0, kMaxReasonChars);
    summary["steps"] = job->steps.size();
    summary["started_ms"] = job->started_ms;
    summary["finished_ms"] = job->finished_ms;
    if (!job->steps.empty() && !job->steps.back().finished && !job->finished) {
      summary["current_step"] = StepTitle(job->steps.back());
    }
    for (const StepEvidence& step : job->steps) {
      if (step.finished && step.status != StepStatus::kPassed && step.must_pass) {
        summary["failed_step"] = {{"title", StepTitle(step)},
                                  {"reason", step.reason.substr(0, kMaxReasonChars)},
                                  {"frame", url(step.after)}};
        break;
      }
    }
    if (!job->screenshots.empty()) summary["frame"] = url(job->screenshots.back().screenshot);
    if (job->paused) {
      summary["held"] = {{"step", job->paused->step_index},
                         {"reason", job->paused->reason.substr(0, kMaxReasonChars)},
                         {"since_ms", job->paused->since_ms}};
    }
  }
  if (traced) summary["trace"] = url("trace.html");
  std::lock_guard lock(mutex_);
  if (cache_.size() > 20000) cache_.clear();  // bounded; rebuilt from disk as asked
  cache_[key] = {size, time, traced, summary};
  return summary;
}

json RunBoard::Runs(size_t limit) {
  json runs = json::array();
  for (const fs::path& run : RunDirs(root_, std::min(limit, kMaxRuns))) {
    json jobs = json::array();
    for (const fs::path& dir : JobDirs(run, kMaxJobsPerRun)) jobs.push_back(JobSummary(dir));
    runs.push_back({{"run_id", run.filename().string()}, {"jobs", std::move(jobs)}});
  }
  return runs;
}

absl::StatusOr<fs::path> RunBoard::EvidenceFile(const std::string& relative) {
  const fs::path path(relative);
  bool plain = !relative.empty() && path.is_relative();
  for (const fs::path& part : path) plain = plain && part != ".." && part != ".";
  if (!plain || !absl::StartsWith(relative, "functional/")) {
    return absl::NotFoundError("no such evidence (a path inside the results' functional/)");
  }
  std::error_code error;
  const fs::path base = fs::canonical(root_ / "functional", error);
  const fs::path file = error ? fs::path() : fs::canonical(root_ / path, error);
  // Symbolic links that lead out of the results are as good as absent.
  if (error || !absl::StartsWith(file.string(), base.string() + "/") ||
      !fs::is_regular_file(file, error)) {
    return absl::NotFoundError(absl::StrCat("no such evidence: ", relative));
  }
  return file;
}

absl::StatusOr<json> RunBoard::Job(const std::string& relative_dir) {
  absl::StatusOr<fs::path> marker = EvidenceFile(relative_dir + "/events.jsonl");
  if (!marker.ok()) marker = EvidenceFile(relative_dir + "/job.json");
  if (!marker.ok()) return absl::NotFoundError(absl::StrCat("no job at ", relative_dir));
  const fs::path dir = root_ / relative_dir;
  json answer = JobSummary(dir);
  const fs::path last = AttemptDirs(dir).back();
  absl::StatusOr<JobEvidence> job = ReadJobEvidence(last.string());
  json steps = json::array();
  json log = json::array();
  if (job.ok()) {
    auto url = [this, &last](const std::string& name) -> json {
      if (name.empty()) return nullptr;
      return absl::StrCat("/results/", UrlPathEscape(Relative(last / name)));
    };
    for (const StepEvidence& step : job->steps) {
      steps.push_back({{"title", StepTitle(step)},
                       {"state", StepState(step)},
                       {"duration_s", step.duration_seconds},
                       {"reason", step.reason},
                       {"where", step.where},
                       {"cleanup", step.cleanup},
                       {"before", url(step.before)},
                       {"after", url(step.after)}});
    }
    const size_t from = job->logs.size() > kLogLinesShown ? job->logs.size() - kLogLinesShown : 0;
    for (size_t i = from; i < job->logs.size(); ++i) {
      log.push_back({{"level", job->logs[i].level}, {"text", job->logs[i].text}});
    }
  }
  answer["step_list"] = std::move(steps);
  answer["log"] = std::move(log);
  return answer;
}

std::string RunBoard::Signature(size_t limit) {
  std::string all;
  std::error_code error;
  for (const fs::path& run : RunDirs(root_, std::min(limit, kMaxRuns))) {
    absl::StrAppend(&all, run.filename().string(), ";");
    for (const fs::path& dir : JobDirs(run, kMaxJobsPerRun)) {
      for (const fs::path& attempt : AttemptDirs(dir)) {
        const uintmax_t size = fs::file_size(attempt / "events.jsonl", error);
        const uintmax_t events = error ? 0 : size;
        const bool traced = fs::is_regular_file(attempt / "trace.html", error);
        absl::StrAppend(&all, attempt.filename().string(), ":", events, traced ? "t," : ",");
      }
    }
  }
  return absl::StrFormat("%016x", std::hash<std::string>()(all));
}

void AddRunBoard(httplib::Server& server, HttpAuth& auth, SseStreams& streams, RunBoard& board) {
  auto limit_of = [](const httplib::Request& request) {
    size_t limit = kDefaultRuns;
    if (request.has_param("limit")) {
      limit = std::clamp<size_t>(
          std::strtoul(request.get_param_value("limit").c_str(), nullptr, 10), 1, kMaxRuns);
    }
    return limit;
  };
  server.Get("/runs", [](const httplib::Request&, httplib::Response& response) {
    ServePage(RunsPage(), response);
  });
  server.Get("/api/runs", GuardedHandler(auth, [&board, limit_of](const std::string&,
                                                                  const httplib::Request& request,
                                                                  httplib::Response& response) {
               Answer(response, 200, {{"ok", true}, {"runs", board.Runs(limit_of(request))}});
             }));
  server.Get("/api/runs/job",
             GuardedHandler(auth, [&board](const std::string&, const httplib::Request& request,
                                           httplib::Response& response) {
               if (!request.has_param("dir"))
                 return Fail(response, 400, "?dir=JOB_DIR is required");
               absl::StatusOr<json> job = board.Job(request.get_param_value("dir"));
               if (!job.ok()) return Fail(response, job.status());
               json answer = *job;
               answer["ok"] = true;
               Answer(response, 200, answer);
             }));
  server.Get("/api/runs/stream",
             GuardedHandler(auth, [&board, &streams, limit_of](const std::string&,
                                                               const httplib::Request& request,
                                                               httplib::Response& response) {
               const size_t limit = limit_of(request);
               auto last = std::make_shared<std::string>();
               streams.Serve(response, kChangeInterval,
                             [&board, limit, last](bool) -> std::optional<std::string> {
                               std::string now = board.Signature(limit);
                               if (now == *last) return std::string();
                               *last = now;
                               return SseEvent("changed", {{"signature", now}});
                             });
             }));
  server.Get(R"(/results/(.+))",
             GuardedHandler(auth, [&board](const std::string&, const httplib::Request& request,
                                           httplib::Response& response) {
               absl::StatusOr<fs::path> file = board.EvidenceFile(request.matches[1]);
               const char* type = nullptr;
               if (file.ok()) {
                 for (const auto& [extension, content_type] : kEvidenceTypes) {
                   if (file->extension() == extension) type = content_type;
                 }
               }
               if (type == nullptr) return Fail(response, 404, "no such evidence");
               std::error_code error;
               if (fs::file_size(*file, error) > kMaxEvidenceBytes || error) {
                 return Fail(response, 413, "that file is too big to serve");
               }
               absl::StatusOr<std::string> bytes = ReadFile(file->string());
               if (!bytes.ok()) return Fail(response, 404, std::string(bytes.status().message()));
               response.set_header("Content-Security-Policy", kEvidencePolicy);
               response.set_header("X-Content-Type-Options", "nosniff");
               response.set_content(std::move(*bytes), type);
             }));
}

}  // namespace mosdat

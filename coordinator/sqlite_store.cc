#include "coordinator/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/proto_convert.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kSchemaVersion = 1;
// The columns RunFrom() reads, for queries that add their own conditions.
#define MOSDAT_SELECT_RUN \
  "SELECT run_id, label, results_dir, created_ms, finished_ms, done, cancelled, verdict FROM runs"
constexpr int kMaxWritesPerCommit = 512;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  run_id TEXT PRIMARY KEY, label TEXT NOT NULL, results_dir TEXT NOT NULL,
  created_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL, done INTEGER NOT NULL,
  cancelled INTEGER NOT NULL, verdict TEXT NOT NULL, submission TEXT);
CREATE TABLE IF NOT EXISTS run_files(
  run_id TEXT NOT NULL, path TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY(run_id, path));
CREATE TABLE IF NOT EXISTS jobs(
  job_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, idx INTEGER NOT NULL, test TEXT NOT NULL,
  vm TEXT NOT NULL, variant TEXT NOT NULL, results_dir TEXT NOT NULL, state TEXT NOT NULL,
  verdict TEXT NOT NULL, reason TEXT NOT NULL, max_attempts INTEGER NOT NULL,
  agent TEXT NOT NULL, lease_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_run ON jobs(run_id, idx);
CREATE TABLE IF NOT EXISTS attempts(
  job_id TEXT NOT NULL, number INTEGER NOT NULL, agent TEXT NOT NULL, finished INTEGER NOT NULL,
  verdict TEXT NOT NULL, reason TEXT NOT NULL, started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL, duration REAL NOT NULL, results_dir TEXT NOT NULL,
  last_seq INTEGER NOT NULL, PRIMARY KEY(job_id, number));
CREATE TABLE IF NOT EXISTS updates(
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL, event_seq INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY(run_id, seq));
CREATE UNIQUE INDEX IF NOT EXISTS events_by_attempt ON updates(job_id, attempt, event_seq)
  WHERE kind = 'event';
CREATE TABLE IF NOT EXISTS agents(
  agent_id TEXT PRIMARY KEY, address TEXT NOT NULL, vms TEXT NOT NULL,
  capacity INTEGER NOT NULL, version TEXT NOT NULL, last_seen_ms INTEGER NOT NULL);
)sql";

JobVerdict VerdictFrom(std::string_view text) {
  for (JobVerdict v : {JobVerdict::kPass, JobVerdict::kFail, JobVerdict::kUnknown,
                       JobVerdict::kError, JobVerdict::kConfigError}) {
    if (ToString(v) == text) return v;
  }
  return JobVerdict::kUnknown;
}

std::string_view KindName(StoredUpdate::Kind kind) {
  switch (kind) {
    case StoredUpdate::Kind::kEvent:
      return "event";
    case StoredUpdate::Kind::kJob:
      return "job";
    case StoredUpdate::Kind::kRun:
      return "run";
  }
  return "event";
}

// A prepared statement; Bind* take 1-based indexes, like SQLite.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db), owned_(true) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  // A statement prepared once and kept by its owner: reset, not finalized, when done.
  Statement(sqlite3* db, sqlite3_stmt* kept) : db_(db), stmt_(kept), owned_(false) {}
  ~Statement() {
    if (owned_) {
      sqlite3_finalize(stmt_);
    } else if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Statement& Bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, std::string_view data) {
    sqlite3_bind_blob(stmt_, i, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  Statement& Bind(int i, double value) {
    sqlite3_bind_double(stmt_, i, value);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return stmt_ == nullptr ? SQLITE_ERROR : sqlite3_step(stmt_); }
  absl::Status Run() {
    int rc = Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
    return Error();
  }
  absl::Status Error() const {
    return absl::UnavailableError(absl::StrCat("state database: ", sqlite3_errmsg(db_)));
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? ""
                           : std::string(reinterpret_cast<const char*>(text),
                                         sqlite3_column_bytes(stmt_, column));
  }
  std::string Blob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    return data == nullptr
               ? ""
               : std::string(static_cast<const char*>(data), sqlite3_column_bytes(stmt_, column));
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Real(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool owned_;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK) return absl::OkStatus();
  std::string message = error == nullptr ? sqlite3_errmsg(db) : error;
  sqlite3_free(error);
  return absl::UnavailableError(absl::StrCat("state database: ", message));
}

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMs(int64_t ms) { return absl::FromUnixMillis(ms); }

// A job update's body: its state at that point, for watchers.
std::string JobJson(const JobRecord& job) {
  json attempts = json::array();
  for (const AttemptRecord& a : job.attempts) {
    attempts.push_back({{"n", a.number},
                        {"agent", a.agent},
                        {"finished", a.finished},
                        {"verdict", std::string(ToString(a.verdict))},
                        {"reason", a.reason},
                        {"started", Ms(a.started)},
                        {"ended", Ms(a.ended)},
                        {"duration", a.duration_seconds},
                        {"dir", a.results_dir}});
  }
  return json{{"state", std::string(ToString(job.state))},
              {"verdict", std::string(ToString(job.verdict))},
              {"reason", job.reason},
              {"agent", job.agent},
              {"test", job.test},
              {"vm", job.vm},
              {"variant", job.variant},
              {"index", job.index},
              {"dir", job.results_dir},
              {"max_attempts", job.max_attempts},
              {"attempts", attempts}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<JobRecord> JobFromJson(const std::string& job_id, const std::string& run_id,
                                      const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::DataLossError("a job update is not JSON");
  JobRecord job{.job_id = job_id, .run_id = run_id};
  try {
    JobStateFromString(j.at("state").get<std::string>(), &job.state);
    job.verdict = VerdictFrom(j.at("verdict").get<std::string>());
    job.reason = j.at("reason").get<std::string>();
    job.agent = j.at("agent").get<std::string>();
    job.test = j.at("test").get<std::string>();
    job.vm = j.at("vm").get<std::string>();
    job.variant = j.at("variant").get<std::string>();
    job.index = j.at("index").get<int>();
    job.results_dir = j.at("dir").get<std::string>();
    job.max_attempts = j.at("max_attempts").get<int>();
    for (const json& a : j.at("attempts")) {
      job.attempts.push_back({.number = a.at("n").get<int>(),
                              .agent = a.at("agent").get<std::string>(),
                              .finished = a.at("finished").get<bool>(),
                              .verdict = VerdictFrom(a.at("verdict").get<std::string>()),
                              .reason = a.at("reason").get<std::string>(),
                              .started = FromMs(a.at("started").get<int64_t>()),
                              .ended = FromMs(a.at("ended").get<int64_t>()),
                              .duration_seconds = a.at("duration").get<double>(),
                              .results_dir = a.at("dir").get<std::string>()});
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("a job update is damaged: ", e.what()));
  }
  return job;
}

std::string SubmissionJson(const Submission& s) {
  json vars = json::object();
  for (const auto& [name, value] : s.vars) vars[name] = ValueToJson(value);
  // Run credentials never reach the disk: only their names, so a restart knows the run
  // had some (and that it cannot resume it).
  std::map<std::string, std::string> secret_names;
  for (const auto& [name, value] : s.secrets) secret_names[name] = "";
  json packages = json::array();
  for (const ArtifactRef& p : s.packages) {
    packages.push_back({{"name", p.name}, {"sha256", p.sha256}, {"size", p.size}});
  }
  return json{{"config_path", s.config_path},
              {"tests", s.tests},
              {"vms", s.vms},
              {"vars", vars},
              {"secrets", secret_names},
              {"retries", s.retries},
              {"packages", packages},
              {"install_jobs", static_cast<int>(s.install_jobs)},
              {"pause_on_failure", s.pause_on_failure},
              {"iterations", s.iterations},
              {"record_fps", s.record_fps},
              {"scenario_tests", s.scenario_tests}}
      .dump();
}

absl::StatusOr<Submission> SubmissionFrom(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("the stored submission is not JSON");
  }
  Submission s;
  try {
    s.config_path = j.at("config_path").get<std::string>();
    s.tests = j.at("tests").get<std::vector<std::string>>();
    s.vms = j.at("vms").get<std::vector<std::string>>();
    s.secrets = j.at("secrets").get<std::map<std::string, std::string>>();
    s.retries = j.value("retries", 1);
    s.pause_on_failure = j.value("pause_on_failure", false);
    s.iterations = j.value("iterations", 1);
    s.record_fps = j.value("record_fps", 0);
    s.scenario_tests =
        j.value("scenario_tests", json::object()).get<std::map<std::string, std::string>>();
    const int install_jobs = j.value("install_jobs", 0);
    if (install_jobs < 0 || install_jobs > 2) {
      return absl::DataLossError(
          absl::StrCat("the stored submission has install_jobs ", install_jobs));
    }
    s.install_jobs = static_cast<InstallJobs>(install_jobs);
    for (const json& p : j.value("packages", json::array())) {
      s.packages.push_back({.name = p.at("name").get<std::string>(),
                            .sha256 = p.at("sha256").get<std::string>(),
                            .size = p.at("size").get<uint64_t>()});
    }
    for (const auto& [name, value] : j.at("vars").items()) {
      absl::StatusOr<Value> parsed = ValueFromJson(value.get<std::string>());
      if (!parsed.ok()) return parsed.status();
      s.vars[name] = *parsed;
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("the stored submission is damaged: ", e.what()));
  }
  return s;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(SqliteStoreOptions options) : options_(std::move(options)) {}

  ~SqliteStore() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_changed_.notify_all();
    if (writer_.joinable()) writer_.join();
    for (auto& [sql, stmt] : kept_) sqlite3_finalize(stmt);
    if (write_db_ != nullptr) sqlite3_close(write_db_);
    if (read_db_ != nullptr) sqlite3_close(read_db_);
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  absl::Status Open() {
    const std::string path = SqliteStorePath(options_.dir);
    if (options_.read_only) {
      if (!fs::exists(path)) {
        return absl::NotFoundError(absl::StrCat("no run history in ", options_.dir,
                                                " (no coordinator has used it as --state-dir)"));
      }
    } else {
      std::error_code error;
      fs::create_directories(options_.dir, error);
      if (error) {
        return absl::UnavailableError(
            absl::StrCat("cannot create state directory ", options_.dir, ": ", error.message()));
      }
      chmod(options_.dir.c_str(), 0700);  // it holds the runs' credentials
      const std::string lock_path = (fs::path(options_.dir) / "LOCK").string();
      lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (lock_fd_ < 0) return absl::UnavailableError(absl::StrCat("cannot open ", lock_path));
      if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("state directory ", options_.dir,
                         " is in use by another coordinator (it holds ", lock_path, ")"));
      }
      if (absl::Status s = OpenDb(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &write_db_);
          !s.ok()) {
        return s;
      }
      for (const char* pragma :
           {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=OFF"}) {
        if (absl::Status s = Exec(write_db_, pragma); !s.ok()) return s;
      }
      if (absl::Status s = Exec(write_db_, kSchema); !s.ok()) return s;
      Statement version(write_db_,
                        "INSERT INTO meta(key, value) VALUES('schema', ?1) "
                        "ON CONFLICT(key) DO NOTHING");
      if (absl::Status s = version.Bind(1, absl::StrCat(kSchemaVersion)).Run(); !s.ok()) return s;
      chmod(path.c_str(), 0600);
    }
    if (absl::Status s = OpenDb(
            path, options_.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, &read_db_);
        !s.ok()) {
      return s;
    }
    Statement schema(read_db_, "SELECT value FROM meta WHERE key = 'schema'");
    if (!schema.ok() || schema.Step() != SQLITE_ROW) {
      return absl::UnavailableError(absl::StrCat(path, " is not a mOSdat state database"));
    }
    if (schema.Text(0) != absl::StrCat(kSchemaVersion)) {
      return absl::UnavailableError(absl::StrCat(path, " has schema version ", schema.Text(0),
                                                 "; this coordinator reads version ",
                                                 kSchemaVersion));
    }
    if (!options_.read_only) writer_ = std::thread([this] { WriterLoop(); });
    return absl::OkStatus();
  }

  absl::Status Write(StoreWrite write) override {
    if (options_.read_only) return absl::FailedPreconditionError("the store is read-only");
    Pending pending{.write = std::move(write)};
    std::future<absl::Status> done = pending.done.get_future();
    {
      std::lock_guard lock(queue_mutex_);
      if (stopping_) return absl::UnavailableError("the store is closing");
      queue_.push_back(std::move(pending));
    }
    queue_changed_.notify_one();
    return done.get();
  }

  absl::StatusOr<RunRecord> GetRun(const std::string& run_id) override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_, MOSDAT_SELECT_RUN " WHERE run_id = ?1");
    q.Bind(1, run_id);
    int rc = q.Step();
    if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("no run \"", run_id, "\""));
    if (rc != SQLITE_ROW) return q.Error();
    RunRecord run = RunFrom(q);
    if (absl::Status s = LoadJobs(&run); !s.ok()) return s;
    return run;
  }

  absl::StatusOr<std::vector<RunRecord>> ListRuns(int limit) override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_, MOSDAT_SELECT_RUN " ORDER BY created_ms DESC, run_id DESC LIMIT ?1");
    q.Bind(1, static_cast<int64_t>(limit > 0 ? limit : 100));
    return Runs(q);
  }

  absl::StatusOr<std::vector<RunRecord>> UnfinishedRuns() override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_, MOSDAT_SELECT_RUN " WHERE done = 0 ORDER BY created_ms, run_id");
    return Runs(q);
  }

  absl::StatusOr<Submission> GetSubmission(const std::string& run_id) override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_, "SELECT submission FROM runs WHERE run_id = ?1");
    q.Bind(1, run_id);
    if (q.Step() != SQLITE_ROW) return absl::NotFoundError(absl::StrCat("no run \"", run_id, "\""));
    absl::StatusOr<Submission> submission = SubmissionFrom(q.Text(0));
    if (!submission.ok()) return submission.status();
    Statement files(read_db_, "SELECT path, data FROM run_files WHERE run_id = ?1");
    files.Bind(1, run_id);
    int rc;
    while ((rc = files.Step()) == SQLITE_ROW) submission->files[files.Text(0)] = files.Blob(1);
    if (rc != SQLITE_DONE) return files.Error();
    return submission;
  }

  absl::StatusOr<std::vector<StoredUpdate>> UpdatesAfter(const std::string& run_id, uint64_t after,
                                                         int limit) override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_,
                "SELECT seq, kind, job_id, body FROM updates WHERE run_id = ?1 AND seq > ?2 "
                "ORDER BY seq LIMIT ?3");
    q.Bind(1, run_id).Bind(2, static_cast<int64_t>(after)).Bind(3, static_cast<int64_t>(limit));
    std::vector<StoredUpdate> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      StoredUpdate update{.run_id = run_id, .seq = static_cast<uint64_t>(q.Int(0))};
      const std::string kind = q.Text(1);
      update.job_id = q.Text(2);
      if (kind == "event") {
        absl::StatusOr<Event> event = FromJsonLine(q.Text(3));
        if (!event.ok()) {
          return absl::DataLossError(
              absl::StrCat("run ", run_id, " update ", update.seq,
                           ": stored event unreadable: ", event.status().message()));
        }
        update.event = std::move(*event);
      } else if (kind == "job") {
        update.kind = StoredUpdate::Kind::kJob;
        absl::StatusOr<JobRecord> job = JobFromJson(update.job_id, run_id, q.Text(3));
        if (!job.ok()) return job.status();
        update.job = std::move(*job);
      } else {
        update.kind = StoredUpdate::Kind::kRun;
      }
      out.push_back(std::move(update));
    }
    if (rc != SQLITE_DONE) return q.Error();
    return out;
  }

  absl::StatusOr<std::vector<Event>> AttemptEvents(const std::string& job_id,
                                                   int attempt) override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_,
                "SELECT body FROM updates WHERE job_id = ?1 AND attempt = ?2 AND kind = 'event' "
                "ORDER BY event_seq");
    q.Bind(1, job_id).Bind(2, static_cast<int64_t>(attempt));
    std::vector<Event> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      absl::StatusOr<Event> event = FromJsonLine(q.Text(0));
      if (!event.ok()) return absl::DataLossError("a stored event is unreadable");
      out.push_back(std::move(*event));
    }
    if (rc != SQLITE_DONE) return q.Error();
    return out;
  }

  absl::StatusOr<std::vector<StoredAgent>> Agents() override {
    std::lock_guard lock(read_mutex_);
    Statement q(read_db_,
                "SELECT agent_id, address, vms, capacity, version, last_seen_ms FROM agents "
                "ORDER BY agent_id");
    std::vector<StoredAgent> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      StoredAgent agent{.id = q.Text(0),
                        .address = q.Text(1),
                        .capacity = static_cast<int>(q.Int(3)),
                        .version = q.Text(4),
                        .last_seen = FromMs(q.Int(5))};
      json vms = json::parse(q.Text(2), nullptr, false);
      if (vms.is_array()) {
        for (const json& vm : vms) {
          if (vm.is_string()) agent.vms.push_back(vm.get<std::string>());
        }
      }
      out.push_back(std::move(agent));
    }
    if (rc != SQLITE_DONE) return q.Error();
    return out;
  }

 private:
  struct Pending {
    StoreWrite write;
    std::promise<absl::Status> done;
  };

  absl::Status OpenDb(const std::string& path, int flags, sqlite3** db) {
    if (sqlite3_open_v2(path.c_str(), db, flags | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
      std::string message = *db == nullptr ? "out of memory" : sqlite3_errmsg(*db);
      return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", message));
    }
    sqlite3_busy_timeout(*db, 5000);
    return absl::OkStatus();
  }

  static RunRecord RunFrom(const Statement& q) {
    return RunRecord{.run_id = q.Text(0),
                     .label = q.Text(1),
                     .results_dir = q.Text(2),
                     .created = FromMs(q.Int(3)),
                     .finished = FromMs(q.Int(4)),
                     .done = q.Int(5) != 0,
                     .cancelled = q.Int(6) != 0,
                     .verdict = VerdictFrom(q.Text(7))};
  }

  absl::StatusOr<std::vector<RunRecord>> Runs(Statement& q) {  // read_mutex_ held
    std::vector<RunRecord> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(RunFrom(q));
    if (rc != SQLITE_DONE) return q.Error();
    for (RunRecord& run : out) {
      if (absl::Status s = LoadJobs(&run); !s.ok()) return s;
    }
    return out;
  }

  absl::Status LoadJobs(RunRecord* run) {  // read_mutex_ held
    Statement q(read_db_,
                "SELECT job_id, idx, test, vm, variant, results_dir, state, verdict, reason, "
                "max_attempts, agent, lease_id FROM jobs WHERE run_id = ?1 ORDER BY idx");
    q.Bind(1, run->run_id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      JobRecord job{.job_id = q.Text(0),
                    .run_id = run->run_id,
                    .index = static_cast<int>(q.Int(1)),
                    .test = q.Text(2),
                    .vm = q.Text(3),
                    .variant = q.Text(4),
                    .results_dir = q.Text(5),
                    .verdict = VerdictFrom(q.Text(7)),
                    .reason = q.Text(8),
                    .max_attempts = static_cast<int>(q.Int(9)),
                    .agent = q.Text(10),
                    .lease_id = q.Text(11)};
      JobStateFromString(q.Text(6), &job.state);
      run->jobs.push_back(std::move(job));
    }
    if (rc != SQLITE_DONE) return q.Error();
    for (JobRecord& job : run->jobs) {
      Statement a(read_db_,
                  "SELECT number, agent, finished, verdict, reason, started_ms, ended_ms, "
                  "duration, results_dir, last_seq FROM attempts WHERE job_id = ?1 "
                  "ORDER BY number");
      a.Bind(1, job.job_id);
      while ((rc = a.Step()) == SQLITE_ROW) {
        job.attempts.push_back(AttemptRecord{.number = static_cast<int>(a.Int(0)),
                                             .agent = a.Text(1),
                                             .finished = a.Int(2) != 0,
                                             .verdict = VerdictFrom(a.Text(3)),
                                             .reason = a.Text(4),
                                             .started = FromMs(a.Int(5)),
                                             .ended = FromMs(a.Int(6)),
                                             .duration_seconds = a.Real(7),
                                             .results_dir = a.Text(8),
                                             .last_seq = static_cast<uint64_t>(a.Int(9))});
      }
      if (rc != SQLITE_DONE) return a.Error();
    }
    return absl::OkStatus();
  }

  void WriterLoop() {
    for (;;) {
      std::vector<Pending> batch;
      {
        std::unique_lock lock(queue_mutex_);
        queue_changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        while (!queue_.empty() && batch.size() < kMaxWritesPerCommit) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      Commit(batch);
    }
  }

  void Commit(std::vector<Pending>& batch) {
    const absl::Time start = absl::Now();
    std::vector<absl::Status> results(batch.size());
    absl::Status begun = RunKept("BEGIN IMMEDIATE");
    if (begun.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        RunKept("SAVEPOINT w").IgnoreError();
        std::map<std::string, uint64_t> seqs_before = run_seqs_;
        results[i] = Apply(batch[i].write);
        if (results[i].ok()) {
          RunKept("RELEASE w").IgnoreError();
        } else {
          RunKept("ROLLBACK TO w").IgnoreError();
          RunKept("RELEASE w").IgnoreError();
          run_seqs_ = std::move(seqs_before);
        }
      }
      absl::Status committed = RunKept("COMMIT");
      if (!committed.ok()) {
        RunKept("ROLLBACK").IgnoreError();
        run_seqs_.clear();  // reloaded from the database on next use
        for (absl::Status& s : results) s = committed;
      }
    } else {
      for (absl::Status& s : results) s = begun;
    }
    if (options_.on_commit) options_.on_commit(absl::Now() - start, static_cast<int>(batch.size()));
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done.set_value(results[i]);
  }

  absl::StatusOr<uint64_t> NextSeq(const std::string& run_id) {
    auto it = run_seqs_.find(run_id);
    if (it == run_seqs_.end()) {
      Statement q(write_db_, Kept("SELECT COALESCE(MAX(seq), 0) FROM updates WHERE run_id = ?1"));
      q.Bind(1, run_id);
      if (q.Step() != SQLITE_ROW) return q.Error();
      it = run_seqs_.emplace(run_id, static_cast<uint64_t>(q.Int(0))).first;
    }
    return ++it->second;
  }

  absl::Status PutRun(const RunRecord& run, const Submission* submission) {
    Statement q(
        write_db_,
        Kept(submission != nullptr
                 ? "INSERT INTO runs(run_id, label, results_dir, created_ms, finished_ms, "
                   "done, cancelled, verdict, submission) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"
                 : "UPDATE runs SET label=?2, results_dir=?3, created_ms=?4, finished_ms=?5, "
                   "done=?6, cancelled=?7, verdict=?8 WHERE run_id=?1"));
    q.Bind(1, run.run_id)
        .Bind(2, run.label)
        .Bind(3, run.results_dir)
        .Bind(4, Ms(run.created))
        .Bind(5, Ms(run.finished))
        .Bind(6, static_cast<int64_t>(run.done))
        .Bind(7, static_cast<int64_t>(run.cancelled))
        .Bind(8, ToString(run.verdict));
    if (submission != nullptr) q.Bind(9, SubmissionJson(*submission));
    return q.Run();
  }

  absl::Status PutJob(const JobRecord& job) {
    Statement q(write_db_,
                Kept("INSERT INTO jobs(job_id, run_id, idx, test, vm, variant, results_dir, state, "
                     "verdict, reason, max_attempts, agent, lease_id) "
                     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13) ON CONFLICT(job_id) DO "
                     "UPDATE SET state=?8, verdict=?9, reason=?10, max_attempts=?11, agent=?12, "
                     "lease_id=?13"));
    q.Bind(1, job.job_id)
        .Bind(2, job.run_id)
        .Bind(3, static_cast<int64_t>(job.index))
        .Bind(4, job.test)
        .Bind(5, job.vm)
        .Bind(6, job.variant)
        .Bind(7, job.results_dir)
        .Bind(8, ToString(job.state))
        .Bind(9, ToString(job.verdict))
        .Bind(10, job.reason)
        .Bind(11, static_cast<int64_t>(job.max_attempts))
        .Bind(12, job.agent)
        .Bind(13, job.lease_id);
    if (absl::Status s = q.Run(); !s.ok()) return s;
    for (const AttemptRecord& a : job.attempts) {
      Statement put(
          write_db_,
          Kept("INSERT OR REPLACE INTO attempts(job_id, number, agent, finished, verdict, "
               "reason, started_ms, ended_ms, duration, results_dir, last_seq) "
               "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"));
      put.Bind(1, job.job_id)
          .Bind(2, static_cast<int64_t>(a.number))
          .Bind(3, a.agent)
          .Bind(4, static_cast<int64_t>(a.finished))
          .Bind(5, ToString(a.verdict))
          .Bind(6, a.reason)
          .Bind(7, Ms(a.started))
          .Bind(8, Ms(a.ended))
          .Bind(9, a.duration_seconds)
          .Bind(10, a.results_dir)
          .Bind(11, static_cast<int64_t>(a.last_seq));
      if (absl::Status s = put.Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Apply(StoreWrite& write) {
    if (write.new_run) {
      const auto& [run, submission] = *write.new_run;
      if (absl::Status s = PutRun(run, &submission); !s.ok()) return s;
      for (const auto& [path, data] : submission.files) {
        Statement f(write_db_,
                    Kept("INSERT INTO run_files(run_id, path, data) VALUES(?1, ?2, ?3)"));
        if (absl::Status s = f.Bind(1, run.run_id).Bind(2, path).BindBlob(3, data).Run(); !s.ok()) {
          return s;
        }
      }
      for (const JobRecord& job : run.jobs) {
        if (absl::Status s = PutJob(job); !s.ok()) return s;
      }
    }
    for (const RunRecord& run : write.runs) {
      if (absl::Status s = PutRun(run, nullptr); !s.ok()) return s;
    }
    for (const JobRecord& job : write.jobs) {
      if (absl::Status s = PutJob(job); !s.ok()) return s;
    }
    for (StoredUpdate& update : write.updates) {
      absl::StatusOr<uint64_t> seq = NextSeq(update.run_id);
      if (!seq.ok()) return seq.status();
      update.seq = *seq;
      Statement q(write_db_,
                  Kept("INSERT INTO updates(run_id, seq, kind, job_id, attempt, event_seq, body) "
                       "VALUES(?1,?2,?3,?4,?5,?6,?7)"));
      q.Bind(1, update.run_id)
          .Bind(2, static_cast<int64_t>(update.seq))
          .Bind(3, KindName(update.kind))
          .Bind(4, update.job_id)
          .Bind(5, static_cast<int64_t>(update.event ? update.event->job_attempt : 0))
          .Bind(6, static_cast<int64_t>(update.event ? update.event->seq : update.seq))
          .Bind(7, update.event ? ToJsonLine(*update.event)
                   : update.job ? JobJson(*update.job)
                                : std::string());
      if (absl::Status s = q.Run(); !s.ok()) return s;
    }
    for (const StoredAgent& agent : write.agents) {
      Statement q(write_db_,
                  Kept("INSERT OR REPLACE INTO agents(agent_id, address, vms, capacity, version, "
                       "last_seen_ms) VALUES(?1,?2,?3,?4,?5,?6)"));
      q.Bind(1, agent.id)
          .Bind(2, agent.address)
          .Bind(3, json(agent.vms).dump())
          .Bind(4, static_cast<int64_t>(agent.capacity))
          .Bind(5, agent.version)
          .Bind(6, Ms(agent.last_seen));
      if (absl::Status s = q.Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The writer's statements, prepared once (parsing SQL was a third of a small commit).
  sqlite3_stmt* Kept(const char* sql) {
    auto it = kept_.find(sql);
    if (it != kept_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(write_db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      return nullptr;  // Step() reports the error
    }
    return kept_.emplace(sql, stmt).first->second;
  }
  absl::Status RunKept(const char* sql) { return Statement(write_db_, Kept(sql)).Run(); }

  SqliteStoreOptions options_;
  int lock_fd_ = -1;
  sqlite3* write_db_ = nullptr;  // the writer thread's only
  sqlite3* read_db_ = nullptr;
  std::mutex read_mutex_;
  std::map<std::string, uint64_t> run_seqs_;   // writer thread only
  std::map<const char*, sqlite3_stmt*> kept_;  // writer thread only; by SQL literal

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace

std::string SqliteStorePath(const std::string& dir) {
  return (fs::path(dir) / "state.db").string();
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options) {
  auto store = std::make_unique<SqliteStore>(options);
  if (absl::Status s = store->Open(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace mosdat

// Coordinator benchmark: a real mosdat-coordinator (the built binary, a child process on
// a loopback TCP port, its state database on disk, so every commit's fsync is real)
// driven by fake agents that speak the agent protocol: RegisterAgent, LeaseJob,
// FetchJobFiles, ReportEvents (events acknowledged only once durably stored). The fake
// agents run no scenario: what is measured is the coordinator's own cost per event and
// per job, and how it grows with agents.
//   1. durable events acknowledged per second: 1 stream awaiting each ack (what
//      mosdat-agent does), 1 stream with up to 64 events unacknowledged, 8 streams;
//   2. jobs of no steps (job_started + job_finished): jobs/s and LeaseJob latency while
//      jobs are queued;
//   3. the same with 1, 2, 4 and 8 agents, and with 50 log events per job; beside each
//      figure the coordinator's CPU time over the wall time, and its commits;
//   4. jobs paced like real ones (the agent works 20 ms before each of 20 events) with
//      1, 2, 4 and 8 agents: how agents scale when they do not wait on the coordinator.
//   build/bench/mosdat_bench_coordinator [seconds_per_event_run] [jobs] [state_parent_dir]
// MOSDAT_BENCH_COORDINATOR=<path> runs another mosdat-coordinator build (to compare);
// MOSDAT_BENCH_ONLY=13 runs only those sections.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/latency.h"
#include "core/file_util.h"
#include "core/process.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr char kUserToken[] = "bench-user-token-0123456789abcdef";
constexpr char kAgentToken[] = "bench-agent-token-0123456789abcdef";
constexpr int kVms = 8;  // every fake agent drives all of them (local VMs: one job each)

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

absl::Status FromGrpc(const std::string& what, const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", s.error_message()));
}

// Seconds of CPU the process has used (user + system).
double ProcessCpuSeconds(pid_t pid) {
  std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t at = close + 2;
  while (at < stat.size() && fields.size() < 15) {
    size_t space = stat.find(' ', at);
    fields.push_back(stat.substr(at, space - at));
    at = space == std::string::npos ? stat.size() : space + 1;
  }
  if (fields.size() < 13) return 0;
  // Fields 14 and 15 of proc(5): utime, stime; fields[] starts at field 3.
  return (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

// The p50 of fdatasync after writing 4 KiB in `dir`, appended (the file grows: the file
// system's journal commits too) or over the same block (as SQLite's WAL, once it
// wraps): the floor of a durable write there.
double FdatasyncMs(const std::string& dir, bool append) {
  const std::string path = dir + "/fsync-probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  std::vector<double> ms;
  const std::string block(4096, 'x');
  for (int i = 0; i < 50; ++i) {
    if (pwrite(fd, block.data(), block.size(), append ? i * block.size() : 0) < 0) break;
    absl::Time start = absl::Now();
    fdatasync(fd);
    if (i > 0) ms.push_back(Ms(absl::Now() - start));
  }
  close(fd);
  fs::remove(path);
  return Summarise(ms).p50;
}

std::string FileSystemOf(const std::string& dir) {
  struct statfs info {};
  if (statfs(dir.c_str(), &info) != 0) return "?";
  switch (info.f_type) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs (fsync is free: figures are NOT durable-write figures)";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    default:
      return absl::StrFormat("type 0x%x", static_cast<unsigned>(info.f_type));
  }
}

// The coordinator's store commits so far, from its /metrics (count and seconds).
struct Commits {
  double count = 0;
  double seconds = 0;
};

Commits ScrapeCommits(int metrics_port) {
  Commits commits;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(metrics_port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) close(fd);
    return commits;
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, request.data(), request.size()) < 0) {
    close(fd);
    return commits;
  }
  std::string response;
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) response.append(buffer, n);
  close(fd);
  auto value = [&](const std::string& name) {
    size_t at = response.find("\n" + name + " ");
    return at == std::string::npos ? 0.0 : std::atof(response.c_str() + at + name.size() + 2);
  };
  commits.count = value("mosdat_coordinator_store_write_seconds_count");
  commits.seconds = value("mosdat_coordinator_store_write_seconds_sum");
  return commits;
}

// The coordinator process, its state directory on disk.
struct Coordinator {
  std::optional<Process> process;
  std::string target;
  int metrics_port = 0;
};

absl::StatusOr<Coordinator> StartCoordinator(const std::string& dir) {
  Environment env = CurrentEnvironment();
  env["MOSDAT_BENCH_USER_TOKEN"] = kUserToken;
  env["MOSDAT_BENCH_AGENT_TOKEN"] = kAgentToken;
  const std::string ready = dir + "/ready.json";
  const char* other = std::getenv("MOSDAT_BENCH_COORDINATOR");
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {other != nullptr ? other : MOSDAT_COORDINATOR_BINARY, "--listen=127.0.0.1:0",
                "--metrics-listen=127.0.0.1:0", "--log-level=warn",
                "--token=env:MOSDAT_BENCH_USER_TOKEN", "--agent-token=env:MOSDAT_BENCH_AGENT_TOKEN",
                "--results-dir=" + dir + "/results", "--state-dir=" + dir + "/state",
                // Fake agents send no heartbeats: LeaseJob and events
                // keep them alive; nothing may expire during a run.
                "--lease-timeout=600", "--heartbeat-interval=300", "--ready-file=" + ready},
       .env = env,
       .stdout_path = dir + "/coordinator.out",
       .stderr_path = dir + "/coordinator.err"});
  if (!process.ok()) return process.status();
  Coordinator coordinator;
  coordinator.process.emplace(*std::move(process));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    nlohmann::json info = nlohmann::json::parse(ReadFileOrEmpty(ready), nullptr, false);
    if (info.is_object() && info.contains("grpc_address")) {
      coordinator.target = info["grpc_address"].get<std::string>();
      coordinator.metrics_port = info.value("metrics_port", 0);
      return coordinator;
    }
    if (coordinator.process->Poll()) break;
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  return absl::UnavailableError("the coordinator did not start: " +
                                FileTail(dir + "/coordinator.err"));
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  // Its own TCP connection, as a separate agent process would have.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::vector<std::string> VmNames() {
  std::vector<std::string> vms;
  for (int i = 1; i <= kVms; ++i) vms.push_back(absl::StrCat("vm", i));
  return vms;
}

// Submits a run of `tests` × `vms` jobs (local VMs, one-step scenarios the fake agents
// never run). Returns its id.
absl::StatusOr<std::string> Submit(const std::string& target, int tests, int vms,
                                   const std::string& label) {
  std::string config = "[app]\nname = \"bench\"\nbinary = \"/bin/true\"\n";
  for (int v = 1; v <= vms; ++v) {
    absl::StrAppend(&config, "[[vm]]\nname = \"vm", v, "\"\nprovider = \"local\"\n");
  }
  v1::SubmitMatrixRequest request;
  request.set_config_path("/bench/suite.toml");
  request.set_label(label);
  request.set_retries(0);
  for (int t = 1; t <= tests; ++t) {
    absl::StrAppend(&config, "[[test]]\nname = \"t", t, "\"\nscenario = \"t", t, ".yaml\"\n");
    (*request.mutable_files())[absl::StrCat("/bench/t", t, ".yaml")] =
        absl::StrCat("name: t", t, "\nsteps:\n  - key: enter\n");
  }
  (*request.mutable_files())["/bench/suite.toml"] = config;
  auto stub = v1::Coordinator::NewStub(NewChannel(target));
  grpc::ClientContext context;
  AttachToken(context, kUserToken);
  v1::SubmitMatrixResponse response;
  if (absl::Status s = FromGrpc("SubmitMatrix", stub->SubmitMatrix(&context, request, &response));
      !s.ok()) {
    return s;
  }
  return response.run_id();
}

absl::StatusOr<v1::Run> GetRun(const std::string& target, const std::string& run_id) {
  auto stub = v1::Coordinator::NewStub(NewChannel(target));
  grpc::ClientContext context;
  AttachToken(context, kUserToken);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::Run run;
  if (absl::Status s = FromGrpc("GetRun", stub->GetRun(&context, request, &run)); !s.ok()) {
    return s;
  }
  return run;
}

v1::JobEvent LogEvent(const v1::Job& job, uint64_t seq) {
  v1::JobEvent event;
  event.set_job_id(job.job_id());
  event.set_seq(seq);
  event.set_unix_ms(absl::ToUnixMillis(absl::Now()));
  event.set_job_attempt(job.attempt());
  event.set_lease_id(job.lease_id());
  event.mutable_log()->set_level("info");
  event.mutable_log()->set_text(absl::StrCat("step output line ", seq, " of a benchmark job"));
  return event;
}

v1::JobEvent StartedEvent(const v1::Job& job) {
  v1::JobEvent event = LogEvent(job, 1);
  event.mutable_job_started()->set_vm(job.vm().name());
  event.mutable_job_started()->set_scenario(job.scenario_path());
  return event;
}

v1::JobEvent FinishedEvent(const v1::Job& job, uint64_t seq) {
  v1::JobEvent event = LogEvent(job, seq);
  event.mutable_job_finished()->set_verdict(v1::VERDICT_PASS);
  event.mutable_job_finished()->set_duration_seconds(0.01);
  return event;
}

// A job's events by seq: job_started (1), log events, job_finished (pass) at
// `finish_seq` (0: none).
std::function<v1::JobEvent(uint64_t)> JobEvents(const v1::Job& job, uint64_t finish_seq) {
  return [job, finish_seq](uint64_t seq) {
    if (seq == 1) return StartedEvent(job);
    if (seq == finish_seq) return FinishedEvent(job, seq);
    return LogEvent(job, seq);
  };
}

// A fake agent: registered, capacity 1, driving every bench VM, on its own connection.
class FakeAgent {
 public:
  FakeAgent(const std::string& target, std::string id)
      : stub_(v1::Coordinator::NewStub(NewChannel(target))), id_(std::move(id)) {}

  absl::Status Register() {
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    v1::RegisterAgentRequest request;
    request.set_agent_id(id_);
    request.set_address("127.0.0.1:1");
    for (const std::string& vm : VmNames()) request.add_vms(vm);
    request.set_version("bench");
    request.set_capacity(1);
    v1::RegisterAgentResponse response;
    return FromGrpc("RegisterAgent", stub_->RegisterAgent(&context, request, &response));
  }

  // A job, or nullopt when none came within `wait`; *ms is the call's duration.
  absl::StatusOr<std::optional<v1::Job>> Lease(absl::Duration wait, double* ms) {
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    v1::LeaseJobRequest request;
    request.set_agent_id(id_);
    request.set_wait_ms(static_cast<int>(absl::ToInt64Milliseconds(wait)));
    v1::LeaseJobResponse response;
    const absl::Time start = absl::Now();
    grpc::Status status = stub_->LeaseJob(&context, request, &response);
    *ms = Ms(absl::Now() - start);
    if (!status.ok()) return FromGrpc("LeaseJob", status);
    if (!response.has_job()) return std::nullopt;
    return response.job();
  }

  absl::Status FetchFiles(const v1::Job& job) {
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    v1::FetchJobFilesRequest request;
    request.set_agent_id(id_);
    request.set_job_id(job.job_id());
    auto reader = stub_->FetchJobFiles(&context, request);
    v1::FileChunk chunk;
    size_t bytes = 0;
    while (reader->Read(&chunk)) bytes += chunk.data().size();
    if (absl::Status s = FromGrpc("FetchJobFiles", reader->Finish()); !s.ok()) return s;
    if (bytes == 0) return absl::DataLossError("FetchJobFiles: no files");
    return absl::OkStatus();
  }

  // Sends events `first`..`last` (made by `make`) on one ReportEvents stream with at
  // most `window` unacknowledged, until all are acknowledged or `stop` is set (then
  // those sent are awaited). Acks are cumulative. Returns how many were acknowledged.
  // With window 1 (what mosdat-agent does), *ack_ms gets each event's write-to-ack time.
  absl::StatusOr<uint64_t> Stream(uint64_t first, uint64_t last,
                                  const std::function<v1::JobEvent(uint64_t)>& make, int window,
                                  const std::atomic<bool>* stop = nullptr,
                                  std::vector<double>* ack_ms = nullptr,
                                  absl::Duration work_between = absl::ZeroDuration()) {
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    auto stream = stub_->ReportEvents(&context);
    if (window == 1) {
      uint64_t acked = first - 1;
      v1::EventAck ack;
      for (uint64_t seq = first; seq <= last && !(stop != nullptr && stop->load()); ++seq) {
        // The agent's own work between events (a step driving the VM), not a wait.
        if (seq > first && work_between > absl::ZeroDuration()) absl::SleepFor(work_between);
        const absl::Time start = absl::Now();
        if (!stream->Write(make(seq)) || !stream->Read(&ack) || ack.seq() != seq) break;
        if (ack_ms != nullptr) ack_ms->push_back(Ms(absl::Now() - start));
        acked = seq;
      }
      stream->WritesDone();
      grpc::Status status = stream->Finish();
      if (!status.ok() || (acked < last && !(stop != nullptr && stop->load()))) {
        return absl::UnavailableError(absl::StrCat("ReportEvents: acknowledged ", acked, " of ",
                                                   last, ": ", status.error_message()));
      }
      return acked - first + 1;
    }
    std::mutex mutex;
    std::condition_variable acked_changed;
    uint64_t acked = first - 1;  // the highest seq acknowledged
    uint64_t sent = first - 1;   // the highest seq sent, once the writer is done
    bool writer_done = false, broken = false;
    std::thread writer([&] {
      uint64_t written = first - 1;
      for (uint64_t seq = first; seq <= last; ++seq) {
        if (stop != nullptr && stop->load()) break;
        {
          std::unique_lock lock(mutex);
          acked_changed.wait(
              lock, [&] { return broken || seq - acked <= static_cast<uint64_t>(window); });
          if (broken) break;
        }
        if (!stream->Write(make(seq))) break;
        written = seq;
      }
      stream->WritesDone();
      std::lock_guard lock(mutex);
      sent = written;
      writer_done = true;
      acked_changed.notify_all();
    });
    v1::EventAck ack;
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (writer_done && acked >= sent) break;
      }
      if (!stream->Read(&ack)) {
        std::lock_guard lock(mutex);
        broken = true;
        acked_changed.notify_all();
        break;
      }
      std::lock_guard lock(mutex);
      acked = std::max<uint64_t>(acked, ack.seq());
      acked_changed.notify_all();
    }
    writer.join();
    grpc::Status status = stream->Finish();
    // The stream ends once the coordinator has answered everything written (then Read
    // fails): every event sent must have been acknowledged, and the call must be OK.
    if (!status.ok() || acked < sent) {
      return absl::UnavailableError(absl::StrCat("ReportEvents: acknowledged ", acked, " of ", sent,
                                                 ": ", status.error_message()));
    }
    return acked - first + 1;
  }

 private:
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::string id_;
};

// CPU seconds of all CPUs, busy (not idle or waiting for I/O), from /proc/stat.
double MachineBusySeconds() {
  std::string stat = ReadFileOrEmpty("/proc/stat");
  std::vector<double> v;
  size_t at = stat.find_first_of("0123456789");
  const size_t end = stat.find('\n');
  while (at < end) {
    v.push_back(std::atof(stat.c_str() + at));
    at = stat.find(' ', at);
    if (at == std::string::npos || at > end) break;
    ++at;
  }
  if (v.size() < 5) return 0;
  double busy = 0;
  for (size_t i = 0; i < v.size() && i < 8; ++i) {
    if (i != 3 && i != 4) busy += v[i];  // not idle, not iowait
  }
  return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// What one measurement cost: the coordinator process, the fake agents (this process),
// the whole machine (other processes too), and the store's commits.
struct Cost {
  absl::Time start;
  double coordinator_cpu = 0, agents_cpu = 0, machine_busy = 0;
  Commits commits;
};

Cost Begin(const Coordinator& c) {
  return {.start = absl::Now(),
          .coordinator_cpu = ProcessCpuSeconds(c.process->pid()),
          .agents_cpu = OwnCpuSeconds(),
          .machine_busy = MachineBusySeconds(),
          .commits = ScrapeCommits(c.metrics_port)};
}

// The columns COST_HEADER names: per item (event or job) CPU of the coordinator and of
// the agents; the coordinator's CPU and the whole machine's busy time as a share of
// the wall time (the coordinator's of one CPU, the machine's of all); items per commit
// and a commit's mean duration.
#define COST_HEADER "coord CPU/%-3s agents CPU/%-3s coord busy  machine busy  %3s/commit  commit"

std::string CostSince(const Coordinator& c, const Cost& begin, absl::Duration wall, double items) {
  Commits now = ScrapeCommits(c.metrics_port);
  const double commits = now.count - begin.commits.count;
  const double commit_s = now.seconds - begin.commits.seconds;
  const double coordinator = ProcessCpuSeconds(c.process->pid()) - begin.coordinator_cpu;
  const double agents = OwnCpuSeconds() - begin.agents_cpu;
  const double machine = MachineBusySeconds() - begin.machine_busy;
  const double seconds = absl::ToDoubleSeconds(wall);
  return absl::StrFormat(
      "%9.2f ms  %10.2f ms  %9.0f%%  %11.0f%%  %10.1f  %4.1f ms", 1000 * coordinator / items,
      1000 * agents / items, 100 * coordinator / seconds,
      100 * machine / seconds / std::thread::hardware_concurrency(),
      commits > 0 ? items / commits : 0, commits > 0 ? 1000 * commit_s / commits : 0);
}

// 1. `streams` agents each lease a job, then stream log events for `seconds` with
// `window` unacknowledged at most. Prints events/s.
absl::Status EventRate(const Coordinator& c, int round, int streams, int window, double seconds) {
  std::vector<std::unique_ptr<FakeAgent>> agents;
  for (int i = 0; i < streams; ++i) {
    agents.push_back(std::make_unique<FakeAgent>(c.target, absl::StrCat("ev", round, "-", i)));
    if (absl::Status s = agents.back()->Register(); !s.ok()) return s;
  }
  absl::StatusOr<std::string> run = Submit(c.target, streams, 1, absl::StrCat("events-", round));
  if (!run.ok()) return run.status();
  std::vector<v1::Job> jobs;
  for (int i = 0; i < streams; ++i) {
    double ms;
    absl::StatusOr<std::optional<v1::Job>> job = agents[i]->Lease(absl::Seconds(5), &ms);
    if (!job.ok()) return job.status();
    if (!job->has_value()) return absl::InternalError("no job to lease");
    jobs.push_back(**job);
    if (absl::StatusOr<uint64_t> s = agents[i]->Stream(1, 1, JobEvents(jobs.back(), 0), 1);
        !s.ok()) {
      return s.status();
    }
  }
  std::atomic<bool> stop = false;
  std::vector<absl::StatusOr<uint64_t>> acked(streams, uint64_t{0});
  std::vector<std::vector<double>> ack_ms(streams);
  Cost cost = Begin(c);
  std::vector<std::thread> threads;
  for (int i = 0; i < streams; ++i) {
    // More events than any rate reaches in the time; `stop` ends the stream.
    threads.emplace_back([&, i] {
      acked[i] = agents[i]->Stream(2, 100000000, JobEvents(jobs[i], 0), window, &stop, &ack_ms[i]);
    });
  }
  absl::SleepFor(absl::Seconds(seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  const absl::Duration wall = absl::Now() - cost.start;
  uint64_t total = 0;
  std::vector<double> all_ack_ms;
  for (int i = 0; i < streams; ++i) {
    if (!acked[i].ok()) return acked[i].status();
    total += *acked[i];
    all_ack_ms.insert(all_ack_ms.end(), ack_ms[i].begin(), ack_ms[i].end());
  }
  std::printf("%-26s %8.0f %8s  %s\n",
              absl::StrFormat("%d stream%s, %s", streams, streams > 1 ? "s" : "",
                              window == 1 ? "ack per event" : absl::StrCat("window ", window))
                  .c_str(),
              total / absl::ToDoubleSeconds(wall),
              all_ack_ms.empty() ? "-" : absl::StrFormat("%.2f", Summarise(all_ack_ms).p50).c_str(),
              CostSince(c, cost, wall, total).c_str());
  // Finish the jobs; the run must end passed with every event in it.
  for (int i = 0; i < streams; ++i) {
    const uint64_t finish = *acked[i] + 2;
    absl::StatusOr<uint64_t> s = agents[i]->Stream(finish, finish, JobEvents(jobs[i], finish), 1);
    if (!s.ok()) return s.status();
  }
  absl::StatusOr<v1::Run> done = GetRun(c.target, *run);
  if (!done.ok()) return done.status();
  if (!done->done() || done->verdict() != v1::VERDICT_PASS) {
    return absl::InternalError(absl::StrCat("run ", *run, " did not end passed"));
  }
  return absl::OkStatus();
}

// A job run's figures; latencies as the fake agents saw them.
struct JobRates {
  double submit_ms = 0;  // SubmitMatrix (expanding and storing the run), not in the rates
  double jobs_per_s = 0;
  double events_per_s = 0;
  std::vector<double> lease_ms;     // LeaseJob calls that returned a job
  std::vector<double> fetch_ms;     // FetchJobFiles
  std::vector<double> event_ms;     // job_started and log events: write to ack
  std::vector<double> finished_ms;  // job_finished: write to ack
  std::string cost;
};

// 2./3. `agents` fake agents work through a run of `jobs` jobs: lease, fetch the files,
// job_started, `log_events` log events (each acknowledged before the next, as
// mosdat-agent sends them), job_finished (pass), next.
absl::StatusOr<JobRates> JobThroughput(const Coordinator& c, int round, int agent_count, int jobs,
                                       int log_events,
                                       absl::Duration step_work = absl::ZeroDuration()) {
  std::vector<std::unique_ptr<FakeAgent>> agents;
  for (int i = 0; i < agent_count; ++i) {
    agents.push_back(std::make_unique<FakeAgent>(c.target, absl::StrCat("job", round, "-", i)));
    if (absl::Status s = agents.back()->Register(); !s.ok()) return s;
  }
  const int tests = (jobs + kVms - 1) / kVms;
  const absl::Time submitting = absl::Now();
  absl::StatusOr<std::string> run = Submit(c.target, tests, kVms, absl::StrCat("jobs-", round));
  if (!run.ok()) return run.status();
  JobRates rates;
  rates.submit_ms = Ms(absl::Now() - submitting);
  // From the first lease to the last job_finished acknowledged.
  Cost cost = Begin(c);
  const int total = tests * kVms;
  std::atomic<int> finished = 0;
  std::mutex mutex;
  absl::Status failure = absl::OkStatus();
  std::vector<std::thread> threads;
  for (int i = 0; i < agent_count; ++i) {
    threads.emplace_back([&, i] {
      FakeAgent& agent = *agents[i];
      JobRates mine;
      absl::Status status = absl::OkStatus();
      while (status.ok() && finished.load() < total) {
        double ms = 0;
        absl::StatusOr<std::optional<v1::Job>> job = agent.Lease(absl::Milliseconds(200), &ms);
        if (!job.ok()) {
          status = job.status();
          break;
        }
        if (!job->has_value()) continue;  // the last jobs are running elsewhere
        mine.lease_ms.push_back(ms);
        const v1::Job& leased = **job;
        const absl::Time fetching = absl::Now();
        if (status = agent.FetchFiles(leased); !status.ok()) break;
        mine.fetch_ms.push_back(Ms(absl::Now() - fetching));
        // job_started and the log events one at a time, then job_finished: each event
        // acknowledged before the next, on one stream per job.
        const uint64_t finish = log_events + 2;
        std::vector<double> ack_ms;
        absl::StatusOr<uint64_t> acked =
            agent.Stream(1, finish, JobEvents(leased, finish), 1, nullptr, &ack_ms, step_work);
        if (!acked.ok()) {
          status = acked.status();
          break;
        }
        mine.finished_ms.push_back(ack_ms.back());
        mine.event_ms.insert(mine.event_ms.end(), ack_ms.begin(), ack_ms.end() - 1);
        ++finished;
      }
      std::lock_guard lock(mutex);
      for (auto [to, from] : {std::pair{&rates.lease_ms, &mine.lease_ms},
                              {&rates.fetch_ms, &mine.fetch_ms},
                              {&rates.event_ms, &mine.event_ms},
                              {&rates.finished_ms, &mine.finished_ms}}) {
        to->insert(to->end(), from->begin(), from->end());
      }
      if (!status.ok() && failure.ok()) failure = status;
    });
  }
  for (std::thread& t : threads) t.join();
  if (!failure.ok()) return failure;
  const absl::Duration wall = absl::Now() - cost.start;
  absl::StatusOr<v1::Run> done = GetRun(c.target, *run);
  if (!done.ok()) return done.status();
  if (!done->done() || done->verdict() != v1::VERDICT_PASS || done->jobs_size() != total) {
    return absl::InternalError(absl::StrCat("run ", *run, " did not end passed"));
  }
  rates.jobs_per_s = total / absl::ToDoubleSeconds(wall);
  rates.events_per_s = total * (log_events + 2) / absl::ToDoubleSeconds(wall);
  rates.cost = CostSince(c, cost, wall, total);
  return rates;
}

bool Wanted(char section) {
  const char* only = std::getenv("MOSDAT_BENCH_ONLY");
  return only == nullptr || std::strchr(only, section) != nullptr;
}

int Run(double seconds, int jobs, const std::string& dir) {
  absl::StatusOr<Coordinator> coordinator = StartCoordinator(dir);
  if (!coordinator.ok()) return Fail("coordinator", coordinator.status());
  const Coordinator& c = *coordinator;

  double load[1] = {0};
  getloadavg(load, 1);
  if (const char* other = std::getenv("MOSDAT_BENCH_COORDINATOR")) {
    std::printf("coordinator: %s (MOSDAT_BENCH_COORDINATOR)\n", other);
  }
  std::printf(
      "mOSdat coordinator benchmark: mosdat-coordinator as a child process on loopback TCP, "
      "fake agents (one gRPC connection each) in this process; %u CPUs, load %.1f\n"
      "state database in %s (%s); fdatasync p50 %.2f ms after overwriting 4 KiB, %.2f ms "
      "after appending 4 KiB\n",
      std::thread::hardware_concurrency(), load[0], dir.c_str(), FileSystemOf(dir).c_str(),
      FdatasyncMs(dir, false), FdatasyncMs(dir, true));

  int round = 0;
  if (Wanted('1')) {
    std::printf("\n1. durable events acknowledged (log events, %.0f s each)\n", seconds);
    std::printf("%-26s %8s %8s  " COST_HEADER "\n", "", "events/s", "ack p50", "ev", "ev", "ev");
  }
  for (auto [streams, window] :
       std::vector<std::pair<int, int>>{{1, 1}, {1, 64}, {8, 1}, {8, 64}}) {
    if (!Wanted('1')) break;
    if (absl::Status s = EventRate(c, ++round, streams, window, seconds); !s.ok()) {
      return Fail("events", s);
    }
  }

  const int rounded = (jobs + kVms - 1) / kVms * kVms;
  if (Wanted('2')) {
    std::printf(
        "\n2. jobs of no steps (lease, fetch files, job_started, job_finished), %d jobs per run "
        "(%d tests x %d VMs), agents of capacity 1; p50 ms of each step as agents saw it\n",
        rounded, rounded / kVms, kVms);
    std::printf("%-8s %6s %5s %15s %6s %8s %9s  " COST_HEADER "  %s\n", "", "jobs/s", "x1",
                "lease p50/p99", "fetch", "started", "finished", "job", "job", "job", "submit");
  }
  double one_agent_jobs = 0;
  for (int agents : {1, 2, 4, 8}) {
    if (!Wanted('2')) break;
    absl::StatusOr<JobRates> rates = JobThroughput(c, ++round, agents, jobs, 0);
    if (!rates.ok()) return Fail("jobs", rates.status());
    if (agents == 1) one_agent_jobs = rates->jobs_per_s;
    Percentiles lease = Summarise(rates->lease_ms);
    std::printf("%d agent%s %6.1f %5.1f %6.2f /%6.2f %6.2f %8.2f %9.2f  %s  %4.0f ms\n", agents,
                agents > 1 ? "s" : " ", rates->jobs_per_s, rates->jobs_per_s / one_agent_jobs,
                lease.p50, lease.p99, Summarise(rates->fetch_ms).p50,
                Summarise(rates->event_ms).p50, Summarise(rates->finished_ms).p50,
                rates->cost.c_str(), rates->submit_ms);
  }

  const int event_jobs = std::max(kVms, jobs / 5 / kVms * kVms);
  if (Wanted('3')) {
    std::printf(
        "\n3. jobs of 50 log events (+ job_started, job_finished; each event acknowledged before "
        "the next), %d jobs per run\n",
        event_jobs);
    std::printf("%-8s %6s %8s %5s %9s %9s  " COST_HEADER "\n", "", "jobs/s", "events/s", "x1",
                "event p50", "finished", "job", "job", "job");
  }
  double one_agent_events = 0;
  for (int agents : {1, 2, 4, 8}) {
    if (!Wanted('3')) break;
    absl::StatusOr<JobRates> rates = JobThroughput(c, ++round, agents, event_jobs, 50);
    if (!rates.ok()) return Fail("event jobs", rates.status());
    if (agents == 1) one_agent_events = rates->events_per_s;
    std::printf("%d agent%s %6.1f %8.0f %5.1f %9.2f %9.2f  %s\n", agents, agents > 1 ? "s" : " ",
                rates->jobs_per_s, rates->events_per_s, rates->events_per_s / one_agent_events,
                Summarise(rates->event_ms).p50, Summarise(rates->finished_ms).p50,
                rates->cost.c_str());
  }

  // 4. Jobs shaped like real ones: the agent works between events. Whether 8 agents
  // get 8 times the work done when the coordinator is not what they wait for.
  constexpr int kSteps = 20;
  constexpr absl::Duration kStepWork = absl::Milliseconds(20);
  const int paced_jobs = 8 * kVms;  // 8 each for 8 agents: the last round is short
  if (Wanted('4')) {
    std::printf(
        "\n4. jobs of %d log events with %.0f ms of agent work before each (a fast UI step; real "
        "ones take 0.1-10 s), %d jobs per run\n",
        kSteps, absl::ToDoubleMilliseconds(kStepWork), paced_jobs);
    std::printf("%-8s %6s %5s %9s %9s  " COST_HEADER "\n", "", "jobs/s", "x1", "event p50",
                "finished", "job", "job", "job");
  }
  double one_agent_paced = 0;
  for (int agents : {1, 2, 4, 8}) {
    if (!Wanted('4')) break;
    absl::StatusOr<JobRates> rates =
        JobThroughput(c, ++round, agents, paced_jobs, kSteps, kStepWork);
    if (!rates.ok()) return Fail("paced jobs", rates.status());
    if (agents == 1) one_agent_paced = rates->jobs_per_s;
    std::printf("%d agent%s %6.2f %5.1f %9.2f %9.2f  %s\n", agents, agents > 1 ? "s" : " ",
                rates->jobs_per_s, rates->jobs_per_s / one_agent_paced,
                Summarise(rates->event_ms).p50, Summarise(rates->finished_ms).p50,
                rates->cost.c_str());
  }

  coordinator->process->Terminate(absl::Seconds(10));
  return 0;
}

int RunInTempDir(double seconds, int jobs, const std::string& parent) {
  std::string dir = (fs::path(parent) / "mosdat-coordinator-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) return Fail("mkdtemp", absl::UnavailableError(parent));
  int status = Run(seconds, jobs, dir);
  std::error_code error;
  fs::remove_all(dir, error);
  return status;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  int jobs = argc > 2 ? std::atoi(argv[2]) : 200;
  std::string parent = argc > 3 ? argv[3] : std::filesystem::temp_directory_path().string();
  return mosdat::RunInTempDir(std::max(seconds, 0.5), std::max(jobs, 8), parent);
}

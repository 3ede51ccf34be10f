// Issue 14: mOSdat spread over several machines, with faults. A coordinator, three
// agents and a user each on a "host" of their own (a network namespace on a bridge,
// tests/integration/netns_fixture.h), talking gRPC over non-loopback TCP; each agent
// drives its own local desktop (VM "local"). They use mutual TLS, as between real hosts:
// the coordinator's certificate names its address, each agent's names the agent (and
// the coordinator holds it to that id). A matrix of six jobs runs while one agent
// is killed (kill -9) in the middle of a job, and later the coordinator itself is
// killed and started again. The run must still pass: the lost job runs again on
// another agent, the jobs under way across the coordinator's restart go on as the same
// attempt, and nothing is lost or recorded twice (events.jsonl and the store's update
// log have no gap and no duplicate).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/events.h"
#include "core/file_util.h"
#include "core/process.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/proto_convert.h"
#include "runtime/token_auth.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/netns_fixture.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_certs.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kCoordinatorPort = 50151;  // the coordinator's host is ours alone
constexpr int kTests = 6;
const std::vector<std::string> kAgentHosts = {"a1", "a2", "a3"};

// Each job clicks, sees the toggle change, then holds for a few seconds: the faults
// land while jobs are in the middle of that hold.
constexpr char kScenario[] = R"(name: click-and-hold
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
    label: window drawn
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 5}
    label: toggle drawn pressed
  - wait: 4
    label: hold
  - checkpoint: held
)";

std::string AgentId(const std::string& host) { return "agent-" + host; }

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
    absl::StatusOr<std::unique_ptr<NetnsLan>> lan =
        NetnsLan::Create({"coord", "a1", "a2", "a3", "user"});
    ASSERT_TRUE(lan.ok()) << lan.status();
    lan_ = std::move(*lan);
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = std::move(*certs);
    absl::StatusOr<TestCerts::KeyPair> server =
        certs_->IssueServer("coordinator", {lan_->Address("coord")});
    ASSERT_TRUE(server.ok()) << server.status();
    coordinator_pair_ = *server;
    for (const std::string& name :
         {std::string("user"), AgentId("a1"), AgentId("a2"), AgentId("a3")}) {
      absl::StatusOr<TestCerts::KeyPair> client = certs_->IssueClient(name);
      ASSERT_TRUE(client.ok()) << client.status();
      client_pairs_[name] = *client;
    }
  }

  // The flags that make a client present `name`'s certificate to the coordinator.
  std::vector<std::string> ClientTlsFlags(const std::string& prefix,
                                          const std::string& name) const {
    return {"--" + prefix + "tls-ca=" + certs_->ca(),
            "--" + prefix + "tls-cert=" + client_pairs_.at(name).cert,
            "--" + prefix + "tls-key=" + client_pairs_.at(name).key};
  }

  std::string CoordinatorAddress() const {
    return absl::StrCat(lan_->Address("coord"), ":", kCoordinatorPort);
  }

  std::string WriteMatrix() {
    std::ofstream(dir_.File("hold.yaml"), std::ios::binary) << kScenario;
    std::ofstream config(dir_.File("config.toml"), std::ios::binary);
    config << "[app]\nname = \"fixture\"\nbinary = \"/usr/bin/python3\"\nargs = [\""
           << SourcePath("tests/data/apps/fixed_layout.py")
           << "\"]\n[[vm]]\nname = \"local\"\nprovider = \"local\"\n";
    for (int i = 1; i <= kTests; ++i) {
      config << "[[test]]\nname = \"t" << i << "\"\nscenario = \"hold.yaml\"\n";
    }
    return dir_.File("config.toml");
  }

  // The coordinator on its host's address, its state and results in dir_; the same
  // command line each time, so a restart finds what the killed one left.
  std::unique_ptr<ServiceProcess> StartCoordinator() {
    std::vector<std::string> argv = CoordinatorArgv(dir_.File("results"));
    argv.insert(
        argv.end(),
        {"--state-dir=" + dir_.File("state"), "--lease-timeout=3", "--heartbeat-interval=0.5",
         "--job-retries=1", "--tls-cert=" + coordinator_pair_.cert,
         "--tls-key=" + coordinator_pair_.key, "--tls-client-ca=" + certs_->ca()});
    auto coordinator = std::make_unique<ServiceProcess>(lan_->Exec("coord", argv), kServiceEnv);
    coordinator->set_listen(CoordinatorAddress());
    EXPECT_TRUE(coordinator->Start()) << coordinator->stderr_text();
    EXPECT_THAT(coordinator->stderr_text(), HasSubstr("TLS, client certificates required"));
    return coordinator;
  }

  // The test's own client reaches the coordinator from the user's host, as the CLI does.
  void ConnectTestClient() {
    absl::StatusOr<std::unique_ptr<NetnsForward>> forward = NetnsForward::Start(
        lan_->Namespace("user"), lan_->Address("coord"), kCoordinatorPort, dir_.File("c.sock"));
    ASSERT_TRUE(forward.ok()) << forward.status();
    forward_ = std::move(*forward);
    grpc::ChannelArguments channel_args;
    channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    // TLS end to end through the forward: the certificate names the coordinator's
    // address, not the unix socket.
    channel_args.SetSslTargetNameOverride(lan_->Address("coord"));
    grpc::SslCredentialsOptions tls{.pem_root_certs = ReadFileOrEmpty(certs_->ca()),
                                    .pem_private_key = ReadFileOrEmpty(client_pairs_["user"].key),
                                    .pem_cert_chain = ReadFileOrEmpty(client_pairs_["user"].cert)};
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(forward_->target(), grpc::SslCredentials(tls), channel_args));
  }

  void StartAgent(const std::string& host) {
    std::vector<std::string> flags = ClientTlsFlags("coordinator-", AgentId(host));
    flags.insert(flags.end(), {"--agent-id=" + AgentId(host), "--capacity=1"});
    auto agent = std::make_unique<ServiceProcess>(
        lan_->Exec(host, AgentArgv(CoordinatorAddress(), flags)), kServiceEnv);
    EXPECT_TRUE(agent->Start()) << agent->stderr_text();
    agents_[host] = std::move(agent);
  }

  // `mosdat run --detach` from the user's host; the run id, or "" after a failure.
  std::string Submit(const std::string& config, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "--config", config, "--detach"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult submitted = RunCommand(Mosdat(args), kServiceEnv, std::chrono::seconds(120));
    EXPECT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err << Logs();
    return std::string(absl::StripAsciiWhitespace(submitted.out));
  }

  std::vector<std::string> Mosdat(std::vector<std::string> args) const {
    args.insert(args.begin(), BuiltBinary("cli/mosdat"));
    args.insert(args.end(),
                {"--coordinator", CoordinatorAddress(), "--token", "env:MOSDAT_COORDINATOR_TOKEN"});
    for (const std::string& flag : ClientTlsFlags("", "user")) args.push_back(flag);
    return lan_->Exec("user", args);
  }

  std::optional<v1::Run> GetRun(const std::string& run_id) {
    grpc::ClientContext context;
    AttachToken(context, kServiceEnv.at("MOSDAT_COORDINATOR_TOKEN"));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::Run run;
    if (!stub_->GetRun(&context, request, &run).ok()) return std::nullopt;
    return run;
  }

  // Polls GetRun until `ready` holds (the coordinator may be away meanwhile).
  std::optional<v1::Run> WaitForRun(const std::string& run_id,
                                    const std::function<bool(const v1::Run&)>& ready,
                                    absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::optional<v1::Run> last;
    while (absl::Now() < deadline) {
      if (std::optional<v1::Run> run = GetRun(run_id)) {
        if (ready(*run)) return run;
        last = std::move(run);
      }
      absl::SleepFor(absl::Milliseconds(50));  // poll interval
    }
    ADD_FAILURE() << "timed out; the run was:\n" << (last ? last->DebugString() : "unknown");
    return std::nullopt;
  }

  std::vector<Event> AttemptEvents(const v1::JobAttempt& attempt) const {
    absl::StatusOr<std::vector<Event>> events =
        ReadEventLog((fs::path(attempt.results_dir()) / "events.jsonl").string());
    return events.ok() ? *std::move(events) : std::vector<Event>();
  }

  // Running, and inside its hold step (started, not finished).
  bool Holding(const v1::Job& job) const {
    if (job.state() != v1::JOB_STATE_RUNNING || job.attempts().empty()) return false;
    bool holding = false;
    for (const Event& e : AttemptEvents(job.attempts(job.attempts_size() - 1))) {
      if (e.label != "hold") continue;
      if (e.type == EventType::kStepStarted) holding = true;
      if (e.type == EventType::kStepFinished) holding = false;
    }
    return holding;
  }

  std::vector<const v1::Job*> HoldingJobs(const v1::Run& run) const {
    std::vector<const v1::Job*> out;
    for (const v1::Job& job : run.jobs()) {
      if (Holding(job)) out.push_back(&job);
    }
    return out;
  }

  std::string Logs() const {
    std::string out = "--- coordinator:\n" + (coordinator_ ? coordinator_->stderr_text() : "");
    for (const auto& [host, agent] : agents_) {
      absl::StrAppend(&out, "--- ", host, ":\n", agent->stderr_text());
    }
    return out;
  }

  // Declared first: destroyed last, once every process in its namespaces is gone.
  std::unique_ptr<NetnsLan> lan_;
  std::unique_ptr<TestCerts> certs_;
  TestCerts::KeyPair coordinator_pair_;
  std::map<std::string, TestCerts::KeyPair> client_pairs_;  // by CN: "user", agent ids
  TempDir dir_;
  std::unique_ptr<NetnsForward> forward_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  std::unique_ptr<ServiceProcess> coordinator_;
  std::map<std::string, std::unique_ptr<ServiceProcess>> agents_;
};

TEST_F(MultiHostTest, AKilledAgentAndARestartedCoordinatorLoseNothing) {
  const absl::Time began = absl::Now();
  const std::string config = WriteMatrix();
  coordinator_ = StartCoordinator();
  ASSERT_FALSE(HasFailure()) << Logs();
  ConnectTestClient();
  for (const std::string& host : kAgentHosts) StartAgent(host);
  ASSERT_FALSE(HasFailure()) << Logs();

  const std::string run_id = Submit(config);
  ASSERT_FALSE(run_id.empty());
  // A user follows the run from their host all along, across the coordinator's restart.
  absl::StatusOr<Process> watcher = Process::Spawn({.argv = Mosdat({"watch", run_id, "--json"}),
                                                    .env =
                                                        [] {
                                                          Environment env = CurrentEnvironment();
                                                          for (const auto& [k, v] : kServiceEnv)
                                                            env[k] = v;
                                                          return env;
                                                        }(),
                                                    .stdout_path = dir_.File("watch.out"),
                                                    .stderr_path = dir_.File("watch.err")});
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  // Fault 1: a job is in the middle of its hold on some agent: kill -9 that agent.
  std::optional<v1::Run> run = WaitForRun(
      run_id, [&](const v1::Run& r) { return !HoldingJobs(r).empty(); }, absl::Seconds(120));
  ASSERT_TRUE(run.has_value()) << Logs();
  const v1::Job victim = *HoldingJobs(*run).front();
  const std::string killed_agent = victim.attempts(0).agent_id();
  const std::string killed_host = killed_agent.substr(std::string("agent-").size());
  ASSERT_TRUE(agents_.contains(killed_host)) << killed_agent;
  agents_[killed_host]->Kill();
  // Its desktop (Xvnc, D-Bus, openbox, the app) dies with it: nothing is left running
  // on its host.
  const absl::Time reaped = absl::Now() + absl::Seconds(30);
  while (!lan_->Pids(killed_host).empty() && absl::Now() < reaped) {
    absl::SleepFor(absl::Milliseconds(50));  // poll interval
  }
  EXPECT_EQ(absl::StrJoin(lan_->Pids(killed_host), " "), "")
      << "processes left on the killed agent's host";

  // Fault 2, once the victim runs again elsewhere and both live agents are in the
  // middle of a job (so no lease is on its way to an agent): kill the coordinator and
  // start it again on the same state.
  run = WaitForRun(
      run_id,
      [&](const v1::Run& r) {
        for (const v1::Job& job : r.jobs()) {
          if (job.job_id() == victim.job_id() && job.attempts_size() < 2) return false;
        }
        return HoldingJobs(r).size() == kAgentHosts.size() - 1;
      },
      absl::Seconds(120));
  ASSERT_TRUE(run.has_value()) << Logs();
  std::map<std::string, int> across_restart;  // job id → attempts when the coordinator died
  for (const v1::Job* job : HoldingJobs(*run)) {
    across_restart[job->job_id()] = job->attempts_size();
    EXPECT_NE(job->attempts(job->attempts_size() - 1).agent_id(), killed_agent);
  }
  coordinator_->Kill();
  coordinator_ = StartCoordinator();
  ASSERT_FALSE(HasFailure()) << Logs();

  run = WaitForRun(
      run_id, [](const v1::Run& r) { return r.done(); }, absl::Seconds(180));
  ASSERT_TRUE(run.has_value()) << Logs();
  std::optional<ExitStatus> watched = watcher->Wait(absl::Seconds(60));
  ASSERT_TRUE(watched.has_value()) << ReadFileOrEmpty(dir_.File("watch.err"));
  const std::string summary_text = ReadFileOrEmpty(dir_.File("watch.out"));
  EXPECT_EQ(watched->exit_code, 0) << summary_text << ReadFileOrEmpty(dir_.File("watch.err"));
  std::cout << "the run took " << absl::FormatDuration(absl::Now() - began) << "\n";

  // Every job passed; the victim's first attempt was an infrastructure error that says
  // the lease was lost, and its second ran on another agent; the jobs that were under
  // way when the coordinator died went on as the same attempt.
  EXPECT_EQ(run->verdict(), v1::VERDICT_PASS) << run->DebugString() << Logs();
  ASSERT_EQ(run->jobs_size(), kTests);
  for (const v1::Job& job : run->jobs()) {
    SCOPED_TRACE(job.test());
    EXPECT_EQ(job.state(), v1::JOB_STATE_DONE);
    EXPECT_EQ(job.verdict(), v1::VERDICT_PASS) << job.reason();
    if (job.job_id() == victim.job_id()) {
      ASSERT_EQ(job.attempts_size(), 2);
      EXPECT_EQ(job.attempts(0).agent_id(), killed_agent);
      EXPECT_EQ(job.attempts(0).verdict(), v1::VERDICT_ERROR);
      EXPECT_THAT(job.attempts(0).reason(), HasSubstr("lease lost"));
      EXPECT_THAT(job.attempts(0).reason(), HasSubstr(killed_agent));
      EXPECT_NE(job.attempts(1).agent_id(), killed_agent);
      EXPECT_EQ(job.attempts(1).verdict(), v1::VERDICT_PASS);
    } else {
      EXPECT_EQ(job.attempts_size(), 1) << job.DebugString();
    }
    if (across_restart.contains(job.job_id())) {
      EXPECT_EQ(job.attempts_size(), across_restart[job.job_id()]) << "retried after the restart";
    }
  }

  // The user's `mosdat watch` saw it to the end and shows the attempts.
  nlohmann::json summary = nlohmann::json::parse(summary_text, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << summary_text;
  EXPECT_EQ(summary["verdict"], "pass");
  ASSERT_EQ(summary["jobs"].size(), static_cast<size_t>(kTests));
  for (const nlohmann::json& job : summary["jobs"]) {
    const bool is_victim = job["results"] == victim.results_dir();
    EXPECT_EQ(job["attempts"].size(), is_victim ? 2u : 1u) << job.dump();
    if (is_victim) {
      EXPECT_THAT(job["attempts"][0]["reason"].get<std::string>(), HasSubstr("lease lost"));
    }
  }

  // The store's update log, replayed from the start: run_seq 1..M without a gap, and
  // each (job, attempt, seq) event exactly once — the same events as each attempt's
  // events.jsonl, which itself counts 1..N.
  grpc::ClientContext context;
  AttachToken(context, kServiceEnv.at("MOSDAT_COORDINATOR_TOKEN"));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchRunRequest watch;
  watch.set_run_id(run_id);
  auto reader = stub_->WatchRun(&context, watch);
  std::vector<v1::RunUpdate> updates;
  for (v1::RunUpdate update; reader->Read(&update);) updates.push_back(update);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_FALSE(updates.empty());
  std::map<std::pair<std::string, int>, std::vector<uint64_t>> streamed;  // (job, attempt) → seqs
  std::set<std::tuple<std::string, int, uint64_t>> seen;
  for (size_t i = 0; i < updates.size(); ++i) {
    ASSERT_EQ(updates[i].run_seq(), i + 1) << "gap or repeat in the run's updates";
    if (!updates[i].has_event()) continue;
    const v1::JobEvent& e = updates[i].event();
    EXPECT_TRUE(seen.insert({e.job_id(), e.job_attempt(), e.seq()}).second)
        << "event stored twice: " << e.ShortDebugString();
    streamed[{e.job_id(), e.job_attempt()}].push_back(e.seq());
  }
  EXPECT_TRUE(updates.back().has_run());
  size_t attempts = 0;
  for (const v1::Job& job : run->jobs()) {
    for (const v1::JobAttempt& attempt : job.attempts()) {
      SCOPED_TRACE(absl::StrCat(job.test(), " attempt ", attempt.number()));
      ++attempts;
      std::vector<Event> events = AttemptEvents(attempt);
      ASSERT_FALSE(events.empty());
      std::vector<uint64_t> seqs;
      for (size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].seq, i + 1) << "events.jsonl has a gap or a repeat";
        seqs.push_back(events[i].seq);
      }
      EXPECT_EQ(events.front().type, EventType::kJobStarted);
      EXPECT_EQ(events.back().type, EventType::kJobFinished);
      EXPECT_EQ((streamed[{job.job_id(), attempt.number()}]), seqs);
    }
  }
  EXPECT_EQ(streamed.size(), attempts);

  // The live agents found the restarted coordinator by themselves; the killed one is
  // known but not alive.
  grpc::ClientContext list_context;
  AttachToken(list_context, kServiceEnv.at("MOSDAT_COORDINATOR_TOKEN"));
  v1::ListAgentsResponse agents;
  ASSERT_TRUE(stub_->ListAgents(&list_context, {}, &agents).ok());
  for (const v1::AgentInfo& agent : agents.agents()) {
    EXPECT_EQ(agent.alive(), agent.agent_id() != killed_agent) << agent.ShortDebugString();
  }

  for (const std::string& host : kAgentHosts) {
    if (host != killed_host) {
      EXPECT_EQ(agents_[host]->Terminate(), 0) << Logs();
    }
  }
  // The test's own connection goes too: a coordinator's graceful stop waits (up to 5 s)
  // for its clients to hang up.
  stub_.reset();
  forward_.reset();
  EXPECT_EQ(coordinator_->Terminate(), 0) << Logs();
}

// A coordinator away long enough for gRPC's reconnect backoff to grow (until the
// agent has failed to reach it five times: about 9 s of gRPC's default backoff, after
// which its next try would come 5 to 8 s later) must find the agent back within one
// lease timeout (3 s here) once it returns: the job under way goes on as the same
// attempt.
TEST_F(MultiHostTest, AnAgentIsBackSoonAfterALongCoordinatorOutage) {
  const std::string config = WriteMatrix();
  coordinator_ = StartCoordinator();
  ASSERT_FALSE(HasFailure()) << Logs();
  ConnectTestClient();
  StartAgent("a1");
  ASSERT_FALSE(HasFailure()) << Logs();
  const std::string run_id = Submit(config, {"--test", "t1"});
  ASSERT_FALSE(run_id.empty());
  ASSERT_TRUE(
      WaitForRun(
          run_id, [&](const v1::Run& r) { return !HoldingJobs(r).empty(); }, absl::Seconds(120))
          .has_value())
      << Logs();

  coordinator_->Kill();
  absl::StatusOr<std::unique_ptr<NetnsRefuser>> outage =
      NetnsRefuser::Start(lan_->Namespace("coord"), lan_->Address("coord"), kCoordinatorPort);
  ASSERT_TRUE(outage.ok()) << outage.status();
  const absl::Time down = absl::Now();
  const absl::Time deadline = down + absl::Seconds(60);
  while ((*outage)->Count(lan_->Address("a1")) < 5 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  ASSERT_GE((*outage)->Count(lan_->Address("a1")), 5) << Logs();
  std::cout << "the agent tried 5 times in " << absl::FormatDuration(absl::Now() - down) << "\n";
  outage->reset();
  coordinator_ = StartCoordinator();
  ASSERT_FALSE(HasFailure()) << Logs();

  std::optional<v1::Run> run = WaitForRun(
      run_id, [](const v1::Run& r) { return r.done(); }, absl::Seconds(120));
  ASSERT_TRUE(run.has_value()) << Logs();
  ASSERT_EQ(run->jobs_size(), 1);
  EXPECT_EQ(run->jobs(0).verdict(), v1::VERDICT_PASS) << run->jobs(0).reason() << Logs();
  EXPECT_EQ(run->jobs(0).attempts_size(), 1) << run->jobs(0).DebugString() << Logs();

  EXPECT_EQ(agents_["a1"]->Terminate(), 0) << Logs();
  stub_.reset();
  forward_.reset();
  EXPECT_EQ(coordinator_->Terminate(), 0) << Logs();
}

}  // namespace
}  // namespace mosdat::testing

// Each service binary, started as a real process on loopback: answers the gRPC health
// protocol, serves Prometheus metrics, enforces its token, listens on exactly the ports it
// advertises, serves TLS when given a certificate (and refuses plaintext on a network
// address while requiring a token), and stops cleanly on SIGTERM.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/elf_inspect.h"
#include "core/events.h"
#include "core/net.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/tls.h"
#include "runtime/token_auth.h"
#include "tests/integration/coordinator_calls.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_certs.h"

namespace mosdat::testing {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr const char* kToken = kCoordinatorUserToken;
constexpr const char* kAgentToken = kCoordinatorAgentToken;

struct ServiceCase {
  std::string binary;                 // relative to the build dir
  std::vector<std::string> services;  // full names the binary must report SERVING
  bool requires_token;
  bool coordinator = false;  // hosts the coordinator: needs an agent token and a state dir
};

std::ostream& operator<<(std::ostream& os, const ServiceCase& c) { return os << c.binary; }

HealthCheckResponse::ServingStatus CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& service, grpc::Status* status) {
  auto stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  *status = stub->Check(&context, request, &response);
  return response.status();
}

HealthCheckResponse::ServingStatus CheckHealth(const std::string& address,
                                               const std::string& service, grpc::Status* status) {
  return CheckHealth(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), service,
                     status);
}

// "cli/mosdat serve" → {"<build>/cli/mosdat", "serve"} plus extra arguments.
std::vector<std::string> CommandFor(const ServiceCase& c, std::vector<std::string> extra) {
  std::vector<std::string> argv;
  std::istringstream words(c.binary);
  for (std::string word; words >> word;) argv.push_back(argv.empty() ? BuiltBinary(word) : word);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

class ServiceBinaryTest : public ::testing::TestWithParam<ServiceCase> {
 protected:
  // The binary's command with `extra`, plus what a coordinator needs besides its token
  // (the agents' credential and a results directory of its own).
  std::vector<std::string> Command(std::vector<std::string> extra) {
    if (GetParam().coordinator) {
      extra.push_back("--agent-token=env:MOSDAT_TEST_AGENT_TOKEN");
      extra.push_back("--results-dir=" + dir_.File("results"));
    }
    return CommandFor(GetParam(), extra);
  }
  const std::map<std::string, std::string> env_ = {{"MOSDAT_TEST_TOKEN", kToken},
                                                   {"MOSDAT_TEST_AGENT_TOKEN", kAgentToken}};
  ServiceProcess StartService() {
    return ServiceProcess(Command({"--token=env:MOSDAT_TEST_TOKEN"}), env_);
  }
  TempDir dir_;
};

// One process per binary (stopping one takes ~2 s: civetweb's poll quantum), so health,
// metrics and the clean stop are checked on the same process.
TEST_P(ServiceBinaryTest, AnswersHealthChecksServesMetricsAndStopsOnSigterm) {
  ServiceProcess process = StartService();
  ASSERT_TRUE(process.Start()) << process.stderr_text();
  grpc::Status status;
  EXPECT_EQ(CheckHealth(process.grpc_address(), "", &status), HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
  for (const std::string& service : GetParam().services) {
    EXPECT_EQ(CheckHealth(process.grpc_address(), service, &status), HealthCheckResponse::SERVING)
        << service;
    EXPECT_TRUE(status.ok()) << service << ": " << status.error_message();
  }
  CheckHealth(process.grpc_address(), "no.such.Service", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_GT(process.metrics_port(), 0);
  std::string metrics = HttpGet(process.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("# TYPE mosdat_grpc_requests_total counter"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("method=\"/grpc.health.v1.Health/Check\",service=\""), std::string::npos)
      << metrics;

  EXPECT_EQ(process.Terminate(), 0) << process.stderr_text();
  EXPECT_NE(process.stderr_text().find("stopped"), std::string::npos) << process.stderr_text();
}

// Static thread-local storage is carved from the top of every thread's stack, and the
// /metrics server's (civetweb's) threads have only 100 KiB: a 64 KiB thread_local buffer
// linked into `mosdat` made every scrape of `mosdat serve` overflow and crash it.
TEST_P(ServiceBinaryTest, LeavesTheMetricsServerThreadsTheirStack) {
  const std::string binary = CommandFor(GetParam(), {}).front();
  absl::StatusOr<ElfInspect> elf = ElfInspect::Open(binary);
  ASSERT_TRUE(elf.ok()) << elf.status();
  EXPECT_LE(elf->static_tls_bytes(), 16u * 1024)
      << binary << ": large thread_local objects; allocate them per use instead";
}

// Port 0 picks a free port for gRPC and for metrics, and those two are all it opens:
// gRPC's SO_REUSEPORT used to add a listener per extra poller, on another free port.
TEST_P(ServiceBinaryTest, ListensOnExactlyTheAdvertisedPorts) {
  ServiceProcess process = StartService();
  ASSERT_TRUE(process.Start()) << process.stderr_text();
  absl::StatusOr<std::pair<std::string, int>> grpc_address = ParseHostPort(process.grpc_address());
  ASSERT_TRUE(grpc_address.ok()) << grpc_address.status();
  EXPECT_EQ(ListeningTcpPorts(process.pid()),
            (std::set<int>{grpc_address->second, process.metrics_port()}));
  EXPECT_EQ(process.Terminate(), 0) << process.stderr_text();
}

TEST_P(ServiceBinaryTest, ServesTlsWithTlsCertAndTlsKey) {
  absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  ServiceProcess process(
      Command({"--token=env:MOSDAT_TEST_TOKEN", "--tls-cert=" + (*certs)->server().cert,
               "--tls-key=" + (*certs)->server().key}),
      env_);
  ASSERT_TRUE(process.Start()) << process.stderr_text();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> tls =
      OpenChannel(process.grpc_address(), {.ca_file = (*certs)->ca()});
  ASSERT_TRUE(tls.ok()) << tls.status();
  grpc::Status status;
  EXPECT_EQ(CheckHealth(*tls, GetParam().services.front(), &status), HealthCheckResponse::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
  CheckHealth(process.grpc_address(), "", &status);  // plaintext
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  tls->reset();  // an open connection holds the server's stop for its whole grace period
  EXPECT_EQ(process.Terminate(), 0) << process.stderr_text();
}

// Exit 3 before listening, saying why: plaintext with a token on a network address,
// or a key that is not the certificate's.
TEST_P(ServiceBinaryTest, RefusesPlaintextOnANetworkAddressAndMismatchedTlsFiles) {
  const std::map<std::string, std::string>& env = env_;
  RunResult plaintext = RunCommand(
      Command({"--token=env:MOSDAT_TEST_TOKEN", "--listen=0.0.0.0:0", "--metrics-listen=off"}), env,
      std::chrono::seconds(30));
  EXPECT_EQ(plaintext.exit_code, 3) << plaintext.err;
  EXPECT_THAT(plaintext.err, ::testing::HasSubstr("refusing to listen on 0.0.0.0:0 without TLS"));
  EXPECT_THAT(plaintext.err, ::testing::HasSubstr("--allow-plaintext"));

  absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  RunResult mismatched = RunCommand(
      Command({"--token=env:MOSDAT_TEST_TOKEN", "--listen=127.0.0.1:0", "--metrics-listen=off",
               "--tls-cert=" + (*certs)->server().cert, "--tls-key=" + (*certs)->client().key}),
      env, std::chrono::seconds(30));
  EXPECT_EQ(mismatched.exit_code, 3) << mismatched.err;
  EXPECT_THAT(mismatched.err, ::testing::HasSubstr("does not match the certificate in --tls-cert"));
}

TEST_P(ServiceBinaryTest, ReportsAnUnresolvableTokenWithoutEchoingIt) {
  RunResult result =
      RunCommand(CommandFor(GetParam(), {"--token=env:MOSDAT_UNSET_VARIABLE",
                                         "--listen=127.0.0.1:0", "--metrics-listen=off"}));
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("MOSDAT_UNSET_VARIABLE"), std::string::npos) << result.err;
}

TEST_P(ServiceBinaryTest, RejectsUnknownFlagsWithUsageExitCode) {
  RunResult result = RunCommand(CommandFor(GetParam(), {"--no-such-flag"}));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--no-such-flag"), std::string::npos) << result.err;
}

const ServiceCase kAllBinaries[] = {
    ServiceCase{"coordinator/mosdat-coordinator", {"mosdat.v1.Coordinator"}, true, true},
    ServiceCase{"vnc-agent/mosdat-agent", {"mosdat.v1.Agent"}, true},
    ServiceCase{"vlm-gateway/mosdat-vlm-gateway", {"mosdat.v1.VlmGateway"}, false},
    ServiceCase{"proxmox-bridge/mosdat-proxmox-bridge", {"mosdat.v1.ProxmoxBridge"}, true},
    ServiceCase{"cli/mosdat serve",
                {"mosdat.v1.Coordinator", "mosdat.v1.Agent", "mosdat.v1.VlmGateway",
                 "mosdat.v1.ProxmoxBridge"},
                true,
                true}};

INSTANTIATE_TEST_SUITE_P(ServiceBinaries, ServiceBinaryTest, ::testing::ValuesIn(kAllBinaries),
                         [](const auto& info) {
                           std::string name =
                               info.param.binary.substr(info.param.binary.find('/') + 1);
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// Services that can act on a VM (all but the vlm-gateway) refuse to start without one.
TEST(ServiceTokenTest, ServicesThatActOnVmsRefuseToStartWithoutAToken) {
  for (const ServiceCase& c : kAllBinaries) {
    if (!c.requires_token) continue;
    RunResult result = RunCommand(CommandFor(c, {"--listen=127.0.0.1:0", "--metrics-listen=off"}));
    EXPECT_EQ(result.exit_code, 3) << c.binary;
    EXPECT_NE(result.err.find("needs a token"), std::string::npos) << c.binary << result.err;
  }
}

// The coordinator over real gRPC: agents and users hold different credentials, and
// neither can do the other's part; several agents may drive the same VM.
TEST(CoordinatorBinaryTest, AgentsAndUsersHoldDifferentCredentials) {
  TempDir dir;
  ServiceProcess process(
      {BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:MOSDAT_TEST_TOKEN",
       "--agent-token=env:MOSDAT_AGENT", "--results-dir=" + dir.File("results")},
      {{"MOSDAT_TEST_TOKEN", kToken}, {"MOSDAT_AGENT", kAgentToken}});
  ASSERT_TRUE(process.Start()) << process.stderr_text();
  auto stub = v1::Coordinator::NewStub(
      grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials()));
  v1::RegisterAgentRequest request;
  request.set_agent_id("host-a");
  request.add_vms("fedora");
  v1::RegisterAgentResponse response;
  auto register_with = [&](const std::string& token, const v1::RegisterAgentRequest& r) {
    grpc::ClientContext context;
    if (!token.empty()) AttachToken(context, token);
    return stub->RegisterAgent(&context, r, &response);
  };
  EXPECT_EQ(register_with("", request).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(register_with("wrong", request).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status as_user = register_with(kToken, request);
  EXPECT_EQ(as_user.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(as_user.error_message().find("cannot register agents"), std::string::npos);
  grpc::Status registered = register_with(kAgentToken, request);
  ASSERT_TRUE(registered.ok()) << registered.error_message();
  EXPECT_GT(response.heartbeat_interval_ms(), 0);
  EXPECT_GT(response.lease_timeout_ms(), 0);
  v1::RegisterAgentRequest other = request;
  other.set_agent_id("host-b");  // the same Proxmox VM, reachable from a second host
  EXPECT_TRUE(register_with(kAgentToken, other).ok());
  {
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    v1::ListAgentsResponse agents;
    EXPECT_EQ(stub->ListAgents(&context, {}, &agents).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    grpc::ClientContext cancel_context;
    AttachToken(cancel_context, kAgentToken);
    v1::CancelRunRequest cancel;
    cancel.set_run_id("x");
    v1::CancelRunResponse cancelled;
    EXPECT_EQ(stub->CancelRun(&cancel_context, cancel, &cancelled).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    // A run's evidence (screenshots of what was typed) is for users only.
    grpc::ClientContext evidence_context;
    AttachToken(evidence_context, kAgentToken);
    v1::FetchEvidenceRequest evidence;
    evidence.set_run_id("x");
    v1::FileChunk chunk;
    auto reader = stub->FetchEvidence(&evidence_context, evidence);
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    AttachToken(context, kToken);
    v1::ListAgentsResponse agents;
    ASSERT_TRUE(stub->ListAgents(&context, {}, &agents).ok());
    ASSERT_EQ(agents.agents_size(), 2);
    EXPECT_TRUE(agents.agents(0).alive());
  }
  std::string metrics = HttpGet(process.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("mosdat_coordinator_live_agents 2"), std::string::npos) << metrics;
  EXPECT_EQ(process.Terminate(), 0);
}

// ReportEvents over real gRPC: an agent may send many events before reading any ack;
// every ack comes after its events are stored and acknowledges all before it; a
// refused event ends the stream with the status saying why, after the acks of the
// events before it; re-sent events are acknowledged and stored once; only the agents'
// credential may report.
TEST(CoordinatorBinaryTest, PipelinedEventsAreAcknowledgedCumulativelyAndRefusalsSayWhy) {
  TempDir dir;
  std::unique_ptr<ServiceProcess> coordinator = CoordinatorProcess(dir.File("results"));
  ServiceProcess& process = *coordinator;
  ASSERT_TRUE(process.Start()) << process.stderr_text();
  auto stub = v1::Coordinator::NewStub(
      grpc::CreateChannel(process.grpc_address(), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(RegisterDeskAgent(*stub, "host-a").ok());
  absl::StatusOr<std::string> run_id = SubmitOneJob(*stub);
  ASSERT_TRUE(run_id.ok()) << run_id.status();
  absl::StatusOr<v1::Job> leased = LeaseOne(*stub, "host-a");
  ASSERT_TRUE(leased.ok()) << leased.status();
  const v1::Job job = *leased;
  // Only the agents' credential may report events.
  for (const char* token : {kToken, "wrong"}) {
    grpc::ClientContext context;
    AttachToken(context, token);
    auto stream = stub->ReportEvents(&context);
    stream->Write(LogEvent(job, 1));
    stream->WritesDone();
    v1::EventAck ack;
    EXPECT_FALSE(stream->Read(&ack));
    grpc::Status refused = stream->Finish();
    EXPECT_EQ(refused.error_code(), token == kToken ? grpc::StatusCode::PERMISSION_DENIED
                                                    : grpc::StatusCode::UNAUTHENTICATED)
        << refused.error_message();
  }

  constexpr uint64_t kEvents = 3000;  // more than the coordinator reads ahead (1024)
  {
    // All written before any ack is read; then one out of order.
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    auto stream = stub->ReportEvents(&context);
    for (uint64_t seq = 1; seq <= kEvents; ++seq) ASSERT_TRUE(stream->Write(LogEvent(job, seq)));
    stream->Write(LogEvent(job, kEvents + 2));
    stream->WritesDone();
    uint64_t acked = 0;
    v1::EventAck ack;
    while (stream->Read(&ack)) {
      EXPECT_EQ(ack.job_id(), job.job_id());
      EXPECT_EQ(ack.attempt(), job.attempt());
      EXPECT_GT(ack.seq(), acked) << "acks only move forward";
      acked = ack.seq();
    }
    EXPECT_EQ(acked, kEvents) << "every event before the refused one is acknowledged";
    grpc::Status refused = stream->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find("out of order"), std::string::npos)
        << refused.error_message();
  }
  {
    // A reconnecting agent re-sends from its first unacknowledged event (here: a few
    // before, as if acks were lost), then finishes the job.
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    auto stream = stub->ReportEvents(&context);
    for (uint64_t seq = kEvents - 2; seq <= kEvents; ++seq) {
      ASSERT_TRUE(stream->Write(LogEvent(job, seq)));
    }
    v1::JobEvent finished = LogEvent(job, kEvents + 1);
    finished.mutable_job_finished()->set_verdict(v1::VERDICT_PASS);
    ASSERT_TRUE(stream->Write(finished));
    stream->WritesDone();
    uint64_t acked = 0;
    v1::EventAck ack;
    while (stream->Read(&ack)) acked = ack.seq();
    EXPECT_EQ(acked, kEvents + 1);
    grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  {
    // The job is finished: its lease is gone.
    grpc::ClientContext context;
    AttachToken(context, kAgentToken);
    auto stream = stub->ReportEvents(&context);
    stream->Write(LogEvent(job, kEvents + 2));
    stream->WritesDone();
    v1::EventAck ack;
    EXPECT_FALSE(stream->Read(&ack));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  absl::StatusOr<v1::Run> got = GetRun(*stub, *run_id);
  ASSERT_TRUE(got.ok()) << got.status();
  const v1::Run& run = *got;
  EXPECT_TRUE(run.done());
  EXPECT_EQ(run.verdict(), v1::VERDICT_PASS);
  absl::StatusOr<std::vector<Event>> events =
      ReadEventLog(run.jobs(0).results_dir() + "/events.jsonl");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), kEvents + 1) << "each event stored once";
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].seq, i + 1);
  std::string metrics = HttpGet(process.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("mosdat_events_recorded_total " + std::to_string(kEvents + 4)),
            std::string::npos)
      << "the re-sent events count again as acknowledged:\n"
      << metrics;
  EXPECT_EQ(process.Terminate(), 0);
}

}  // namespace
}  // namespace mosdat::testing

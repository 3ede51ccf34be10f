// TLS between hosts, with certificates made by openssl (test_certs.h): a ServiceHost
// serving TLS to clients that trust its CA and to nobody else, mutual TLS, unusable
// files as clear startup errors, an agent registering with a TLS coordinator as real
// processes, and the CLI refusing to send its token in clear. All on loopback.
#include "runtime/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/service_host.h"
#include "runtime/token_auth.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_certs.h"

namespace mosdat::testing {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// The overall health check over `channel`; OK only when the server says SERVING.
grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, HealthCheckRequest(), &response);
  if (status.ok() && response.status() != HealthCheckResponse::SERVING) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "answered, but not SERVING");
  }
  return status;
}

std::shared_ptr<grpc::Channel> Open(const std::string& target, const ClientTlsOptions& tls) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(target, tls);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestCerts>> made = TestCerts::Create();
    ASSERT_TRUE(made.ok()) << made.status();
    certs_ = std::move(*made).release();
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  // A host with only the health and reflection services, metrics off (quick to stop).
  static std::unique_ptr<ServiceHost> StartHost(const ServerTlsOptions& tls) {
    auto host = std::make_unique<ServiceHost>(ServiceHostOptions{
        .name = "tls-test", .grpc_address = "127.0.0.1:0", .metrics_address = "", .tls = tls});
    absl::Status started = host->Start();
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? std::move(host) : nullptr;
  }

  static ServerTlsOptions ServerTls() {
    return {.cert_file = certs_->server().cert, .key_file = certs_->server().key};
  }

  static TestCerts* certs_;
};

TestCerts* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, AClientTrustingTheServersCaIsServedOverTls) {
  std::unique_ptr<ServiceHost> host = StartHost(ServerTls());
  ASSERT_NE(host, nullptr);
  const std::string port = std::to_string(host->grpc_port());
  // By address and by name: the certificate names both.
  for (const std::string& target : {"127.0.0.1:" + port, "localhost:" + port}) {
    grpc::Status status = CheckHealth(Open(target, {.ca_file = certs_->ca()}));
    EXPECT_TRUE(status.ok()) << target << ": " << status.error_message();
  }
  // A plaintext client does not get an answer from a TLS server.
  grpc::Status plaintext = CheckHealth(Open("127.0.0.1:" + port, {}));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, AClientTrustingAnotherCaFailsWithAClearError) {
  std::unique_ptr<ServiceHost> host = StartHost(ServerTls());
  ASSERT_NE(host, nullptr);
  grpc::Status status = CheckHealth(Open(host->grpc_target(), {.ca_file = certs_->other_ca()}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("certificate verify failed"));
}

TEST_F(TlsTest, MutualTlsRefusesAClientWithoutACertificateAndServesOneWithIt) {
  ServerTlsOptions tls = ServerTls();
  tls.client_ca_file = certs_->ca();
  std::unique_ptr<ServiceHost> host = StartHost(tls);
  ASSERT_NE(host, nullptr);
  grpc::Status without = CheckHealth(Open(host->grpc_target(), {.ca_file = certs_->ca()}));
  EXPECT_EQ(without.error_code(), grpc::StatusCode::UNAVAILABLE);
  grpc::Status with = CheckHealth(Open(host->grpc_target(), {.ca_file = certs_->ca(),
                                                             .cert_file = certs_->client().cert,
                                                             .key_file = certs_->client().key}));
  EXPECT_TRUE(with.ok()) << with.error_message();
}

TEST_F(TlsTest, UnusableCertificateFilesAreStartupErrorsThatNameTheFlag) {
  auto start = [](const ServerTlsOptions& tls) {
    ServiceHost host({.name = "tls-test", .metrics_address = "", .tls = tls});
    return host.Start();
  };
  // The client's key with the server's certificate.
  absl::Status mismatched =
      start({.cert_file = certs_->server().cert, .key_file = certs_->client().key});
  EXPECT_EQ(mismatched.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatched.message(),
              HasSubstr("--tls-key " + certs_->client().key +
                        " does not match the certificate in --tls-cert " + certs_->server().cert));
  // A key where the certificate should be.
  absl::Status not_a_cert =
      start({.cert_file = certs_->server().key, .key_file = certs_->server().key});
  EXPECT_THAT(not_a_cert.message(),
              HasSubstr("--tls-cert " + certs_->server().key + ": no PEM certificate in it"));
  // An encrypted key, which gRPC cannot use.
  const std::string encrypted = certs_->dir() + "/encrypted.key";
  ASSERT_EQ(RunCommand({"openssl", "pkey", "-in", certs_->server().key, "-aes256", "-passout",
                        "pass:secret", "-out", encrypted})
                .exit_code,
            0);
  absl::Status locked = start({.cert_file = certs_->server().cert, .key_file = encrypted});
  EXPECT_THAT(locked.message(), HasSubstr("the key is encrypted"));
  absl::Status no_client_ca = start({.cert_file = certs_->server().cert,
                                     .key_file = certs_->server().key,
                                     .client_ca_file = certs_->dir() + "/missing.pem"});
  EXPECT_THAT(no_client_ca.message(), HasSubstr("--tls-client-ca: cannot read"));

  // The client side checks its pair the same way.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> client =
      OpenChannel("127.0.0.1:1", {.ca_file = certs_->ca(),
                                  .cert_file = certs_->client().cert,
                                  .key_file = certs_->server().key});
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(),
              HasSubstr("--tls-key " + certs_->server().key +
                        " does not match the certificate in --tls-cert"));
}

// Real processes: a coordinator serving mutual TLS on loopback, and an agent that
// registers with it through --coordinator-tls-ca/-cert/-key.
TEST_F(TlsTest, AnAgentRegistersWithACoordinatorOverMutualTls) {
  constexpr char kToken[] = "tls-test-token-0123456789";
  constexpr char kAgentToken[] = "tls-test-agent-token-0123456789";
  TempDir results;
  ServiceProcess coordinator(
      {BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:T", "--agent-token=env:A",
       "--results-dir=" + results.File("results"), "--tls-cert=" + certs_->server().cert,
       "--tls-key=" + certs_->server().key, "--tls-client-ca=" + certs_->ca()},
      {{"T", kToken}, {"A", kAgentToken}});
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();
  EXPECT_THAT(coordinator.stderr_text(), HasSubstr("TLS, client certificates required"));

  ServiceProcess agent(
      {BuiltBinary("vnc-agent/mosdat-agent"), "--token=env:T",
       "--coordinator=" + coordinator.grpc_address(), "--coordinator-token=env:A",
       "--coordinator-tls-ca=" + certs_->ca(), "--coordinator-tls-cert=" + certs_->client().cert,
       "--coordinator-tls-key=" + certs_->client().key, "--vm=tls-vm",
       // With a client certificate, an agent is the name the certificate gives it.
       "--agent-id=client"},
      {{"T", kToken}, {"A", kAgentToken}});
  ASSERT_TRUE(agent.Start()) << agent.stderr_text();  // ready = registered

  auto stub = v1::Coordinator::NewStub(
      Open(coordinator.grpc_address(), {.ca_file = certs_->ca(),
                                        .cert_file = certs_->client().cert,
                                        .key_file = certs_->client().key}));
  grpc::ClientContext context;
  AttachToken(context, kToken);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListAgentsResponse agents;
  grpc::Status status = stub->ListAgents(&context, {}, &agents);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(agents.agents_size(), 1);
  EXPECT_EQ(agents.agents(0).agent_id(), "client");
  stub.reset();  // an open connection would hold the server's stop for its grace period
  EXPECT_EQ(agent.Terminate(), 0) << agent.stderr_text();
  EXPECT_EQ(coordinator.Terminate(), 0) << coordinator.stderr_text();
}

// The CLI refuses before connecting. 0.0.0.0 is outside the loopback rule, yet a
// connection to it (were the refusal broken) would stay on this machine.
TEST(TlsCliTest, RefusesToSendTheTokenInClearToAnotherHost) {
  RunResult result = RunCommand({BuiltBinary("cli/mosdat"), "functional", "--config",
                                 SourcePath("examples/local-gtk3.toml"), "--test", "widget-factory",
                                 "--coordinator", "0.0.0.0:1", "--token", "env:MOSDAT_TEST_TOKEN"},
                                {{"MOSDAT_TEST_TOKEN", "cli-tls-test-token"}});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("refusing to send the token in clear to 0.0.0.0; pass "
                                    "--tls-ca FILE, or --allow-plaintext on a trusted network"));
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("cli-tls-test-token")));

  for (const char* command : {"functional", "visual", "atspi-dump", "replay"}) {
    RunResult help = RunCommand({BuiltBinary("cli/mosdat"), command, "--help"});
    for (const char* flag : {"--tls-ca", "--tls-cert", "--tls-key", "--allow-plaintext"}) {
      EXPECT_THAT(help.out, HasSubstr(flag)) << command;
    }
  }
}

}  // namespace
}  // namespace mosdat::testing

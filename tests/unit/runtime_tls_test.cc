// The plaintext rules of runtime/tls.h: which targets stay on this machine, when a
// client refuses to send its token in clear, and when a server refuses to listen in
// clear. Nothing here connects anywhere: the refusals happen before any channel exists.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/tls.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;

TEST(TlsRulesTest, LoopbackTargetsAreTheLoopbackRangeLocalhostAndUnixSockets) {
  for (const char* target :
       {"127.0.0.1:50151", "127.9.8.7:1", "localhost:50151", "[::1]:50151", "unix:/run/m.sock",
        "unix-abstract:mosdat", "dns:///localhost:50151", "dns://10.0.0.53/127.0.0.1:1",
        "ipv4:127.0.0.1:1,127.0.0.2:2", "ipv6:[::1]:1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackTarget(target)) << target;
  }
  for (const char* target :
       {"192.0.2.7:50151", "0.0.0.0:50151", "[::]:50151", "coordinator.example:50151",
        "dns:///coordinator.example:50151", "ipv4:127.0.0.1:1,192.0.2.7:2", "[2001:db8::1]:50151",
        "2001:db8::1", ":50151", ""}) {
    EXPECT_FALSE(IsLoopbackTarget(target)) << target;
  }
}

TEST(TlsRulesTest, ATokenGoesInClearOnlyToLoopbackOrWhenPlaintextIsAllowed) {
  ClientTlsOptions plaintext;
  absl::Status refused = CheckClientPlaintext("192.0.2.7:50151", plaintext, /*sends_token=*/true);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("refusing to send the token in clear to 192.0.2.7; "
                                           "pass --tls-ca FILE, or --allow-plaintext on a "
                                           "trusted network"));
  EXPECT_TRUE(CheckClientPlaintext("127.0.0.1:50151", plaintext, true).ok());
  EXPECT_TRUE(CheckClientPlaintext("192.0.2.7:50151", plaintext, /*sends_token=*/false).ok());
  EXPECT_TRUE(CheckClientPlaintext("192.0.2.7:50151", {.allow_plaintext = true}, true).ok());
  EXPECT_TRUE(CheckClientPlaintext("192.0.2.7:50151", {.ca_file = "ca.pem"}, true).ok());

  // The message names the flags as the user spells them for this peer.
  ClientTlsOptions agent{.flag_prefix = "--coordinator-tls"};
  EXPECT_THAT(CheckClientPlaintext("[2001:db8::1]:50151", agent, true).message(),
              HasSubstr("in clear to 2001:db8::1; pass --coordinator-tls-ca FILE"));
}

TEST(TlsRulesTest, OpenChannelRefusesBeforeCreatingAChannel) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel("192.0.2.7:50151", {});
  ASSERT_FALSE(channel.ok());
  EXPECT_THAT(channel.status().message(), HasSubstr("refusing to send the token in clear"));
  // Allowed: a channel exists (and, as gRPC channels are lazy, has not connected).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> allowed =
      OpenChannel("192.0.2.7:50151", {.allow_plaintext = true});
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ((*allowed)->GetState(/*try_to_connect=*/false), GRPC_CHANNEL_IDLE);
}

TEST(TlsRulesTest, OpenChannelNamesTheFlagOfAMissingOrIncompleteTlsFile) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> missing =
      OpenChannel("127.0.0.1:1", {.ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("--tls-ca: cannot read /nonexistent/ca.pem"));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> no_ca = OpenChannel(
      "127.0.0.1:1",
      {.cert_file = "client.pem", .key_file = "client.key", .flag_prefix = "--bridge-tls"});
  ASSERT_FALSE(no_ca.ok());
  EXPECT_THAT(no_ca.status().message(), HasSubstr("need --bridge-tls-ca FILE"));
}

TEST(TlsRulesTest, AServerListensInClearOnANetworkOnlyWithoutATokenOrWhenAllowed) {
  absl::Status refused = CheckServerPlaintext("0.0.0.0:50151", /*tls=*/false,
                                              /*requires_token=*/true, /*allow_plaintext=*/false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("refusing to listen on 0.0.0.0:50151 without TLS"));
  EXPECT_THAT(refused.message(), HasSubstr("would cross the network in clear"));
  EXPECT_THAT(refused.message(), HasSubstr("--tls-cert FILE --tls-key FILE, or --allow-plaintext"));
  EXPECT_TRUE(CheckServerPlaintext("127.0.0.1:50151", false, true, false).ok());
  EXPECT_TRUE(CheckServerPlaintext("[::1]:0", false, true, false).ok());
  EXPECT_TRUE(CheckServerPlaintext("0.0.0.0:50151", /*tls=*/true, true, false).ok());
  EXPECT_TRUE(CheckServerPlaintext("0.0.0.0:50151", false, /*requires_token=*/false, false).ok());
  EXPECT_TRUE(CheckServerPlaintext("0.0.0.0:50151", false, true, /*allow_plaintext=*/true).ok());
}

TEST(TlsRulesTest, ServerTlsNeedsBothCertificateAndKey) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> half =
      MakeServerCredentials({.cert_file = "server.pem"});
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), HasSubstr("--tls-cert and --tls-key go together"));
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> missing =
      MakeServerCredentials({.cert_file = "/nonexistent/server.pem", .key_file = "server.key"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("--tls-cert: cannot read /nonexistent/server.pem: No such file"));
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ca_only =
      MakeServerCredentials({.client_ca_file = "ca.pem"});
  ASSERT_FALSE(ca_only.ok());
  EXPECT_THAT(ca_only.status().message(),
              HasSubstr("--tls-client-ca needs --tls-cert and --tls-key"));
  EXPECT_TRUE(MakeServerCredentials({}).ok());
}

}  // namespace
}  // namespace mosdat

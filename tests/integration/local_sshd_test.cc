// LocalSshd against the real /usr/sbin/sshd: session_env reaches commands (through
// sshd_config SetEnv, overriding sshd's own HOME), bad names and values are refused
// before anything starts, and Restart() keeps the port and the pinned host key.
#include "vnc-agent/local/local_sshd.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "tests/integration/subprocess.h"
#include "vnc-agent/guest/ssh_session.h"

namespace mosdat {
namespace {

using ::mosdat::testing::TempDir;

class LocalSshdTest : public ::testing::Test {
 protected:
  std::unique_ptr<LocalSshd> StartOrDie(std::map<std::string, std::string> session_env = {},
                                        const std::string& dir = "") {
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd = LocalSshd::Start(
        {.dir = dir.empty() ? dir_.path() : dir, .session_env = std::move(session_env)});
    EXPECT_TRUE(sshd.ok()) << sshd.status();
    return sshd.ok() ? std::move(*sshd) : nullptr;
  }

  std::unique_ptr<SshSession> ConnectOrDie(const LocalSshd& sshd) {
    absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(sshd.ClientOptions());
    EXPECT_TRUE(session.ok()) << session.status() << "\nsshd log:\n" << sshd.log();
    return session.ok() ? std::move(*session) : nullptr;
  }

  TempDir dir_;
};

TEST_F(LocalSshdTest, SessionEnvReachesCommandsWithPinnedHostKey) {
  std::unique_ptr<LocalSshd> sshd =
      StartOrDie({{"MOSDAT_PROBE", "a b,c=d"},
                  {"HOME", "/tmp/some-dir"},
                  {"MOSDAT_TRICKY", "back\\slash 'single' #hash\ttab  trailing  "},
                  {"MOSDAT_EMPTY", ""}});
  ASSERT_NE(sshd, nullptr);
  SshOptions options = sshd->ClientOptions();
  EXPECT_EQ(options.host_key_fingerprint, sshd->host_key().fingerprint);
  EXPECT_EQ(options.host_key_fingerprint.rfind("SHA256:", 0), 0u);
  EXPECT_TRUE(options.known_hosts_path.empty());
  EXPECT_EQ(options.port, sshd->port());
  EXPECT_EQ(options.user, sshd->user());
  EXPECT_EQ(options.private_key_path, sshd->client_key_path());

  std::unique_ptr<SshSession> session = ConnectOrDie(*sshd);
  ASSERT_NE(session, nullptr);
  // HOME is one sshd sets itself (from passwd): SetEnv must win.
  absl::StatusOr<SshExecResult> result =
      session->Exec("printf %s \"$MOSDAT_PROBE|$HOME\"", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "a b,c=d|/tmp/some-dir") << result->err;
  EXPECT_EQ(result->exit_code, 0);

  result = session->Exec("printf %s \"$MOSDAT_TRICKY\"; printf '|%s' \"${MOSDAT_EMPTY-unset}\"",
                         absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "back\\slash 'single' #hash\ttab  trailing  |") << result->err;
}

TEST_F(LocalSshdTest, InvalidSessionEnvIsRefused) {
  for (const std::string name : {"1ABC", "A-B", "A B", "A=B", "", "\xc3\xa9"}) {
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
        LocalSshd::Start({.dir = dir_.path(), .session_env = {{name, "x"}}});
    EXPECT_EQ(sshd.status().code(), absl::StatusCode::kInvalidArgument)
        << "name \"" << name << "\": " << sshd.status();
  }
  for (const std::string value : {"say \"hi\"", "two\nlines", "cr\r"}) {
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
        LocalSshd::Start({.dir = dir_.path(), .session_env = {{"GOOD_NAME_1", value}}});
    EXPECT_EQ(sshd.status().code(), absl::StatusCode::kInvalidArgument)
        << "value \"" << value << "\": " << sshd.status();
    EXPECT_NE(sshd.status().message().find("GOOD_NAME_1"), absl::string_view::npos)
        << sshd.status();
  }
  // Refused before anything was generated or started.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path()));

  // sshd would expand "%h" in AuthorizedKeysFile.
  ASSERT_TRUE(std::filesystem::create_directory(dir_.File("100%h")));
  for (const std::string& dir : {dir_.File("missing"), std::string(""), dir_.File("100%h")}) {
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd = LocalSshd::Start({.dir = dir});
    EXPECT_EQ(sshd.status().code(), absl::StatusCode::kInvalidArgument)
        << "dir \"" << dir << "\": " << sshd.status();
  }
}

TEST_F(LocalSshdTest, RestartKeepsPortAndHostKey) {
  // A blank in the directory: the paths in sshd_config are quoted.
  const std::string dir = dir_.File("a dir");
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  std::unique_ptr<LocalSshd> sshd = StartOrDie({}, dir);
  ASSERT_NE(sshd, nullptr);
  EXPECT_EQ(sshd->client_key_path(), dir + "/client_ed25519");
  std::unique_ptr<SshSession> before = ConnectOrDie(*sshd);
  ASSERT_NE(before, nullptr);
  const int port = sshd->port();
  const std::string fingerprint = sshd->host_key().fingerprint;

  absl::Status restarted = sshd->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_TRUE(sshd->running());
  EXPECT_EQ(sshd->port(), port);
  EXPECT_EQ(sshd->host_key().fingerprint, fingerprint);
  // The old connection died with the old server.
  EXPECT_EQ(before->Exec("true", absl::Seconds(20)).status().code(),
            absl::StatusCode::kUnavailable);

  std::unique_ptr<SshSession> after = ConnectOrDie(*sshd);  // pinned to `fingerprint`
  ASSERT_NE(after, nullptr);
  absl::StatusOr<SshExecResult> result = after->Exec("echo back", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "back\n");

  sshd->Stop();
  EXPECT_FALSE(sshd->running());
  EXPECT_FALSE(SshSession::Connect(sshd->ClientOptions()).ok());
}

}  // namespace
}  // namespace mosdat

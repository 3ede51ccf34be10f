// GuestSession against a real sshd on loopback: the helper is uploaded only when the
// guest's copy differs from the embedded one, and shell/launch basics.
#include "vnc-agent/guest/guest_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/file_util.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/guest/guest_helper.h"
#include "vnc-agent/local/local_sshd.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

class GuestSessionTest : public ::testing::Test {
 protected:
  // A private HOME for the guest side, so ~/.cache/mosdat is this test's own.
  void SetUp() override {
    home_ = dir_.File("home");
    std::filesystem::create_directories(home_);
    absl::StatusOr<std::unique_ptr<LocalSshd>> sshd =
        LocalSshd::Start({.dir = dir_.path(), .session_env = {{"HOME", home_}}});
    ASSERT_TRUE(sshd.ok()) << sshd.status();
    sshd_ = std::move(*sshd);
  }

  // A session whose HOME (and so ~/.cache/mosdat) is private to this test.
  std::unique_ptr<GuestSession> Connect() {
    GuestOptions options;
    options.ssh = sshd_->ClientOptions();
    options.log = [this](const std::string& text) { log_.push_back(text); };
    absl::StatusOr<std::unique_ptr<GuestSession>> session = GuestSession::Connect(options);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? std::move(*session) : nullptr;
  }

  absl::Status Ping(GuestSession& session) {
    return session.WithAtspi(
        [](AtspiClient& client) { return client.Ping(absl::Seconds(30)).status(); });
  }

  int Installs() const {
    int n = 0;
    for (const std::string& line : log_) n += line.find("installed the AT-SPI helper") == 0;
    return n;
  }

  std::string HelperPathOnGuest() { return home_ + "/.cache/mosdat/mosdat_atspi_helper.py"; }

  TempDir dir_;
  std::string home_;
  std::unique_ptr<LocalSshd> sshd_;
  std::vector<std::string> log_;
};

TEST_F(GuestSessionTest, ShipsTheHelperOnlyWhenTheGuestCopyDiffers) {
  {
    std::unique_ptr<GuestSession> session = Connect();
    ASSERT_NE(session, nullptr);
    // Start from a guest copy that is not ours.
    absl::StatusOr<SshExecResult> spoil = session->Shell(
        "mkdir -p ~/.cache/mosdat && echo 'print(1)' > ~/.cache/mosdat/mosdat_atspi_helper.py",
        false, absl::Seconds(30));
    ASSERT_TRUE(spoil.ok()) << spoil.status();
    ASSERT_TRUE(Ping(*session).ok());
    EXPECT_EQ(Installs(), 1);
    EXPECT_EQ(ReadFileOrEmpty(HelperPathOnGuest()), std::string(AtspiHelperSource()));
    EXPECT_EQ(session->helper_starts(), 1);
    EXPECT_GT(session->helper_pid(), 0);
  }
  {
    std::unique_ptr<GuestSession> session = Connect();  // same guest, same copy
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(Ping(*session).ok());
    EXPECT_EQ(Installs(), 1) << "an identical helper was uploaded again";
  }
}

TEST_F(GuestSessionTest, ShellHonoursTheX11PreambleOnlyWhenAsked) {
  std::unique_ptr<GuestSession> session = Connect();
  ASSERT_NE(session, nullptr);
  const std::string probe = "echo \"display=${DISPLAY:-unset} gdk=${GDK_BACKEND:-unset}\"";
  absl::StatusOr<SshExecResult> plain = session->Shell(probe, false, absl::Seconds(30));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->out, "display=unset gdk=unset\n");
  absl::StatusOr<SshExecResult> x11 = session->Shell(probe, true, absl::Seconds(30));
  ASSERT_TRUE(x11.ok()) << x11.status();
  EXPECT_EQ(x11->out, "display=:0 gdk=x11\n");
}

TEST_F(GuestSessionTest, ReconnectsWhenTheServerDroppedTheConnection) {
  std::unique_ptr<GuestSession> session = Connect();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(Ping(*session).ok());
  ASSERT_TRUE(sshd_->Restart().ok()) << sshd_->log();  // kills every connection
  // The first command finds the connection dead before sending anything, so it runs
  // on a new connection instead of failing.
  absl::StatusOr<SshExecResult> first = session->Shell("echo one", false, absl::Seconds(30));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->out, "one\n");
  absl::StatusOr<SshExecResult> again = session->Shell("echo two", false, absl::Seconds(30));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->out, "two\n");
  ASSERT_TRUE(Ping(*session).ok());  // and the helper comes back on the new connection
  EXPECT_EQ(session->helper_starts(), 2);
}

TEST(ShellQuoteTest, QuotesForAPosixShell) {
  EXPECT_EQ(ShellQuote("plain"), "'plain'");
  EXPECT_EQ(ShellQuote("it's $HOME"), "'it'\\''s $HOME'");
  EXPECT_EQ(ShellQuote(""), "''");
}

}  // namespace
}  // namespace mosdat::testing

// SshSession against a real OpenSSH sshd on loopback (SshdFixture): exec, upload,
// line-protocol processes, host key verification, client key rejection, reconnect.
#include "vnc-agent/guest/ssh_session.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/net.h"
#include "tests/integration/sshd_fixture.h"

namespace mosdat {
namespace {

using ::mosdat::testing::SshdFixture;
using ::mosdat::testing::SshKeyFiles;

// A Python helper that echoes each stdin line back, prefixed, until stdin ends.
constexpr char kEchoLoop[] =
    "import sys\n"
    "for line in sys.stdin:\n"
    "    sys.stdout.write('echo:' + line)\n";

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string Python(const std::string& script) { return "/usr/bin/python3 -u -c " + Quote(script); }

class SshSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status started = sshd_.Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  std::unique_ptr<SshSession> ConnectOrDie(const SshOptions& options) {
    absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
    EXPECT_TRUE(session.ok()) << session.status() << "\nsshd log:\n" << sshd_.log();
    return session.ok() ? std::move(*session) : nullptr;
  }

  SshdFixture sshd_;
};

TEST_F(SshSessionTest, ExecReturnsStdoutStderrAndExitCode) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(session->connected());
  absl::StatusOr<SshExecResult> result =
      session->Exec("echo out; echo err >&2; exit 3", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_FALSE(result->timed_out);

  // stdin is at EOF: a command reading it ends instead of waiting for the timeout.
  result = session->Exec("cat; echo done", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "done\n");
  EXPECT_EQ(result->exit_code, 0);
}

TEST_F(SshSessionTest, UnicodeAndLargeOutputSurvive) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  const std::string text = "héllo ✓ 日本語 🎉";
  absl::StatusOr<SshExecResult> result = session->Exec(
      "printf '%s\\n' " + Quote(text) + "; printf '%s' " + Quote(text) + " >&2", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, text + "\n");
  EXPECT_EQ(result->err, text);
  EXPECT_EQ(result->exit_code, 0);

  // More than libssh's channel window on both streams at once.
  result =
      session->Exec("head -c 3000000 /dev/zero; head -c 900000 /dev/zero >&2", absl::Seconds(30));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out.size(), 3000000u);
  EXPECT_EQ(result->err.size(), 900000u);
  EXPECT_FALSE(result->truncated);
}

// The VM is untrusted: a command that floods its streams does not fill the agent's
// memory. stdout keeps its first 64 MiB, stderr its last MiB (where the error is).
TEST_F(SshSessionTest, OutputBeyondTheBoundsIsCutNotKept) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  absl::StatusOr<SshExecResult> result = session->Exec(
      "printf first; head -c 70000000 /dev/zero; head -c 3000000 /dev/zero >&2; printf last >&2",
      absl::Seconds(120));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_TRUE(result->truncated);
  EXPECT_EQ(result->out.size(), size_t{64} << 20);
  EXPECT_EQ(result->out.substr(0, 5), "first");
  EXPECT_EQ(result->err.size(), size_t{1} << 20);
  EXPECT_EQ(result->err.substr(result->err.size() - 4), "last");
}

TEST_F(SshSessionTest, DownloadReadsAFileWithinItsBound) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  const std::string path = sshd_.dir() + "/down load.bin";  // a space: SFTP takes it as is
  std::string contents((1 << 20) + 13, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>((i * 31) & 0xff);
  std::ofstream(path, std::ios::binary) << contents;

  absl::StatusOr<std::string> read = session->Download(path, contents.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == contents);

  absl::StatusOr<std::string> too_big = session->Download(path, contents.size() - 1);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kFailedPrecondition) << too_big.status();
  EXPECT_NE(too_big.status().ToString().find("more than"), std::string::npos) << too_big.status();

  absl::StatusOr<std::string> missing = session->Download(sshd_.dir() + "/absent", 100);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();

  absl::StatusOr<std::string> directory = session->Download(sshd_.dir(), 1 << 20);
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kFailedPrecondition) << directory.status();
  // The session still works after the refusals.
  absl::StatusOr<SshExecResult> echo = session->Exec("echo ok", absl::Seconds(20));
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->out, "ok\n");
}

TEST_F(SshSessionTest, TimeoutReturnsQuicklyAndSessionStaysUsable) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  absl::Time start = absl::Now();
  absl::StatusOr<SshExecResult> result =
      session->Exec("echo started; sleep 29.5", absl::Seconds(1));
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->timed_out);
  EXPECT_EQ(result->out, "started\n");
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(4));

  result = session->Exec("echo still here", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "still here\n");

  // The client asked sshd to signal the timed-out command. OpenSSH refuses that for
  // root logins (and logs it); for other users it kills the command's process group.
  if (sshd_.user() == "root") {
    EXPECT_NE(sshd_.log().find("session_signal_req"), std::string::npos) << sshd_.log();
  } else {
    // '[s]' keeps pgrep from matching this shell's own command line.
    result = session->Exec(
        "for i in $(seq 100); do pgrep -f '[s]leep 29.5' >/dev/null || exit 0; sleep 0.05; "
        "done; exit 1",
        absl::Seconds(20));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << "sleep 29.5 still runs";
  }
}

TEST_F(SshSessionTest, ManyExecsReuseOneSession) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  for (int i = 0; i < 40; ++i) {
    absl::StatusOr<SshExecResult> result =
        session->Exec(absl::StrCat("echo ", i, "; exit ", i % 5), absl::Seconds(20));
    ASSERT_TRUE(result.ok()) << "exec " << i << ": " << result.status();
    EXPECT_EQ(result->out, absl::StrCat(i, "\n"));
    EXPECT_EQ(result->exit_code, i % 5);
  }
  // One connection served them all.
  absl::StatusOr<SshExecResult> count = session->Exec(
      absl::StrCat("ss -Htn state established '( sport = :", sshd_.port(), " )' | wc -l"),
      absl::Seconds(20));
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->out, "1\n");
}

TEST_F(SshSessionTest, UploadWritesContentAndModeAndReplacesAtomically) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  const std::string dir = sshd_.dir() + "/upload dir";  // a space, for the quoting
  ASSERT_TRUE(session->Exec("mkdir " + Quote(dir), absl::Seconds(20)).ok());
  const std::string path = dir + "/helper.py";
  static constexpr char kFirst[] = "#!/bin/sh\necho ünïcødé\n\0binary\xff";
  const std::string first(kFirst, sizeof(kFirst) - 1);  // with the NUL and the 0xff
  absl::Status uploaded = session->Upload(path, first, 0750);
  ASSERT_TRUE(uploaded.ok()) << uploaded;

  absl::StatusOr<SshExecResult> mode =
      session->Exec("stat -c %a " + Quote(path), absl::Seconds(20));
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(mode->out, "750\n");
  absl::StatusOr<SshExecResult> content = session->Exec("cat " + Quote(path), absl::Seconds(20));
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->out, first);

  // Replacing an existing file (SFTP v3 rename cannot; the fallback must).
  const std::string second(200000, 'x');
  uploaded = session->Upload(path, second, 0604);
  ASSERT_TRUE(uploaded.ok()) << uploaded;
  mode = session->Exec("stat -c %a " + Quote(path), absl::Seconds(20));
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(mode->out, "604\n");
  content = session->Exec("cat " + Quote(path), absl::Seconds(20));
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->out, second);

  // No temporary files left behind.
  absl::StatusOr<SshExecResult> listing = session->Exec("ls -A " + Quote(dir), absl::Seconds(20));
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->out, "helper.py\n");

  absl::Status missing = session->Upload(sshd_.dir() + "/no/such/dir/file", "x", 0644);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
}

TEST_F(SshSessionTest, UploadFileStreamsALocalFileInPieces) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  // Three 1 MiB read pieces and a partial one, every byte value present.
  const std::string local = sshd_.dir() + "/local package.bin";
  std::string contents((3 << 20) + 7, '\0');
  for (size_t i = 0; i < contents.size(); ++i)
    contents[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  std::ofstream(local, std::ios::binary) << contents;
  const std::string remote = sshd_.dir() + "/uploaded package.bin";
  absl::Status uploaded = session->UploadFile(remote, local, 0640);
  ASSERT_TRUE(uploaded.ok()) << uploaded;
  absl::StatusOr<SshExecResult> same = session->Exec(
      "cmp -- " + Quote(local) + " " + Quote(remote) + " && stat -c %a " + Quote(remote),
      absl::Seconds(20));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->exit_code, 0) << same->out << same->err;
  EXPECT_EQ(same->out, "640\n");

  absl::Status missing = session->UploadFile(sshd_.dir() + "/never", sshd_.dir() + "/absent", 0644);
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition) << missing;
  EXPECT_NE(std::string(missing.message()).find("absent"), std::string::npos) << missing;
  absl::StatusOr<SshExecResult> listing =
      session->Exec("ls -A " + Quote(sshd_.dir()) + " | grep -c never", absl::Seconds(20));
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->out, "0\n");
}

TEST_F(SshSessionTest, ProcessRoundTripsLines) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  absl::StatusOr<std::unique_ptr<SshProcess>> process = session->Start(Python(kEchoLoop));
  ASSERT_TRUE(process.ok()) << process.status();
  for (int i = 0; i < 100; ++i) {
    std::string line = absl::StrCat("{\"id\": ", i, ", \"text\": \"héllo ✓\"}");
    absl::Status written = (*process)->WriteLine(line);
    ASSERT_TRUE(written.ok()) << written;
    absl::StatusOr<std::string> read = (*process)->ReadLine(absl::Seconds(10));
    ASSERT_TRUE(read.ok()) << "line " << i << ": " << read.status();
    EXPECT_EQ(*read, "echo:" + line);
  }
  EXPECT_TRUE((*process)->alive());

  // Nothing to read: DeadlineExceeded after about the timeout.
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> none = (*process)->ReadLine(absl::Milliseconds(300));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kDeadlineExceeded) << none.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));

  // The session still runs commands while the process lives.
  absl::StatusOr<SshExecResult> result = session->Exec("echo side", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "side\n");
  absl::Status written = (*process)->WriteLine("after");
  ASSERT_TRUE(written.ok()) << written;
  absl::StatusOr<std::string> read = (*process)->ReadLine(absl::Seconds(10));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "echo:after");
}

TEST_F(SshSessionTest, ProcessAndExecsShareTheSessionAcrossThreads) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  absl::StatusOr<std::unique_ptr<SshProcess>> process = session->Start(Python(kEchoLoop));
  ASSERT_TRUE(process.ok()) << process.status();
  std::thread helper_user([&process] {
    for (int i = 0; i < 200; ++i) {
      std::string line = absl::StrCat("line ", i);
      absl::Status written = (*process)->WriteLine(line);
      ASSERT_TRUE(written.ok()) << written;
      absl::StatusOr<std::string> read = (*process)->ReadLine(absl::Seconds(20));
      ASSERT_TRUE(read.ok()) << "line " << i << ": " << read.status();
      EXPECT_EQ(*read, "echo:" + line);
    }
  });
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<SshExecResult> result =
        session->Exec(absl::StrCat("echo exec ", i, "; sleep 0.02"), absl::Seconds(20));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->out, absl::StrCat("exec ", i, "\n"));
  }
  helper_user.join();
}

TEST_F(SshSessionTest, ReadLineAfterProcessExitIsUnavailableWithStderr) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  absl::StatusOr<std::unique_ptr<SshProcess>> process =
      session->Start(Python("import sys\n"
                            "sys.stdin.readline()\n"
                            "print('bye')\n"
                            "sys.stderr.write('helper failed: boom\\n')\n"
                            "sys.exit(7)\n"));
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE((*process)->WriteLine("go").ok());
  absl::StatusOr<std::string> line = (*process)->ReadLine(absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "bye");
  absl::StatusOr<std::string> ended = (*process)->ReadLine(absl::Seconds(10));
  EXPECT_EQ(ended.status().code(), absl::StatusCode::kUnavailable) << ended.status();
  EXPECT_NE(ended.status().message().find("boom"), absl::string_view::npos) << ended.status();
  EXPECT_NE(ended.status().message().find("exit code 7"), absl::string_view::npos)
      << ended.status();
  EXPECT_FALSE((*process)->alive());
  EXPECT_EQ((*process)->WriteLine("more").code(), absl::StatusCode::kUnavailable);
}

TEST_F(SshSessionTest, ClosingProcessGivesItEof) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  const std::string marker = sshd_.dir() + "/helper-ended";
  {
    absl::StatusOr<std::unique_ptr<SshProcess>> process = session->Start(
        Python(absl::StrCat("import sys\nsys.stdin.read()\nopen(", "'", marker, "', 'w')\n")));
    ASSERT_TRUE(process.ok()) << process.status();
  }
  // The helper saw EOF and exited; wait for its marker file with a deadline.
  absl::StatusOr<SshExecResult> seen =
      session->Exec(absl::StrCat("for i in $(seq 100); do [ -e ", Quote(marker),
                                 " ] && exit 0; sleep 0.05; done; exit 1"),
                    absl::Seconds(20));
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->exit_code, 0);
}

TEST_F(SshSessionTest, ChangedHostKeyIsRefused) {
  absl::StatusOr<SshKeyFiles> other = sshd_.GenerateKey("other_host_ed25519");
  ASSERT_TRUE(other.ok()) << other.status();
  SshOptions options = sshd_.ClientOptions();
  options.known_hosts_path = sshd_.WriteKnownHosts("known_hosts_other", other->public_key);
  absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kPermissionDenied) << session.status();
  std::string message(session.status().message());
  EXPECT_NE(message.find("CHANGED"), std::string::npos) << message;
  EXPECT_NE(message.find(absl::StrCat("127.0.0.1:", sshd_.port())), std::string::npos) << message;
  EXPECT_NE(message.find(sshd_.host_key_fingerprint()), std::string::npos) << message;
}

TEST_F(SshSessionTest, UnknownHostIsRefused) {
  SshOptions options = sshd_.ClientOptions();
  options.known_hosts_path = sshd_.WriteKnownHosts("known_hosts_empty", "");
  absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kPermissionDenied) << session.status();
  std::string message(session.status().message());
  EXPECT_NE(message.find(absl::StrCat("127.0.0.1:", sshd_.port())), std::string::npos) << message;
  EXPECT_NE(message.find(sshd_.host_key_fingerprint()), std::string::npos) << message;

  // A known_hosts file that does not exist at all is no different.
  options.known_hosts_path = sshd_.dir() + "/no-such-known-hosts";
  session = SshSession::Connect(options);
  EXPECT_EQ(session.status().code(), absl::StatusCode::kPermissionDenied) << session.status();
}

TEST_F(SshSessionTest, PinnedFingerprintIsUsedInsteadOfKnownHosts) {
  SshOptions options = sshd_.ClientOptions();
  options.known_hosts_path = sshd_.WriteKnownHosts("known_hosts_empty", "");
  options.host_key_fingerprint = sshd_.host_key_fingerprint();
  std::unique_ptr<SshSession> session = ConnectOrDie(options);
  ASSERT_NE(session, nullptr);
  absl::StatusOr<SshExecResult> result = session->Exec("echo pinned", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "pinned\n");
}

TEST_F(SshSessionTest, WrongPinnedFingerprintIsRefused) {
  absl::StatusOr<SshKeyFiles> other = sshd_.GenerateKey("other_host_ed25519");
  ASSERT_TRUE(other.ok()) << other.status();
  SshOptions options = sshd_.ClientOptions();  // known_hosts would accept: the pin wins
  options.host_key_fingerprint = other->fingerprint;
  absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kPermissionDenied) << session.status();
  std::string message(session.status().message());
  EXPECT_NE(message.find(sshd_.host_key_fingerprint()), std::string::npos) << message;
  EXPECT_NE(message.find(other->fingerprint), std::string::npos) << message;

  options.host_key_fingerprint = "MD5:00:11";
  EXPECT_EQ(SshSession::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SshSessionTest, WrongClientKeyIsRefused) {
  absl::StatusOr<SshKeyFiles> stranger = sshd_.GenerateKey("stranger_ed25519");
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  SshOptions options = sshd_.ClientOptions();
  options.private_key_path = stranger->private_path;
  absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kPermissionDenied) << session.status();
  std::string message(session.status().message());
  EXPECT_NE(message.find(stranger->private_path), std::string::npos) << message;
  EXPECT_NE(message.find(sshd_.user()), std::string::npos) << message;

  options.private_key_path = sshd_.dir() + "/no-such-key";
  session = SshSession::Connect(options);
  EXPECT_EQ(session.status().code(), absl::StatusCode::kFailedPrecondition) << session.status();
  EXPECT_NE(session.status().message().find("no-such-key"), absl::string_view::npos);
}

TEST_F(SshSessionTest, NothingListeningIsUnavailable) {
  SshOptions options = sshd_.ClientOptions();
  options.port = *PickFreeLoopbackPort();
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<SshSession>> session = SshSession::Connect(options);
  EXPECT_EQ(session.status().code(), absl::StatusCode::kUnavailable) << session.status();
  EXPECT_NE(session.status().message().find(absl::StrCat("127.0.0.1:", options.port)),
            absl::string_view::npos)
      << session.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(SshSessionTest, ReconnectAfterServerRestart) {
  std::unique_ptr<SshSession> session = ConnectOrDie(sshd_.ClientOptions());
  ASSERT_NE(session, nullptr);
  absl::StatusOr<std::unique_ptr<SshProcess>> process = session->Start(Python(kEchoLoop));
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE(session->Exec("true", absl::Seconds(20)).ok());

  absl::Status restarted = sshd_.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_FALSE(session->connected());
  absl::StatusOr<SshExecResult> lost = session->Exec("echo lost", absl::Seconds(20));
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable) << lost.status();
  EXPECT_FALSE((*process)->alive());

  absl::Status reconnected = session->Reconnect();
  ASSERT_TRUE(reconnected.ok()) << reconnected << "\nsshd log:\n" << sshd_.log();
  EXPECT_TRUE(session->connected());
  absl::StatusOr<SshExecResult> result = session->Exec("echo back", absl::Seconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->out, "back\n");
  // The process belonged to the old connection.
  EXPECT_EQ((*process)->ReadLine(absl::Seconds(1)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*process)->WriteLine("x").code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace mosdat

// ConsoleTunnel against real parts: a real Xvnc desktop with VncAuth (LocalDesktop),
// Debian's websockify with TLS in front of it (the stand-in for PVE's vncwebsocket,
// pinned by certificate fingerprint), and the agent's own libvncclient session
// (VncSession) as the local client; plus a raw-socket RFB client for what libvncclient
// does not show (SecurityResult reasons, garbage).
#include "proxmox-bridge/console_tunnel.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "core/file_util.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/tls_websockify.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

extern "C" {
#include <rfb/rfbproto.h>  // rfbEncryptBytes, for the raw client's VncAuth
}

namespace mosdat {
namespace {

constexpr char kVmPassword[] = "secret12";
constexpr Rect kToggle{20, 20, 160, 40};

// A blocking loopback socket with a receive timeout, for speaking RFB by hand.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { close(fd_); }

  bool connected() const { return connected_; }
  bool Send(std::string_view bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
  }
  // Exactly n bytes, or what arrived before EOF/timeout.
  std::string Read(size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += r;
    }
    out.resize(got);
    return out;
  }
  // True when the tunnel closed the connection (EOF) within the receive timeout.
  bool ClosedByPeer() {
    char c;
    for (;;) {
      ssize_t r = recv(fd_, &c, 1, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }

  // RFB 3.8 with VncAuth up to the SecurityResult; returns "" for OK, else the reason.
  std::string Authenticate(const std::string& password) {
    if (Read(12) != "RFB 003.008\n") return "no RFB 3.8 version";
    Send("RFB 003.008\n");
    std::string count = Read(1);
    if (count.size() != 1 || count[0] == 0) return "no security types";
    std::string types = Read(static_cast<uint8_t>(count[0]));
    if (types.find('\x02') == std::string::npos) return "no VncAuth";
    Send(std::string(1, '\x02'));
    std::string challenge = Read(16);
    if (challenge.size() != 16) return "no challenge";
    char key[9] = {};
    std::memcpy(key, password.data(), std::min<size_t>(password.size(), 8));
    rfbEncryptBytes(reinterpret_cast<unsigned char*>(challenge.data()), key);
    Send(challenge);
    std::string result = Read(4);
    if (result.size() != 4) return "no SecurityResult";
    if (result == std::string(4, '\0')) return "";
    std::string length = Read(4);
    if (length.size() != 4) return "failed without a reason";
    uint32_t n = ntohl(*reinterpret_cast<const uint32_t*>(length.data()));
    if (n > 65536) return "an absurd reason length";
    return "failed: " + Read(n);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class ConsoleTunnelTest : public ::testing::Test {
 protected:
  void StartUpstream(bool with_app) {
    LocalDesktopOptions options{.vnc_password = kVmPassword};
    if (with_app) {
      options.app_command = {"/usr/bin/python3",
                             testing::SourcePath("tests/data/apps/fixed_layout.py")};
    }
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(options);
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = std::move(*desktop);
    absl::StatusOr<std::unique_ptr<testing::TlsWebsockify>> ws =
        testing::TlsWebsockify::Start(dir_.path(), desktop_->vnc_port());
    ASSERT_TRUE(ws.ok()) << ws.status();
    websockify_ = std::move(*ws);
  }

  // Options whose open_upstream counts its calls and hands out `vnc_password`.
  ConsoleTunnelOptions Options(std::string vnc_password = kVmPassword) {
    return {.open_upstream = [this, vnc_password]() -> absl::StatusOr<ConsoleUpstream> {
              upstream_calls_++;
              return websockify_->Upstream(vnc_password);
            },
            .handshake_timeout = absl::Seconds(10)};
  }

  std::unique_ptr<ConsoleTunnel> OpenTunnel() {
    absl::StatusOr<std::unique_ptr<ConsoleTunnel>> tunnel = ConsoleTunnel::Open(Options());
    EXPECT_TRUE(tunnel.ok()) << tunnel.status();
    return tunnel.ok() ? std::move(*tunnel) : nullptr;
  }

  absl::StatusOr<std::unique_ptr<VncSession>> ConnectThrough(const ConsoleTunnel& tunnel) {
    return VncSession::Connect({.port = tunnel.local_port(),
                                .password = tunnel.password(),
                                .connect_timeout = absl::Seconds(15),
                                .reconnect_attempts = 0});
  }

  // Polls `condition` until it holds or `timeout` passes.
  template <typename F>
  static bool Eventually(F condition, absl::Duration timeout = absl::Seconds(10)) {
    absl::Time deadline = absl::Now() + timeout;
    while (!condition()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));  // poll interval
    }
    return true;
  }

  testing::TempDir dir_;
  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<testing::TlsWebsockify> websockify_;
  std::atomic<int> upstream_calls_{0};
};

TEST_F(ConsoleTunnelTest, CapturesAndClicksThroughTheTunnelWithItsOwnPassword) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/true));
  std::unique_ptr<ConsoleTunnel> tunnel = OpenTunnel();
  ASSERT_NE(tunnel, nullptr);
  EXPECT_EQ(upstream_calls_, 1) << "Open checks one upstream session";
  EXPECT_EQ(tunnel->local_address(), absl::StrCat("127.0.0.1:", tunnel->local_port()));
  EXPECT_EQ(tunnel->password().size(), 8u);
  EXPECT_NE(tunnel->password(), kVmPassword);

  absl::StatusOr<std::unique_ptr<VncSession>> vnc = ConnectThrough(*tunnel);
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  EXPECT_EQ((*vnc)->width(), 1280);
  EXPECT_EQ((*vnc)->height(), 800);
  EXPECT_EQ(upstream_calls_, 2) << "every local connection gets a fresh upstream session";
  EXPECT_EQ(tunnel->connections_opened(), 1);

  // Wait until the app painted, then click its toggle and see it change.
  Frame frame;
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<Frame> next = (*vnc)->WaitForUpdate(frame.update_seq, absl::Milliseconds(500));
    if (next.ok()) frame = *next;
    return !frame.rgb.empty() && frame.Pixel(5, 5)[0] != 0;
  })) << "the app never painted through the tunnel";
  absl::StatusOr<Frame> before = (*vnc)->CaptureAfterInput(absl::Seconds(5));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE((*vnc)->Click(100, 40).ok());
  Frame latest = *before;
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<Frame> next = (*vnc)->WaitForUpdate(latest.update_seq, absl::Milliseconds(500));
    if (next.ok()) latest = *next;
    return DifferenceRatio(*before, latest, kToggle) >= 0.05;
  })) << "the click did not change the toggle";
  EXPECT_TRUE(tunnel->last_error().ok()) << tunnel->last_error();

  // A second connection at the same time, same password, its own upstream session.
  absl::StatusOr<std::unique_ptr<VncSession>> second = ConnectThrough(*tunnel);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(upstream_calls_, 3);
  EXPECT_EQ(tunnel->connections_opened(), 2);
  EXPECT_TRUE((*second)->CaptureAfterInput(absl::Seconds(5)).ok());
}

TEST_F(ConsoleTunnelTest, AWrongPinFailsAtOpenNamingBothFingerprints) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/false));
  std::string wrong;
  for (int i = 0; i < 32; ++i) absl::StrAppend(&wrong, i ? ":" : "", "AB");
  ConsoleTunnelOptions options = Options();
  options.open_upstream = [&]() -> absl::StatusOr<ConsoleUpstream> {
    ConsoleUpstream upstream = websockify_->Upstream(kVmPassword);
    upstream.trust.fingerprint = wrong;
    return upstream;
  };
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> tunnel = ConsoleTunnel::Open(options);
  ASSERT_FALSE(tunnel.ok());
  EXPECT_EQ(tunnel.status().code(), absl::StatusCode::kFailedPrecondition) << tunnel.status();
  EXPECT_NE(tunnel.status().message().find(wrong), absl::string_view::npos) << tunnel.status();
  EXPECT_NE(tunnel.status().message().find(websockify_->fingerprint()), absl::string_view::npos)
      << tunnel.status();

  // With no pin, the self-signed certificate fails CA verification: never trusted blindly.
  options.open_upstream = [&]() -> absl::StatusOr<ConsoleUpstream> {
    ConsoleUpstream upstream = websockify_->Upstream(kVmPassword);
    upstream.trust.fingerprint.clear();
    return upstream;
  };
  tunnel = ConsoleTunnel::Open(options);
  ASSERT_FALSE(tunnel.ok());
  EXPECT_EQ(tunnel.status().code(), absl::StatusCode::kUnavailable) << tunnel.status();
  EXPECT_NE(tunnel.status().message().find("certificate"), absl::string_view::npos)
      << tunnel.status();
}

TEST_F(ConsoleTunnelTest, AWrongUpstreamPasswordIsAClearErrorAtOpenAndForTheLocalClient) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/false));
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> refused = ConsoleTunnel::Open(Options("wrong-pw"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_NE(refused.status().message().find("refused the VNC password"), absl::string_view::npos)
      << refused.status();

  // Without the check at Open, the local client learns it from its SecurityResult.
  ConsoleTunnelOptions options = Options("wrong-pw");
  options.verify_upstream = false;
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> tunnel = ConsoleTunnel::Open(options);
  ASSERT_TRUE(tunnel.ok()) << tunnel.status();
  RawClient client((*tunnel)->local_port());
  ASSERT_TRUE(client.connected());
  std::string result = client.Authenticate((*tunnel)->password());
  EXPECT_TRUE(result.starts_with("failed: console tunnel: ")) << result;
  EXPECT_NE(result.find("refused the VNC password"), std::string::npos) << result;
  EXPECT_EQ((*tunnel)->last_error().code(), absl::StatusCode::kPermissionDenied)
      << (*tunnel)->last_error();
  EXPECT_EQ((*tunnel)->connections_opened(), 0);
}

TEST_F(ConsoleTunnelTest, AWrongLocalPasswordIsRefusedWithoutSpendingATicket) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/false));
  std::unique_ptr<ConsoleTunnel> tunnel = OpenTunnel();
  ASSERT_NE(tunnel, nullptr);
  int calls = upstream_calls_;
  RawClient client(tunnel->local_port());
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.Authenticate(kVmPassword), "failed: wrong password for the console tunnel");
  EXPECT_EQ(upstream_calls_, calls);
  EXPECT_TRUE(Eventually([&] { return !tunnel->last_error().ok(); }));
  EXPECT_EQ(tunnel->last_error().code(), absl::StatusCode::kPermissionDenied);

  RawClient good(tunnel->local_port());
  EXPECT_EQ(good.Authenticate(tunnel->password()), "");
}

TEST_F(ConsoleTunnelTest, GarbageFromALocalClientIsRecordedAndTheTunnelKeepsServing) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/false));
  std::unique_ptr<ConsoleTunnel> tunnel = OpenTunnel();
  ASSERT_NE(tunnel, nullptr);
  {
    RawClient http(tunnel->local_port());
    ASSERT_TRUE(http.connected());
    http.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(http.ClosedByPeer());
  }
  EXPECT_TRUE(Eventually([&] { return !tunnel->last_error().ok(); }));
  EXPECT_NE(tunnel->last_error().message().find("does not speak RFB"), absl::string_view::npos)
      << tunnel->last_error();
  {
    // A valid version, then a security type that was not offered.
    RawClient client(tunnel->local_port());
    EXPECT_EQ(client.Read(12), "RFB 003.008\n");
    client.Send("RFB 003.008\n");
    EXPECT_EQ(client.Read(2), std::string("\x01\x02", 2));
    client.Send(std::string("\x7f\xff\xff\xff garbage", 12));
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    // Random bytes of every kind, and a client that leaves mid-handshake.
    std::string noise;
    for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) & 0xFF);
    RawClient client(tunnel->local_port());
    client.Send(noise);
    EXPECT_TRUE(client.ClosedByPeer());
    RawClient leaver(tunnel->local_port());
    leaver.Send("RFB 003.0");
  }
  absl::StatusOr<std::unique_ptr<VncSession>> vnc = ConnectThrough(*tunnel);
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  EXPECT_TRUE((*vnc)->CaptureAfterInput(absl::Seconds(5)).ok());
}

TEST_F(ConsoleTunnelTest, AnUpstreamKilledMidSessionEndsTheClientAndANewConnectionWorksAgain) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/false));
  std::unique_ptr<ConsoleTunnel> tunnel = OpenTunnel();
  ASSERT_NE(tunnel, nullptr);
  absl::StatusOr<std::unique_ptr<VncSession>> vnc = ConnectThrough(*tunnel);
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  ASSERT_TRUE((*vnc)->CaptureAfterInput(absl::Seconds(5)).ok());

  websockify_->Kill();
  EXPECT_TRUE(Eventually([&] { return !(*vnc)->connected(); }))
      << "the local client did not notice the upstream going away";
  EXPECT_TRUE(Eventually([&] { return tunnel->active_connections() == 0; }));
  EXPECT_EQ(tunnel->last_error().code(), absl::StatusCode::kUnavailable) << tunnel->last_error();
  EXPECT_NE(tunnel->last_error().message().find("ended the session"), absl::string_view::npos)
      << tunnel->last_error();

  // While it is down, a local client is told why.
  {
    RawClient client(tunnel->local_port());
    std::string result = client.Authenticate(tunnel->password());
    EXPECT_NE(result.find("cannot connect to the Proxmox console"), std::string::npos) << result;
  }

  ASSERT_TRUE(websockify_->Restart().ok());
  int calls = upstream_calls_;
  absl::StatusOr<std::unique_ptr<VncSession>> again = ConnectThrough(*tunnel);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(upstream_calls_, calls + 1);
  EXPECT_TRUE((*again)->CaptureAfterInput(absl::Seconds(5)).ok());
  EXPECT_EQ(tunnel->connections_opened(), 2);
}

TEST_F(ConsoleTunnelTest, CloseWithAClientConnectedReturnsPromptlyAndFreesThePort) {
  ASSERT_NO_FATAL_FAILURE(StartUpstream(/*with_app=*/false));
  std::unique_ptr<ConsoleTunnel> tunnel = OpenTunnel();
  ASSERT_NE(tunnel, nullptr);
  absl::StatusOr<std::unique_ptr<VncSession>> vnc = ConnectThrough(*tunnel);
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  RawClient half_open(tunnel->local_port());  // one more, stuck in the handshake
  ASSERT_TRUE(half_open.connected());
  int port = tunnel->local_port();

  absl::Time start = absl::Now();
  tunnel->Close();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(RawClient(port).connected()) << "the port still accepts after Close()";
  EXPECT_TRUE(Eventually([&] { return !(*vnc)->connected(); }));
  EXPECT_TRUE(half_open.ClosedByPeer());
  tunnel->Close();  // idempotent
}

TEST_F(ConsoleTunnelTest, OpenUpstreamErrorsAndAMissingCallbackAreReported) {
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> none = ConsoleTunnel::Open({});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<ConsoleTunnel>> failing =
      ConsoleTunnel::Open({.open_upstream = []() -> absl::StatusOr<ConsoleUpstream> {
        return absl::PermissionDeniedError("vncproxy: HTTP 403 Permission check failed");
      }});
  EXPECT_EQ(failing.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(failing.status().message().find("vncproxy"), absl::string_view::npos);
}

}  // namespace
}  // namespace mosdat

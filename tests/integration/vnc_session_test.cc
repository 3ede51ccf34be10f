// VncSession against a real Xvnc desktop running a real GTK3 window with widgets at
// fixed places (tests/data/apps/fixed_layout.py), and against hostile servers.
#include "vnc-agent/rfb/vnc_session.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rfb/keysym.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file_util.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/keysyms.h"

namespace mosdat {
namespace {

constexpr Rect kToggle{20, 20, 160, 40};
constexpr Rect kEntry{20, 80, 300, 36};
constexpr Rect kAway{600, 600, 1, 1};  // outside the window

class VncSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
        {.app_command = {"/usr/bin/python3",
                         testing::SourcePath("tests/data/apps/fixed_layout.py")}});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = std::move(*desktop);
    absl::StatusOr<std::unique_ptr<VncSession>> session =
        VncSession::Connect({.port = desktop_->vnc_port(), .password = desktop_->vnc_password()});
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
    // A mapped window is not yet a painted one: wait until the app drew its background.
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    Frame frame;
    do {
      absl::StatusOr<Frame> next =
          session_->WaitForUpdate(frame.update_seq, absl::Milliseconds(500));
      if (next.ok()) frame = *next;
    } while ((frame.rgb.empty() || frame.Pixel(5, 5)[0] == 0) && absl::Now() < deadline);
    ASSERT_FALSE(frame.rgb.empty());
    ASSERT_NE(frame.Pixel(5, 5)[0], 0) << "the app never painted its window";
  }

  // Polls the app's stdout until it contains `text` (GTK handles input asynchronously).
  bool AppPrinted(const std::string& text, absl::Duration timeout = absl::Seconds(10)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (ReadFileOrEmpty(desktop_->LogPath(desktop_->app())).find(text) != std::string::npos) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(20));  // poll interval
    }
    return false;
  }

  // Polls fresh frames until `region` differs from `before` by at least `ratio`.
  absl::StatusOr<Frame> WaitForChange(const Frame& before, const Rect& region, double ratio) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    Frame latest = before;
    while (absl::Now() < deadline) {
      absl::StatusOr<Frame> frame =
          session_->WaitForUpdate(latest.update_seq, absl::Milliseconds(500));
      if (frame.ok()) {
        latest = *frame;
        if (DifferenceRatio(before, latest, region) >= ratio) return latest;
      }
    }
    return absl::DeadlineExceededError("region did not change");
  }

  // Polls fresh frames until `region` looks like it does in `reference` (< 1% differs).
  absl::StatusOr<Frame> WaitForLook(const Frame& reference, const Rect& region) {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::StatusOr<Frame> latest = session_->Capture();
    while (latest.ok() && absl::Now() < deadline) {
      if (DifferenceRatio(reference, *latest, region) < 0.01) return latest;
      absl::StatusOr<Frame> next =
          session_->WaitForUpdate(latest->update_seq, absl::Milliseconds(500));
      if (next.ok()) latest = next;
    }
    return absl::DeadlineExceededError("region never matched");
  }

  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<VncSession> session_;
};

TEST_F(VncSessionTest, CapturesTheWholeScreen) {
  EXPECT_EQ(session_->width(), 1280);
  EXPECT_EQ(session_->height(), 800);
  absl::StatusOr<Frame> frame = session_->Capture();
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->rgb.size(), 1280u * 800 * 3);
  absl::StatusOr<std::string> png = EncodePng(*frame);
  ASSERT_TRUE(png.ok());
  absl::StatusOr<Frame> decoded = DecodePng(*png);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(DifferenceRatio(*frame, *decoded, {}), 0.0);
}

TEST_F(VncSessionTest, ClickingAToggleChangesItsPixelsAndState) {
  absl::StatusOr<Frame> before = session_->CaptureAfterInput(absl::Seconds(5));
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(session_->Click(kToggle.x + 80, kToggle.y + 20).ok());
  absl::StatusOr<Frame> after_input = session_->CaptureAfterInput(absl::Seconds(5));
  ASSERT_TRUE(after_input.ok()) << after_input.status();
  EXPECT_EQ(after_input->input_seq, session_->input_seq());
  EXPECT_TRUE(AppPrinted("toggled True"));
  absl::StatusOr<Frame> toggled = WaitForChange(*before, kToggle, 0.05);
  ASSERT_TRUE(toggled.ok()) << "the toggle's pixels never changed";

  ASSERT_TRUE(session_->Click(kToggle.x + 80, kToggle.y + 20).ok());
  EXPECT_TRUE(AppPrinted("toggled False"));
  // Move away so the button is not drawn hovered ("prelight") when compared.
  ASSERT_TRUE(session_->Move(kAway.x, kAway.y).ok());
  // Back to how it looked (the pointer is not drawn into frames: Cursor encoding).
  EXPECT_TRUE(WaitForLook(*before, kToggle).ok()) << "the toggle never looked untoggled again";
}

TEST_F(VncSessionTest, TypesUnicodeTextIntoAnEntry) {
  absl::StatusOr<Frame> before = session_->CaptureAfterInput(absl::Seconds(5));
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(session_->Click(kEntry.x + 150, kEntry.y + 18).ok());
  // Typing before the window manager has moved the focus would lose keys.
  ASSERT_TRUE(WaitForChange(*before, kEntry, 0.001).ok()) << "the entry never took focus";
  ASSERT_TRUE(session_->TypeKeysyms(*KeysymsForText("Hello, World! ~{}|")).ok());
  EXPECT_TRUE(AppPrinted("text Hello, World! ~{}|"))
      << ReadFileOrEmpty(desktop_->LogPath(desktop_->app()));
  // Raw keysyms: the server borrows keycodes for these three (text_typing.h says why
  // the runner does not rely on that).
  ASSERT_TRUE(session_->TypeKeysyms(*KeysymsForText(" café €")).ok());
  EXPECT_TRUE(AppPrinted("text Hello, World! ~{}| café €"));
  EXPECT_TRUE(WaitForChange(*before, kEntry, 0.02).ok()) << "the entry never showed the text";
}

TEST_F(VncSessionTest, SendsKeyCombosWithModifiers) {
  ASSERT_TRUE(session_->Click(kEntry.x + 150, kEntry.y + 18).ok());
  ASSERT_TRUE(session_->PressKey({XK_Control_L, XK_Shift_L}, 'T').ok());
  EXPECT_TRUE(AppPrinted("combo <Primary><Shift>t"))
      << ReadFileOrEmpty(desktop_->LogPath(desktop_->app()));
  ASSERT_TRUE(session_->PressKey({XK_Control_L}, 'a').ok());
  EXPECT_TRUE(AppPrinted("combo <Primary>a"));
  ASSERT_TRUE(session_->PressKey({XK_Alt_L}, XK_F5).ok());
  EXPECT_TRUE(AppPrinted("combo <Alt>F5"));
}

TEST_F(VncSessionTest, HoversClicksDragsAndScrolls) {
  constexpr int kPadX = 20, kPadY = 190;  // the pad is 360x90
  ASSERT_TRUE(session_->Move(kPadX + 50, kPadY + 40).ok());
  EXPECT_TRUE(AppPrinted("hover pad"));
  ASSERT_TRUE(session_->Click(kPadX + 50, kPadY + 40, /*button=*/3).ok());
  EXPECT_TRUE(AppPrinted("press button=3"));
  ASSERT_TRUE(session_->Click(kPadX + 60, kPadY + 40, /*button=*/1, /*count=*/2).ok());
  EXPECT_TRUE(AppPrinted("double button=1"));
  ASSERT_TRUE(session_->Drag(kPadX + 10, kPadY + 10, kPadX + 300, kPadY + 70).ok());
  EXPECT_TRUE(AppPrinted("drag button=1 from 10,10 to 300,70"));
  ASSERT_TRUE(session_->Scroll(kPadX + 100, kPadY + 40, /*dx=*/0, /*dy=*/2).ok());
  EXPECT_TRUE(AppPrinted("scroll down"));
  ASSERT_TRUE(session_->Scroll(kPadX + 100, kPadY + 40, /*dx=*/0, /*dy=*/-1).ok());
  EXPECT_TRUE(AppPrinted("scroll up")) << ReadFileOrEmpty(desktop_->LogPath(desktop_->app()));
}

TEST_F(VncSessionTest, RejectsPointsOutsideTheScreen) {
  absl::Status status = session_->Click(1280, 10);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "point (1280, 10) is outside the 1280x800 screen");
}

TEST_F(VncSessionTest, ReportsTheServerDyingAsUnavailable) {
  desktop_->Stop();
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (session_->connected() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  EXPECT_FALSE(session_->connected());
  absl::StatusOr<Frame> frame = session_->CaptureAfterInput(absl::Seconds(2));
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kUnavailable) << frame.status();
}

// A listening TCP socket on a free loopback port (*port).
int ListenOnLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  listen(fd, 4);
  return fd;
}

// A TCP server on loopback that answers each connection with fixed bytes, then reads
// until the client goes away.
class HostileServer {
 public:
  explicit HostileServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        (void)!write(client, reply_.data(), reply_.size());
        char buffer[256];
        while (read(client, buffer, sizeof(buffer)) > 0) {
        }
        close(client);
      }
    });
  }
  ~HostileServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(VncHostileServerTest, GarbageInsteadOfAGreetingIsAnErrorNotACrash) {
  HostileServer server("HTTP/1.1 400 Bad Request\r\n\r\n" + std::string(4096, '\xff'));
  absl::StatusOr<std::unique_ptr<VncSession>> session = VncSession::Connect(
      {.port = server.port(), .connect_timeout = absl::Seconds(3), .reconnect_attempts = 0});
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().message().find(absl::StrCat("127.0.0.1:", server.port())),
            std::string::npos)
      << session.status();
}

TEST(VncHostileServerTest, ABogusSecurityHandshakeIsAnErrorNotACrash) {
  // A valid greeting, then 200 security types of garbage and a truncated stream.
  std::string reply = "RFB 003.008\n";
  reply += static_cast<char>(200);
  reply += std::string(50, '\x7f');
  HostileServer server(reply);
  absl::StatusOr<std::unique_ptr<VncSession>> session = VncSession::Connect(
      {.port = server.port(), .connect_timeout = absl::Seconds(3), .reconnect_attempts = 0});
  EXPECT_FALSE(session.ok());
}

TEST(VncHostileServerTest, AHugeFramebufferIsRefused) {
  // Handshake: no security, then ServerInit announcing a 60000x60000 framebuffer.
  std::string reply = "RFB 003.008\n";
  reply += std::string("\x01\x01", 2);          // one security type: None
  reply += std::string("\x00\x00\x00\x00", 4);  // SecurityResult OK
  reply += std::string("\xea\x60\xea\x60", 4);  // width, height = 60000
  reply += std::string("\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\x00\x00\x00", 16);
  reply += std::string("\x00\x00\x00\x04", 4) + "evil";
  HostileServer server(reply);
  absl::StatusOr<std::unique_ptr<VncSession>> session = VncSession::Connect(
      {.port = server.port(), .connect_timeout = absl::Seconds(3), .reconnect_attempts = 0});
  EXPECT_FALSE(session.ok());
}

// A protocol-level RFB server (a stand-in for a VNC server that drops a request): a 4x4
// screen, no security, raw encoding. It answers the connect's full update, does not
// answer the next non-incremental request (as a server does that folds it into an
// update that never comes, or that the connection was re-made after), and answers the
// later ones; incremental requests get nothing. Counts the full requests it read.
class DroppingRfbServer {
 public:
  DroppingRfbServer() {
    fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~DroppingRfbServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (client_ >= 0) shutdown(client_, SHUT_RDWR);
    thread_.join();
    if (client_ >= 0) close(client_);
  }
  int port() const { return port_; }
  int full_requests() const { return full_requests_; }

 private:
  bool Read(size_t n, std::string* out = nullptr) {
    std::string bytes(n, '\0');
    for (size_t got = 0; got < n;) {
      ssize_t r = read(client_, bytes.data() + got, n - got);
      if (r <= 0) return false;
      got += r;
    }
    if (out != nullptr) *out = std::move(bytes);
    return true;
  }
  void Write(const std::string& bytes) { (void)!write(client_, bytes.data(), bytes.size()); }

  void Serve() {
    client_ = accept(fd_, nullptr, nullptr);
    if (client_ < 0) return;
    Write("RFB 003.008\n");
    if (!Read(12)) return;                      // the client's version
    Write(std::string("\x01\x01", 2));          // one security type: None
    if (!Read(1)) return;                       // its choice
    Write(std::string(4, '\0'));                // SecurityResult OK
    if (!Read(1)) return;                       // ClientInit
    Write(std::string("\x00\x04\x00\x04", 4) +  // 4x4, 32 bpp true colour, then a name
          std::string("\x20\x18\x00\x01\x00\xff\x00\xff\x00\xff\x10\x08\x00\x00\x00\x00", 16) +
          std::string("\x00\x00\x00\x04", 4) + "drop");
    for (std::string type; Read(1, &type);) {
      std::string body;
      switch (type[0]) {
        case 0:  // SetPixelFormat
          if (!Read(19)) return;
          break;
        case 2: {  // SetEncodings
          if (!Read(3, &body)) return;
          const int count = (static_cast<uint8_t>(body[1]) << 8) | static_cast<uint8_t>(body[2]);
          if (!Read(4 * count)) return;
          break;
        }
        case 3:  // FramebufferUpdateRequest
          if (!Read(9, &body)) return;
          if (body[0] == 0 && ++full_requests_ != 2) {
            // One raw rectangle covering the 4x4 screen.
            Write(std::string("\x00\x00\x00\x01", 4) +                  // update, 1 rect
                  std::string("\x00\x00\x00\x00\x00\x04\x00\x04", 8) +  // 0,0 4x4
                  std::string(4, '\0') +                                // raw
                  std::string(4 * 4 * 4, '\x40'));
          }
          break;
        case 4:  // KeyEvent
          if (!Read(7)) return;
          break;
        case 5:  // PointerEvent
          if (!Read(5)) return;
          break;
        case 6: {  // ClientCutText
          if (!Read(7, &body)) return;
          const uint32_t n = (static_cast<uint8_t>(body[3]) << 24) |
                             (static_cast<uint8_t>(body[4]) << 16) |
                             (static_cast<uint8_t>(body[5]) << 8) | static_cast<uint8_t>(body[6]);
          if (n > (1u << 20) || !Read(n)) return;
          break;
        }
        default:
          return;
      }
    }
  }

  int fd_ = -1;
  int client_ = -1;
  int port_ = 0;
  std::atomic<int> full_requests_{0};
  std::thread thread_;
};

// The full update asked for after an input is not answered: it is asked for again, and
// the frame comes from the answer to that later request (sent after the input).
TEST(VncDroppedRequestTest, AnUnansweredFullUpdateIsAskedForAgain) {
  DroppingRfbServer server;
  absl::StatusOr<std::unique_ptr<VncSession>> session = VncSession::Connect(
      {.port = server.port(), .connect_timeout = absl::Seconds(5), .reconnect_attempts = 0});
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Click(1, 1).ok());
  absl::StatusOr<Frame> frame = (*session)->CaptureAfterInput(absl::Seconds(10));
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->width, 4);
  EXPECT_GE(server.full_requests(), 3);
}

// Real Xvnc servers that require authentication.
absl::StatusOr<std::unique_ptr<VncSession>> ConnectWithPassword(
    const std::string& security, const std::string& password, std::unique_ptr<LocalDesktop>* keep) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
      {.width = 640, .height = 480, .vnc_password = "s3cret-pw", .security_type = security});
  if (!desktop.ok()) return desktop.status();
  *keep = std::move(*desktop);
  return VncSession::Connect({.port = (*keep)->vnc_port(),
                              .password = password,
                              .connect_timeout = absl::Seconds(10),
                              .reconnect_attempts = 0});
}

TEST(VncAuthTest, VncPasswordAuthentication) {
  std::unique_ptr<LocalDesktop> desktop;
  absl::StatusOr<std::unique_ptr<VncSession>> good =
      ConnectWithPassword("VncAuth", "s3cret-pw", &desktop);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)->width(), 640);
  good->reset();
  absl::StatusOr<std::unique_ptr<VncSession>> bad = VncSession::Connect(
      {.port = desktop->vnc_port(), .password = "wrong", .reconnect_attempts = 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kPermissionDenied) << bad.status();
}

TEST(VncAuthTest, VeNCryptTlsWithVncPassword) {
  std::unique_ptr<LocalDesktop> desktop;
  absl::StatusOr<std::unique_ptr<VncSession>> session =
      ConnectWithPassword("TLSVnc", "s3cret-pw", &desktop);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<Frame> frame = (*session)->Capture();
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->width, 640);
}

// The same password for both servers: a VM that reboots keeps its own.
constexpr char kReconnectPassword[] = "again-pw";

TEST(VncReconnectTest, ReconnectsWhenTheServerComesBack) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> first =
      LocalDesktop::Start({.width = 640, .height = 480, .vnc_password = kReconnectPassword});
  ASSERT_TRUE(first.ok()) << first.status();
  int port = (*first)->vnc_port();
  absl::StatusOr<std::unique_ptr<VncSession>> session =
      VncSession::Connect({.port = port,
                           .password = kReconnectPassword,
                           .reconnect_attempts = 10,
                           .reconnect_backoff = absl::Milliseconds(100)});
  ASSERT_TRUE(session.ok()) << session.status();
  (*first)->Stop();
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((*session)->connected() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_FALSE((*session)->connected());

  // A new server on the same port (e.g. the VM rebooted): the session comes back by itself.
  absl::StatusOr<std::unique_ptr<LocalDesktop>> second = LocalDesktop::Start(
      {.width = 800, .height = 600, .vnc_password = kReconnectPassword, .vnc_port = port});
  ASSERT_TRUE(second.ok()) << second.status();
  while (!(*session)->connected() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE((*session)->connected());
  ASSERT_TRUE((*session)->Click(10, 10).ok());
  absl::StatusOr<Frame> frame = (*session)->CaptureAfterInput(absl::Seconds(5));
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->width, 800);  // the new server's size
}

TEST(VncConnectTest, NothingListeningIsUnavailable) {
  absl::StatusOr<std::unique_ptr<VncSession>> session =
      VncSession::Connect({.port = 1, .connect_timeout = absl::Seconds(2)});
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kUnavailable) << session.status();
}

}  // namespace
}  // namespace mosdat

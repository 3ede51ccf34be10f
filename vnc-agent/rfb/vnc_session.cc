#include "vnc-agent/rfb/vnc_session.h"

#include <rfb/rfbclient.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "vnc-agent/rfb/keysyms.h"

namespace mosdat {
namespace {

// Tag for rfbClientSetClientData.
char kSessionTag;

// The largest framebuffer we accept; a hostile server could ask for gigabytes.
constexpr int kMaxDimension = 16384;

// Encodings, most efficient first: flat UIs compress ~500x with Tight/ZRLE, and the
// Cursor pseudo-encodings (requested via useRemoteCursor) keep the pointer out of frames.
constexpr char kEncodings[] = "tight zrle zlib hextile copyrect raw";

constexpr absl::Duration kReaderWait = absl::Milliseconds(50);
// How long CaptureAfterInput waits for the full update it asked for before asking again.
constexpr absl::Duration kFullUpdateRetry = absl::Seconds(1);

// libvncclient reports errors through a global printf-style hook. The text of the
// last error on this thread is kept so Connect() can say why it failed.
thread_local std::string last_vnc_error;

std::string FormatVncMessage(const char* format, va_list args) {
  char buffer[512];
  vsnprintf(buffer, sizeof(buffer), format, args);
  std::string text(buffer);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

void LogVncMessage(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::string text = FormatVncMessage(format, args);
  va_end(args);
  // Some failures (e.g. "VNC connection failed: Authentication failure") arrive on the
  // informational hook; keep them so Connect() can say why.
  if (text.find("fail") != std::string::npos) last_vnc_error = text;
  spdlog::debug("libvncclient: {}", text);
}

void LogVncError(const char* format, ...) {
  va_list args;
  va_start(args, format);
  last_vnc_error = FormatVncMessage(format, args);
  va_end(args);
  spdlog::warn("libvncclient: {}", last_vnc_error);
}

VncSession* SessionOf(rfbClient* client) {
  return static_cast<VncSession*>(rfbClientGetClientData(client, &kSessionTag));
}

absl::Status ConnectError(const VncOptions& options) {
  std::string where = absl::StrCat(options.host, ":", options.port);
  const std::string& why = last_vnc_error;
  if (why.find("uthentication") != std::string::npos || why.find("password") != std::string::npos) {
    return absl::PermissionDeniedError(
        absl::StrCat("VNC authentication to ", where, " failed: ", why));
  }
  if (why.find("connect") != std::string::npos || why.find("Unable") != std::string::npos ||
      why.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to VNC server ", where, why.empty() ? "" : ": ", why));
  }
  return absl::DataLossError(
      absl::StrCat("VNC server ", where, " did not complete the RFB handshake: ", why));
}

}  // namespace

VncSession::VncSession(VncOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<VncSession>> VncSession::Connect(const VncOptions& options) {
  static std::once_flag hooks;
  std::call_once(hooks, [] {
    rfbClientLog = LogVncMessage;
    rfbClientErr = LogVncError;
    // libvncclient writes with write(2): a server (or console tunnel) that hangs up
    // mid-write would kill the whole process with SIGPIPE instead of failing the write.
    signal(SIGPIPE, SIG_IGN);
  });
  std::unique_ptr<VncSession> session(new VncSession(options));
  {
    std::lock_guard io(session->io_mutex_);
    if (absl::Status s = session->Open(); !s.ok()) return s;
  }
  session->reader_ = std::thread([s = session.get()] { s->ReaderLoop(); });
  // The first full frame arrives in answer to the initial request.
  absl::StatusOr<Frame> first = session->WaitForUpdate(0, options.connect_timeout);
  if (!first.ok()) return first.status();
  return session;
}

VncSession::~VncSession() {
  {
    std::lock_guard state(state_mutex_);
    stopping_ = true;
  }
  state_changed_.notify_all();
  if (reader_.joinable()) reader_.join();
  std::lock_guard io(io_mutex_);
  CloseClient();
}

absl::Status VncSession::Open() {
  last_vnc_error.clear();
  rfbClient* client = rfbGetClient(8, 3, 4);
  if (client == nullptr) return absl::ResourceExhaustedError("rfbGetClient failed");
  rfbClientSetClientData(client, &kSessionTag, this);
  client->serverHost = strdup(options_.host.c_str());  // freed by rfbClientCleanup
  client->serverPort = options_.port;
  client->appData.encodingsString = kEncodings;
  client->appData.useRemoteCursor = TRUE;
  client->appData.compressLevel = 1;
  client->appData.qualityLevel = 9;
  client->canHandleNewFBSize = TRUE;
  client->connectTimeout =
      static_cast<unsigned>(std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout)));
  client->readTimeout = client->connectTimeout;
  client->MallocFrameBuffer = MallocFrameBuffer;
  client->GotFrameBufferUpdate = GotUpdateRect;
  client->FinishedFrameBufferUpdate = FinishedUpdate;
  client->GetPassword = GetPassword;
  client->GetCredential = [](rfbClient* c, int type) -> rfbCredential* {
    VncSession* self = SessionOf(c);
    auto* credential = static_cast<rfbCredential*>(calloc(1, sizeof(rfbCredential)));
    if (type == rfbCredentialTypeUser) {
      credential->userCredential.username = strdup(self->options_.username.c_str());
      credential->userCredential.password = strdup(self->options_.password.c_str());
    } else if (type == rfbCredentialTypeX509) {
      // Verification stays on: without a CA file the server must chain to the system
      // store; libvncclient rejects certificates it cannot verify.
      if (!self->options_.ca_file.empty()) {
        credential->x509Credential.x509CACertFile = strdup(self->options_.ca_file.c_str());
      }
    }
    return credential;
  };
  int argc = 0;
  if (!rfbInitClient(client, &argc, nullptr)) {
    // rfbInitClient already freed the client (and its framebuffer is ours, unset or freed
    // by our MallocFrameBuffer on the next call; see CloseClient).
    return ConnectError(options_);
  }
  client_ = client;
  last_pointer_x_ =
      options_.park_x >= 0 ? std::min(options_.park_x, client->width - 1) : client->width - 1;
  last_pointer_y_ =
      options_.park_y >= 0 ? std::min(options_.park_y, client->height - 1) : client->height - 1;
  SendPointerEvent(client, last_pointer_x_, last_pointer_y_, 0);
  std::lock_guard state(state_mutex_);
  connected_ = true;
  disconnect_reason_.clear();
  width_ = client->width;
  height_ = client->height;
  update_area_ = 0;
  full_update_pending_for_ = 0;
  frame_input_seq_ = 0;
  return absl::OkStatus();
}

void VncSession::CloseClient() {
  if (client_ == nullptr) return;
  free(client_->frameBuffer);  // rfbClientCleanup does not own the framebuffer
  client_->frameBuffer = nullptr;
  rfbClientCleanup(client_);
  client_ = nullptr;
}

int8_t VncSession::MallocFrameBuffer(rfbClient* client) {
  if (client->width <= 0 || client->height <= 0 || client->width > kMaxDimension ||
      client->height > kMaxDimension) {
    rfbClientErr("refusing a %dx%d framebuffer from the server", client->width, client->height);
    return FALSE;
  }
  free(client->frameBuffer);
  size_t bytes =
      static_cast<size_t>(client->width) * client->height * (client->format.bitsPerPixel / 8);
  client->frameBuffer = static_cast<uint8_t*>(calloc(1, bytes));
  if (client->frameBuffer == nullptr) return FALSE;
  if (VncSession* self = SessionOf(client)) {
    std::lock_guard state(self->state_mutex_);
    self->width_ = client->width;
    self->height_ = client->height;
  }
  return TRUE;
}

void VncSession::GotUpdateRect(rfbClient* client, int, int, int w, int h) {
  VncSession* self = SessionOf(client);
  std::lock_guard state(self->state_mutex_);
  self->update_area_ += static_cast<int64_t>(w) * h;
}

void VncSession::FinishedUpdate(rfbClient* client) { SessionOf(client)->OnFinishedUpdate(); }

void VncSession::OnFinishedUpdate() {
  // Called on the reader thread with io_mutex_ held.
  bool request_again = false;
  {
    std::lock_guard state(state_mutex_);
    ++update_seq_;
    if (full_update_pending_for_ != 0 && update_area_ >= static_cast<int64_t>(width_) * height_) {
      frame_input_seq_ = std::max(frame_input_seq_, full_update_pending_for_);
      full_update_pending_for_ = 0;
      request_again = input_seq_ > frame_input_seq_;
      if (request_again) full_update_pending_for_ = input_seq_;
    }
    update_area_ = 0;
  }
  if (request_again) SendFramebufferUpdateRequest(client_, 0, 0, width_, height_, FALSE);
  state_changed_.notify_all();
}

char* VncSession::GetPassword(rfbClient* client) {
  return strdup(SessionOf(client)->options_.password.c_str());
}

void VncSession::ReaderLoop() {
  while (true) {
    {
      std::lock_guard state(state_mutex_);
      if (stopping_) return;
    }
    rfbClient* client;
    {
      std::lock_guard io(io_mutex_);
      client = client_;
    }
    std::string failure;
    if (client != nullptr) {
      // Only this thread replaces client_, so waiting without the lock is safe.
      int ready = WaitForMessage(client, absl::ToInt64Microseconds(kReaderWait));
      if (ready < 0) {
        failure = "connection error";
      } else if (ready > 0) {
        std::lock_guard io(io_mutex_);
        if (!HandleRFBServerMessage(client_)) {
          failure = last_vnc_error.empty() ? "server closed the connection" : last_vnc_error;
        }
      }
    } else {
      failure = "not connected";
    }
    if (failure.empty()) continue;

    spdlog::warn("VNC {}:{}: {}; reconnecting", options_.host, options_.port, failure);
    {
      std::lock_guard state(state_mutex_);
      connected_ = false;
      disconnect_reason_ = failure;
    }
    state_changed_.notify_all();
    {
      std::lock_guard io(io_mutex_);
      CloseClient();
    }
    if (!Reconnect()) {
      std::lock_guard state(state_mutex_);
      disconnect_reason_ =
          absl::StrCat(failure, "; reconnecting failed ", options_.reconnect_attempts, " times");
      stopping_ = true;
      state_changed_.notify_all();
      return;
    }
  }
}

bool VncSession::Reconnect() {
  absl::Duration delay = options_.reconnect_backoff;
  for (int attempt = 1; attempt <= options_.reconnect_attempts; ++attempt) {
    {
      std::unique_lock state(state_mutex_);
      // Wait out the backoff, but wake at once when the session is being destroyed.
      state_changed_.wait_for(state, absl::ToChronoMilliseconds(delay),
                              [this] { return stopping_; });
      if (stopping_) return false;
    }
    std::lock_guard io(io_mutex_);
    if (Open().ok()) {
      spdlog::info("VNC {}:{}: reconnected (attempt {})", options_.host, options_.port, attempt);
      return true;
    }
    delay *= 2;
  }
  return false;
}

int VncSession::width() const {
  std::lock_guard state(state_mutex_);
  return width_;
}

int VncSession::height() const {
  std::lock_guard state(state_mutex_);
  return height_;
}

bool VncSession::connected() const {
  std::lock_guard state(state_mutex_);
  return connected_;
}

uint64_t VncSession::input_seq() const {
  std::lock_guard state(state_mutex_);
  return input_seq_;
}

uint64_t VncSession::update_seq() const {
  std::lock_guard state(state_mutex_);
  return update_seq_;
}

Frame VncSession::CopyFramebuffer() {
  Frame frame;
  frame.width = client_->width;
  frame.height = client_->height;
  frame.captured = absl::Now();
  frame.rgb.resize(static_cast<size_t>(frame.width) * frame.height * 3);
  const uint8_t* source = client_->frameBuffer;
  const rfbPixelFormat& format = client_->format;
  const size_t pixels = static_cast<size_t>(frame.width) * frame.height;
  for (size_t i = 0; i < pixels; ++i) {
    uint32_t value;
    memcpy(&value, source + i * 4, 4);
    frame.rgb[i * 3 + 0] = static_cast<uint8_t>(value >> format.redShift);
    frame.rgb[i * 3 + 1] = static_cast<uint8_t>(value >> format.greenShift);
    frame.rgb[i * 3 + 2] = static_cast<uint8_t>(value >> format.blueShift);
  }
  std::lock_guard state(state_mutex_);
  frame.update_seq = update_seq_;
  frame.input_seq = frame_input_seq_;
  return frame;
}

absl::StatusOr<Frame> VncSession::Capture() {
  std::lock_guard io(io_mutex_);
  if (client_ == nullptr || client_->frameBuffer == nullptr) {
    std::lock_guard state(state_mutex_);
    return absl::UnavailableError(absl::StrCat("VNC not connected: ", disconnect_reason_));
  }
  return CopyFramebuffer();
}

absl::StatusOr<Frame> VncSession::WaitForUpdate(uint64_t after_update_seq, absl::Duration timeout) {
  {
    std::unique_lock state(state_mutex_);
    bool arrived = state_changed_.wait_for(state, absl::ToChronoMilliseconds(timeout), [&] {
      return update_seq_ > after_update_seq || stopping_;
    });
    if (update_seq_ <= after_update_seq) {
      if (stopping_ && !disconnect_reason_.empty()) {
        return absl::UnavailableError(absl::StrCat("VNC connection lost: ", disconnect_reason_));
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "no framebuffer update within ", absl::FormatDuration(timeout),
          arrived ? "" : (connected_ ? "" : absl::StrCat(" (", disconnect_reason_, ")"))));
    }
  }
  return Capture();
}

absl::StatusOr<Frame> VncSession::CaptureAfterInput(absl::Duration timeout) {
  uint64_t wanted;
  {
    std::lock_guard state(state_mutex_);
    wanted = input_seq_;
  }
  const absl::Time deadline = absl::Now() + timeout;
  auto reflected = [&] { return (frame_input_seq_ >= wanted && update_seq_ > 0) || stopping_; };
  for (;;) {
    {
      // A full update is asked for, and asked again each kFullUpdateRetry without one:
      // the request can be lost (the connection was re-made in between, which forgets
      // it) or folded by the server into an update that does not cover the screen.
      // Only a request sent after the input counts for it: while an older one is still
      // out, its answer (which may predate the input) asks for the next itself.
      std::lock_guard io(io_mutex_);
      std::lock_guard state(state_mutex_);
      if (reflected()) break;
      const bool ours = full_update_pending_for_ == 0 || full_update_pending_for_ == wanted;
      if (ours && wanted > frame_input_seq_ && client_ != nullptr && connected_) {
        full_update_pending_for_ = wanted;
        SendFramebufferUpdateRequest(client_, 0, 0, width_, height_, FALSE);
      }
    }
    std::unique_lock state(state_mutex_);
    const absl::Time wake = std::min(deadline, absl::Now() + kFullUpdateRetry);
    if (state_changed_.wait_for(state, absl::ToChronoMilliseconds(wake - absl::Now()), reflected)) {
      break;
    }
    if (absl::Now() >= deadline) break;
  }
  {
    std::lock_guard state(state_mutex_);
    if (frame_input_seq_ < wanted || update_seq_ == 0) {
      if (!connected_ || stopping_) {
        return absl::UnavailableError(absl::StrCat("VNC connection lost: ", disconnect_reason_));
      }
      return absl::DeadlineExceededError(
          absl::StrCat("the VNC server sent no frame reflecting the last input within ",
                       absl::FormatDuration(timeout)));
    }
  }
  return Capture();
}

absl::Status VncSession::CheckPoint(int x, int y) const {
  std::lock_guard state(state_mutex_);
  if (x < 0 || y < 0 || x >= width_ || y >= height_) {
    return absl::InvalidArgumentError(
        absl::StrCat("point (", x, ", ", y, ") is outside the ", width_, "x", height_, " screen"));
  }
  return absl::OkStatus();
}

absl::Status VncSession::SendPointer(int x, int y, int button_mask) {
  std::lock_guard io(io_mutex_);
  if (client_ == nullptr || !SendPointerEvent(client_, x, y, button_mask)) {
    return absl::UnavailableError("VNC not connected: pointer event not sent");
  }
  last_pointer_x_ = x;
  last_pointer_y_ = y;
  std::lock_guard state(state_mutex_);
  ++input_seq_;
  return absl::OkStatus();
}

absl::Status VncSession::SendKey(uint32_t keysym, bool down) {
  std::lock_guard io(io_mutex_);
  if (client_ == nullptr || !SendKeyEvent(client_, keysym, down ? TRUE : FALSE)) {
    return absl::UnavailableError("VNC not connected: key event not sent");
  }
  std::lock_guard state(state_mutex_);
  ++input_seq_;
  return absl::OkStatus();
}

absl::Status VncSession::Move(int x, int y) {
  if (absl::Status s = CheckPoint(x, y); !s.ok()) return s;
  return SendPointer(x, y, 0);
}

absl::Status VncSession::Click(int x, int y, int button, int count) {
  if (absl::Status s = CheckPoint(x, y); !s.ok()) return s;
  if (button < 1 || button > 3) return absl::InvalidArgumentError("button must be 1, 2 or 3");
  int mask = 1 << (button - 1);
  if (absl::Status s = SendPointer(x, y, 0); !s.ok()) return s;
  for (int i = 0; i < count; ++i) {
    if (absl::Status s = SendPointer(x, y, mask); !s.ok()) return s;
    if (absl::Status s = SendPointer(x, y, 0); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status VncSession::Drag(int from_x, int from_y, int to_x, int to_y, int button) {
  if (absl::Status s = CheckPoint(from_x, from_y); !s.ok()) return s;
  if (absl::Status s = CheckPoint(to_x, to_y); !s.ok()) return s;
  int mask = 1 << (button - 1);
  if (absl::Status s = SendPointer(from_x, from_y, 0); !s.ok()) return s;
  if (absl::Status s = SendPointer(from_x, from_y, mask); !s.ok()) return s;
  // Intermediate points: toolkits start a drag only after the pointer moves a little.
  constexpr int kSteps = 8;
  for (int i = 1; i <= kSteps; ++i) {
    int x = from_x + (to_x - from_x) * i / kSteps;
    int y = from_y + (to_y - from_y) * i / kSteps;
    if (absl::Status s = SendPointer(x, y, mask); !s.ok()) return s;
  }
  return SendPointer(to_x, to_y, 0);
}

absl::Status VncSession::Scroll(int x, int y, int dx, int dy) {
  if (absl::Status s = CheckPoint(x, y); !s.ok()) return s;
  // RFB wheel buttons: 4 up, 5 down, 6 left, 7 right; one press+release per click.
  auto clicks = [&](int count, int button) -> absl::Status {
    for (int i = 0; i < count; ++i) {
      if (absl::Status s = SendPointer(x, y, 1 << (button - 1)); !s.ok()) return s;
      if (absl::Status s = SendPointer(x, y, 0); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  if (absl::Status s = SendPointer(x, y, 0); !s.ok()) return s;
  if (absl::Status s = clicks(std::abs(dy), dy > 0 ? 5 : 4); !s.ok()) return s;
  return clicks(std::abs(dx), dx > 0 ? 7 : 6);
}

absl::Status VncSession::TypeKeysyms(const std::vector<uint32_t>& keysyms) {
  for (uint32_t keysym : keysyms) {
    if (absl::Status s = SendKey(keysym, true); !s.ok()) return s;
    if (absl::Status s = SendKey(keysym, false); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status VncSession::PressKey(const std::vector<uint32_t>& modifiers, uint32_t key) {
  absl::Status status;
  size_t pressed = 0;
  for (; pressed < modifiers.size() && status.ok(); ++pressed) {
    status = SendKey(modifiers[pressed], true);
  }
  if (status.ok()) status = SendKey(key, true);
  if (status.ok()) status = SendKey(key, false);
  // Release whatever was pressed even after a failure, so no modifier stays stuck.
  while (pressed > 0) {
    absl::Status released = SendKey(modifiers[--pressed], false);
    if (status.ok()) status = released;
  }
  return status;
}

}  // namespace mosdat

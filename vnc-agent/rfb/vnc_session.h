// VncSession: one RFB connection to a VM's screen, on libvncclient. A reader thread
// keeps the framebuffer current; callers capture and send input from any thread.
//
// The stale-screenshot guarantee: CaptureAfterInput() asks the server for a full
// update *after* the last input event and returns only a frame built from that update.
// The server reads client messages in order, so that frame reflects every input sent.
#ifndef MOSDAT_VNC_AGENT_RFB_VNC_SESSION_H_
#define MOSDAT_VNC_AGENT_RFB_VNC_SESSION_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/frame.h"
#include "vnc-agent/rfb/screen.h"

struct _rfbClient;

namespace mosdat {

struct VncOptions {
  std::string host = "127.0.0.1";
  int port = 5900;
  std::string password;  // VNC authentication, or VeNCrypt Plain with `username`
  std::string username;  // VeNCrypt Plain only
  std::string ca_file;   // VeNCrypt X509: CA that signed the server certificate
  absl::Duration connect_timeout = absl::Seconds(10);
  // After the connection drops: attempts, first delay (doubling each time).
  int reconnect_attempts = 5;
  absl::Duration reconnect_backoff = absl::Milliseconds(200);
  // Where the pointer goes on connect; negative = the bottom-right corner. Servers such
  // as TigerVNC draw the pointer into frames while it is somewhere this client did not
  // put it; moving it once keeps screenshots pointer-free.
  int park_x = -1;
  int park_y = -1;
};

class VncSession : public Screen {
 public:
  // Connects and waits for the first full framebuffer. Unavailable when the server
  // cannot be reached, PermissionDenied on authentication failure, DataLoss when the
  // server speaks something that is not RFB.
  static absl::StatusOr<std::unique_ptr<VncSession>> Connect(const VncOptions& options);
  ~VncSession() override;

  VncSession(const VncSession&) = delete;
  VncSession& operator=(const VncSession&) = delete;

  bool connected() const;
  uint64_t input_seq() const;
  uint64_t update_seq() const;

  // Screen (screen.h). CaptureAfterInput is the stale-screenshot guarantee above.
  int width() const override;
  int height() const override;
  absl::StatusOr<Frame> Capture() override;
  absl::StatusOr<Frame> CaptureAfterInput(absl::Duration timeout) override;
  absl::StatusOr<Frame> WaitForUpdate(uint64_t after_update_seq, absl::Duration timeout) override;
  absl::Status Move(int x, int y) override;
  absl::Status Click(int x, int y, int button = 1, int count = 1) override;
  absl::Status Drag(int from_x, int from_y, int to_x, int to_y, int button = 1) override;
  absl::Status Scroll(int x, int y, int dx, int dy) override;
  // Raw key events, one press and release per keysym. Text goes through TypeUnicode
  // (text_typing.h), which makes sure the server has every keysym on its map.
  absl::Status TypeKeysyms(const std::vector<uint32_t>& keysyms) override;
  absl::Status PressKey(const std::vector<uint32_t>& modifiers, uint32_t key) override;

 private:
  explicit VncSession(VncOptions options);
  absl::Status Open();  // io_mutex_ held
  void CloseClient();   // io_mutex_ held
  void ReaderLoop();
  bool Reconnect();  // takes io_mutex_ per attempt, not while backing off
  absl::Status SendPointer(int x, int y, int button_mask);
  absl::Status SendKey(uint32_t keysym, bool down);
  Frame CopyFramebuffer();  // io_mutex_ held
  absl::Status CheckPoint(int x, int y) const;

  // libvncclient callbacks.
  static int8_t MallocFrameBuffer(_rfbClient* client);
  static void GotUpdateRect(_rfbClient* client, int x, int y, int w, int h);
  static void FinishedUpdate(_rfbClient* client);
  static char* GetPassword(_rfbClient* client);
  void OnFinishedUpdate();

  const VncOptions options_;

  // Guards the rfbClient: its socket writes and the framebuffer it decodes into.
  mutable std::mutex io_mutex_;
  _rfbClient* client_ = nullptr;
  int last_pointer_x_ = 0;
  int last_pointer_y_ = 0;

  // Guards the counters below; io_mutex_ is always taken first when both are needed.
  mutable std::mutex state_mutex_;
  std::condition_variable state_changed_;
  bool connected_ = false;
  bool stopping_ = false;
  std::string disconnect_reason_;
  int width_ = 0;
  int height_ = 0;
  uint64_t update_seq_ = 0;
  uint64_t input_seq_ = 0;
  uint64_t full_update_pending_for_ = 0;  // input seq a requested full update covers
  uint64_t frame_input_seq_ = 0;          // newest input seq a received frame reflects
  int64_t update_area_ = 0;               // pixels covered by the update being received

  std::thread reader_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_RFB_VNC_SESSION_H_

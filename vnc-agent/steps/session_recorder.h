// A job's screen as a video (`--record`): while the scenario runs, a thread takes the
// screen at most `fps` times a second, keeps only frames newer than the previous one,
// and streams them to the `ffmpeg` program (Debian's), which encodes a WebM (VP8)
// timed by when each frame came — a still screen costs nothing. The frames at each
// step's end (MarkKeyMoment) make a strip of thumbnails (PNG), for a report to show at
// a glance. Without ffmpeg, Start says so (FailedPrecondition) and nothing records.
#ifndef MOSDAT_VNC_AGENT_STEPS_SESSION_RECORDER_H_
#define MOSDAT_VNC_AGENT_STEPS_SESSION_RECORDER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/frame.h"
#include "core/job.h"
#include "core/owned_temp_dir.h"
#include "core/process.h"
#include "vnc-agent/rfb/screen.h"

namespace mosdat {

// The most key moments a strip shows (the fps bound is core/job.h's kMaxRecordFps).
inline constexpr size_t kMaxKeyMoments = 24;

struct Recording {
  std::string webm;       // the encoded video
  int frames = 0;         // frames sent to the encoder
  std::string strip_png;  // the key moments side by side; "" when none
  int key_moments = 0;
};

class SessionRecorder {
 public:
  struct Options {
    int fps = 10;                                  // 1..kMaxRecordFps
    std::string ffmpeg = "ffmpeg";                 // a path or a name on PATH
    absl::Duration max_duration = absl::Hours(2);  // frames after that are dropped
  };

  // Starts ffmpeg and the capture thread. FailedPrecondition when ffmpeg is absent,
  // InvalidArgument for a bad fps, Unavailable when the screen cannot be captured.
  static absl::StatusOr<std::unique_ptr<SessionRecorder>> Start(Screen& screen, Options options);
  ~SessionRecorder();  // stops capturing and kills an encoder still running

  // The screen now, kept as a thumbnail for the strip (at most kMaxKeyMoments).
  void MarkKeyMoment();

  // Stops, lets ffmpeg finish (up to `timeout`) and returns what it made. Unavailable
  // when the encoder failed (with its last words). Call once.
  absl::StatusOr<Recording> Finish(absl::Duration timeout);

 private:
  SessionRecorder(Screen& screen, Options options) : screen_(screen), options_(options) {}
  void CaptureLoop();
  bool WriteFrame(const Frame& frame);  // false once the encoder is gone

  Screen& screen_;
  Options options_;
  std::unique_ptr<OwnedTempDir> dir_;  // the FIFO, the output and ffmpeg's log
  std::optional<Process> ffmpeg_;
  int fifo_ = -1;
  int width_ = 0, height_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t last_seq_ = 0;
  std::optional<Frame> last_frame_;
  std::atomic<int> frames_ = 0;
  std::atomic<bool> broken_ = false;
  std::vector<Frame> key_moments_;
};

// Thumbnails of `frames` (each at most `thumb_width` wide) in rows of `columns`.
Frame BuildFrameStrip(const std::vector<Frame>& frames, int thumb_width = 320, int columns = 4);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_SESSION_RECORDER_H_

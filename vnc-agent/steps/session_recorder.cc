#include "vnc-agent/steps/session_recorder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace mosdat {

namespace {

// Opens the FIFO for writing once ffmpeg opened it for reading (bounded: an encoder
// that died before would leave a blocking open hanging forever).
absl::StatusOr<int> OpenWriter(const std::string& fifo, Process& ffmpeg, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      return fd;
    }
    if (errno != ENXIO) {
      return absl::UnavailableError(
          absl::StrCat("cannot open the encoder's pipe: ", strerror(errno)));
    }
    if (std::optional<ExitStatus> exited = ffmpeg.Poll()) {
      return absl::UnavailableError(
          absl::StrCat("ffmpeg ended at once (", exited->ToString(), ")"));
    }
    if (absl::Now() >= deadline) return absl::UnavailableError("ffmpeg did not open its input");
    absl::SleepFor(absl::Milliseconds(5));  // polling for the reader, with a deadline
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SessionRecorder>> SessionRecorder::Start(Screen& screen,
                                                                        Options options) {
  if (options.fps < 1 || options.fps > kMaxRecordFps) {
    return absl::InvalidArgumentError(
        absl::StrCat("--fps must be between 1 and ", kMaxRecordFps, ", not ", options.fps));
  }
  if (FindExecutable(options.ffmpeg).empty()) {
    return absl::FailedPreconditionError(
        "recording needs ffmpeg, which is not installed on the agent's machine (apt-get "
        "install ffmpeg, or deploy/install-deps.sh)");
  }
  absl::StatusOr<Frame> first = screen.Capture();
  if (!first.ok()) return first.status();
  std::unique_ptr<SessionRecorder> recorder(new SessionRecorder(screen, options));
  absl::StatusOr<std::unique_ptr<OwnedTempDir>> dir = OwnedTempDir::Create("mosdat-recording");
  if (!dir.ok()) return dir.status();
  recorder->dir_ = std::move(*dir);
  const std::string base = recorder->dir_->path();
  const std::string fifo = base + "/frames.fifo";
  if (mkfifo(fifo.c_str(), 0600) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot make a pipe for ffmpeg: ", strerror(errno)));
  }
  recorder->width_ = first->width;
  recorder->height_ = first->height;
  // Raw frames, each stamped with the time it arrived: a still screen makes no frames,
  // and the video still lasts as long as the session did.
  SpawnOptions spawn{.argv = {options.ffmpeg,
                              "-hide_banner",
                              "-loglevel",
                              "error",
                              "-nostdin",
                              "-f",
                              "rawvideo",
                              "-pix_fmt",
                              "rgb24",
                              "-video_size",
                              absl::StrCat(first->width, "x", first->height),
                              "-use_wallclock_as_timestamps",
                              "1",
                              "-i",
                              fifo,
                              "-fps_mode",
                              "vfr",
                              "-vf",
                              "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                              "-c:v",
                              "libvpx",
                              "-deadline",
                              "realtime",
                              "-cpu-used",
                              "8",
                              "-crf",
                              "10",
                              "-b:v",
                              "2M",
                              "-pix_fmt",
                              "yuv420p",
                              "-f",
                              "webm",
                              "-y",
                              base + "/recording.webm"},
                     .env = CurrentEnvironment(),
                     .stdout_path = base + "/ffmpeg.log",
                     .stderr_path = base + "/ffmpeg.log",
                     .dies_with_this_process = true};
  absl::StatusOr<Process> ffmpeg = Process::Spawn(spawn);
  if (!ffmpeg.ok()) return ffmpeg.status();
  recorder->ffmpeg_ = std::move(*ffmpeg);
  absl::StatusOr<int> fd = OpenWriter(fifo, *recorder->ffmpeg_, absl::Seconds(10));
  if (!fd.ok()) {
    return absl::UnavailableError(
        absl::StrCat(fd.status().message(), ": ", FileTail(base + "/ffmpeg.log", 400)));
  }
  recorder->fifo_ = *fd;
  recorder->thread_ = std::thread([r = recorder.get()] { r->CaptureLoop(); });
  return recorder;
}

SessionRecorder::~SessionRecorder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fifo_ >= 0) close(fifo_);
  if (ffmpeg_) ffmpeg_->Terminate(absl::Seconds(1));
}

bool SessionRecorder::WriteFrame(const Frame& frame) {
  if (broken_) return false;
  const uint8_t* data = frame.rgb.data();
  size_t left = frame.rgb.size();
  while (left > 0) {
    ssize_t n = write(fifo_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;  // the encoder is gone (EPIPE): Finish says why
      return false;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  ++frames_;
  return true;
}

void SessionRecorder::CaptureLoop() {
  // A dead encoder makes write() fail with EPIPE, not kill the agent.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  const absl::Duration period = absl::Seconds(1) / options_.fps;
  const absl::Time until = absl::Now() + options_.max_duration;
  absl::Time next = absl::Now();
  while (true) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock,
                     absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), next - absl::Now())),
                     [&] { return stopping_; });
      if (stopping_) return;
    }
    next += period;
    if (absl::Now() > next) next = absl::Now() + period;  // fell behind: no burst
    if (absl::Now() > until) continue;
    absl::StatusOr<Frame> frame = screen_.Capture();
    if (!frame.ok() || frame->update_seq == last_seq_) continue;       // nothing newer
    if (frame->width != width_ || frame->height != height_) continue;  // resized: the size is fixed
    last_seq_ = frame->update_seq;
    if (!WriteFrame(*frame)) return;
    std::lock_guard lock(mu_);
    last_frame_ = std::move(*frame);
  }
}

void SessionRecorder::MarkKeyMoment() {
  absl::StatusOr<Frame> frame = screen_.Capture();
  if (!frame.ok()) return;
  std::lock_guard lock(mu_);
  if (key_moments_.size() >= kMaxKeyMoments) return;
  key_moments_.push_back(BuildFrameStrip({*frame}, 320, 1));  // a thumbnail, not 3 MB
}

absl::StatusOr<Recording> SessionRecorder::Finish(absl::Duration timeout) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The last frame once more, stamped now: the video lasts until the session's end.
  if (last_frame_ && !broken_) WriteFrame(*last_frame_);
  close(fifo_);
  fifo_ = -1;
  const std::string base = dir_->path();
  std::optional<ExitStatus> exited = ffmpeg_->Wait(timeout);
  if (!exited) {
    ffmpeg_->Terminate(absl::Seconds(1));
    return absl::UnavailableError(
        absl::StrCat("ffmpeg did not finish the recording within ", absl::FormatDuration(timeout)));
  }
  if (exited->exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("ffmpeg failed (", exited->ToString(),
                                               "): ", FileTail(base + "/ffmpeg.log", 400)));
  }
  absl::StatusOr<std::string> webm = ReadFile(base + "/recording.webm");
  if (!webm.ok()) return webm.status();
  Recording recording{.webm = std::move(*webm), .frames = frames_};
  std::lock_guard lock(mu_);
  if (!key_moments_.empty()) {
    absl::StatusOr<std::string> strip = EncodePng(BuildFrameStrip(key_moments_));
    if (strip.ok()) recording.strip_png = std::move(*strip);
    recording.key_moments = static_cast<int>(key_moments_.size());
  }
  return recording;
}

Frame BuildFrameStrip(const std::vector<Frame>& frames, int thumb_width, int columns) {
  constexpr int kGap = 4;
  std::vector<cv::Mat> thumbs;
  int cell_w = 1, cell_h = 1;
  for (const Frame& frame : frames) {
    if (frame.width <= 0 || frame.height <= 0) continue;
    cv::Mat rgb(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
    const int w = std::min(thumb_width, frame.width);
    const int h = std::max(1, frame.height * w / frame.width);
    cv::Mat thumb;
    cv::resize(rgb, thumb, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    cell_w = std::max(cell_w, w);
    cell_h = std::max(cell_h, h);
    thumbs.push_back(std::move(thumb));
  }
  Frame out;
  if (thumbs.empty()) return out;
  const int cols = std::max(1, std::min<int>(columns, static_cast<int>(thumbs.size())));
  const int rows = (static_cast<int>(thumbs.size()) + cols - 1) / cols;
  out.width = cols * cell_w + (cols - 1) * kGap;
  out.height = rows * cell_h + (rows - 1) * kGap;
  out.rgb.assign(static_cast<size_t>(out.width) * out.height * 3, 255);
  cv::Mat canvas(out.height, out.width, CV_8UC3, out.rgb.data());
  for (size_t i = 0; i < thumbs.size(); ++i) {
    const int x = static_cast<int>(i % cols) * (cell_w + kGap);
    const int y = static_cast<int>(i / cols) * (cell_h + kGap);
    thumbs[i].copyTo(canvas(cv::Rect(x, y, thumbs[i].cols, thumbs[i].rows)));
  }
  return out;
}

}  // namespace mosdat

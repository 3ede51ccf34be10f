// What the authoring API needs of a VM's screen, without saying how it is reached: open
// an interactive session on a VM, capture its screen, act on it, close it. The live
// server's gRPC edge implements it over the agent's session RPCs (agent_backend.h);
// tests can implement it over anything that shows a real screen.
#ifndef MOSDAT_LIVE_SCREEN_BACKEND_H_
#define MOSDAT_LIVE_SCREEN_BACKEND_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/events.h"

namespace mosdat {

// A VM an author may open a session on.
struct AuthorVm {
  std::string name;
  std::string provider;  // "local", "proxmox"
  std::string os;        // "linux", "windows"
  bool available = true;
  std::string note;  // why it is not available
};

struct ScreenCapture {
  std::string png;
  int width = 0;
  int height = 0;
  uint64_t frame_seq = 0;
};

// One input on the screen. Coordinates are framebuffer pixels.
struct ScreenAction {
  enum class Kind { kHover, kClick, kDoubleClick, kRightClick, kType, kKey, kScroll };
  Kind kind = Kind::kClick;
  int x = 0;
  int y = 0;
  std::string text;  // kType: the text; kKey: a combo such as "ctrl+s"
  int scroll_dy = 0;
};

// What running scenario steps in a session did: the run's events (steps started and
// finished, logs) and its verdict, as a job's.
struct StepsRun {
  JobVerdict verdict = JobVerdict::kUnknown;
  std::string reason;
  std::vector<Event> events;
};

// A job a failed step holds for a person (pause on failure): its screen can be taken
// over (Attach), then it goes on from a step or is aborted (Resume).
struct HeldJob {
  std::string job_id, run_id, test, vm;
  int failed_step = -1;  // 0-based, a top-level step
  int step_count = 0;
  std::string reason;
  int64_t since_unix_ms = 0;
  std::string scenario_path;
  std::string scenario_yaml;  // the job's scenario, for a draft of the fix
};

class ScreenBackend {
 public:
  virtual ~ScreenBackend() = default;
  virtual std::vector<AuthorVm> Vms() = 0;
  // A session on `vm`; its id is the backend's own.
  virtual absl::StatusOr<std::string> Open(const std::string& vm) = 0;
  // The screen now; with `after_input`, a frame that reflects every input sent so far.
  // With `unless_frame_seq` (non-zero) and a screen whose newest frame still has that
  // number, only frame_seq is set (no PNG is made).
  virtual absl::StatusOr<ScreenCapture> Capture(const std::string& session, bool after_input,
                                                uint64_t unless_frame_seq = 0) = 0;
  // Sends the input; returns the input's sequence number.
  virtual absl::StatusOr<uint64_t> Act(const std::string& session, const ScreenAction& action) = 0;
  // Runs the steps of `scenario_yaml` (a scenario document) on the session's screen and
  // guest. An error status only when they could not be run (a parse error is
  // InvalidArgument); a step that fails is a verdict.
  virtual absl::StatusOr<StepsRun> Run(const std::string& session,
                                       const std::string& scenario_yaml) = 0;
  // What is at (x, y): {"accessible": object or null, "accessible_error"?, "words":
  // [{"text", "box": {x, y, width, height}, "confidence"}], "ocr_error"?}.
  virtual absl::StatusOr<nlohmann::json> Describe(const std::string& session, int x, int y) = 0;
  // The accessible object `query` picks (the guest helper's find query: role, name,
  // name_substr, app, index, states): {"role", "name", "states", "app", "box", "center",
  // "path", ...}; NotFound naming what is near when nothing matches.
  virtual absl::StatusOr<nlohmann::json> Find(const std::string& session,
                                              const nlohmann::json& query) = 0;
  virtual absl::Status Close(const std::string& session) = 0;

  // Pause on failure. The jobs held now; a backend that runs no jobs holds none.
  virtual absl::StatusOr<std::vector<HeldJob>> HeldJobs() { return std::vector<HeldJob>{}; }
  // A session on a held job's screen (closed by the backend when the job goes on);
  // `held` gets the job. NotFound when it is not held.
  virtual absl::StatusOr<std::string> Attach(const std::string& /*job_id*/, HeldJob* /*held*/) {
    return absl::NotFoundError("this backend holds no jobs");
  }
  // A session that watches the screen of a job running now, read-only (captures and
  // streams only; the backend refuses input); `vm` gets the job's VM. NotFound when the
  // job is not running (any more).
  virtual absl::StatusOr<std::string> Watch(const std::string& /*job_id*/, std::string* /*vm*/) {
    return absl::NotFoundError("this backend runs no jobs");
  }
  // Lets a held job go on from `from_step` (0-based), or aborts it; `by` says who.
  virtual absl::Status Resume(const std::string& /*job_id*/, int /*from_step*/, bool /*abort*/,
                              const std::string& /*by*/) {
    return absl::NotFoundError("this backend holds no jobs");
  }
  // Switches holding on or off for the jobs of `run_id` from their next failure on.
  virtual absl::Status SetPauseOnFailure(const std::string& /*run_id*/, bool /*enabled*/) {
    return absl::FailedPreconditionError("this backend runs no jobs");
  }
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_SCREEN_BACKEND_H_

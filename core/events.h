// Events of a job, as the runner emits them and the coordinator stores them. One flat
// struct (fields unused by a type stay empty) that maps 1:1 onto the JobEvent proto at
// the service edges and onto one JSON object per line in events.jsonl.
#ifndef MOSDAT_CORE_EVENTS_H_
#define MOSDAT_CORE_EVENTS_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/bug_verdict.h"

namespace mosdat {

// kJobPaused: a failed step holds the job for a person (pause on failure); step_index
// is the step, reason why it failed. kJobResumed: the person let it go on: step_index
// is where it goes on from, or -1 when they aborted it; text says who and what.
enum class EventType {
  kJobStarted,
  kStepStarted,
  kStepFinished,
  kScreenshot,
  kLog,
  kJobFinished,
  kJobPaused,
  kJobResumed
};
enum class StepStatus { kPassed, kFailed, kSkipped, kError };
// kConfigError: the config, a scenario or a file they name is wrong (core/outcome.h).
// kError: the test rig failed (VNC unreachable, VM did not start) — not the app.
enum class JobVerdict { kPass, kFail, kUnknown, kError, kConfigError };

std::string_view ToString(EventType type);
std::string_view ToString(StepStatus status);
std::string_view ToString(JobVerdict verdict);

struct LocatorCandidate {
  std::string source;  // "atspi" | "ocr" | "visual" | "vlm"
  int x = 0, y = 0, width = 0, height = 0;
  double score = 0;
  std::string description;
};

// What a shell step's command did (tails of its output).
struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool timed_out = false;
};

// A question a step put to the VLM, with the exact screenshot the model saw (a file in
// the result directory): evidence for the verdict, and what `mosdat replay` asks again.
struct VlmCall {
  std::string kind;        // "localize" | "verify"
  std::string prompt;      // what to find, or the yes/no question
  std::string screenshot;  // the image sent
  bool answer = false;     // verify: the answer was yes; localize: the model gave a point
  int x = 0, y = 0;        // localize: framebuffer pixels
  double confidence = 0;   // localize: the model's own estimate
  std::string reason;      // verify: the model's reason
  std::string model;
  bool cache_hit = false;
};

// One pointer input a step sent (framebuffer pixels): evidence of where it clicked.
struct PointerInput {
  std::string kind;  // "move", "click", "double_click", "right_click", "middle_click",
                     // "multi_click", "drag", "scroll"
  int x = 0, y = 0;
  int to_x = 0, to_y = 0;  // drag: where it ended
};

// The most pointer inputs a step reports (its first ones): events stay small.
inline constexpr size_t kMaxPointerInputsPerStep = 64;

// A word OCR read on the screen (framebuffer pixels).
struct ScreenWord {
  std::string text;
  int x = 0, y = 0, width = 0, height = 0;
  double confidence = 0;
};

// What was there when a step failed, for whoever finds out why: the words OCR read on
// the screen and the accessibility tree of the desktop (one line per object, "role
// "name" [states] x,y w×h", indented by depth), each bounded.
struct FailureSnapshot {
  static constexpr size_t kMaxWords = 400;
  static constexpr size_t kMaxTreeBytes = 96 * 1024;
  std::vector<ScreenWord> words;
  std::string ocr_error;  // why there are no words
  std::string accessible_tree;
  int accessible_nodes = 0;      // objects in the tree (the text may hold fewer)
  std::string accessible_error;  // why there is no tree
};

struct Event {
  static Event Of(EventType type) {
    Event event;
    event.type = type;
    return event;
  }

  std::string job_id;
  uint64_t seq = 0;     // 1, 2, ... within the job's attempt
  int job_attempt = 1;  // which run of the job (a retry after an infrastructure error)
  int64_t unix_ms = 0;
  EventType type = EventType::kLog;

  // kJobStarted
  std::string vm;
  std::string scenario;
  // kStepStarted / kStepFinished / kScreenshot
  int step_index = -1;
  // Inside an if_visible branch: the position in the branch, 1-based ("2"; "2.1" for a
  // branch inside a branch). Empty for the scenario's own steps.
  std::string substep;
  std::string step_kind;
  std::string label;
  std::string description;  // what the step does, e.g. `"ctrl+b"` (core/scenario.h DescribeStep)
  std::string source_location;
  int attempt = 0;
  bool cleanup = false;
  // A bug scenario's check (core/bug_verdict.h): kPreconditionCheck or kBugSignalCheck;
  // "" for other steps.
  std::string check;
  // kStepFinished
  StepStatus status = StepStatus::kPassed;
  double duration_seconds = 0;
  std::string reason;
  bool must_pass = true;
  std::vector<LocatorCandidate> candidates;
  std::optional<CommandOutput> output;
  std::vector<VlmCall> vlm_calls;
  std::vector<PointerInput> pointer;
  std::optional<FailureSnapshot> snapshot;  // a failed attempt's
  // kScreenshot: `png` travels to the coordinator, which writes it to `screenshot` (a
  // file name in the job's result directory); events.jsonl holds only the name.
  std::string screenshot;
  std::string why;
  std::string png;
  // kLog
  std::string level;
  std::string text;
  // kJobFinished
  JobVerdict verdict = JobVerdict::kUnknown;
  // A bug scenario's: what the attempt found (the reason says why).
  std::optional<BugVerdict> bug;
};

// A job's screen recording (`--record`) travels as a kScreenshot event (why
// "recording") whose bytes are this WebM file's; the strip of its key moments is a
// PNG (why "recording-strip").
inline constexpr char kRecordingFile[] = "recording.webm";
inline constexpr char kRecordingStripFile[] = "recording-strip.png";

// A step's number as people read it: 1-based, then the sub-step ("4", "4.2.1");
// `padded` gives at least two digits ("04.2.1"), for names that sort.
std::string StepNumber(int step_index, const std::string& substep, bool padded = false);

// Whether `text` is a valid Event::substep: empty, or 1-based numbers joined by dots
// (at most 16 levels).
bool IsSubstep(std::string_view text);

// Replaces every occurrence of each of `secrets` (non-empty values) in every text of
// `event` with "•••": a credential typed or compared by a step never reaches a log,
// a report or a console. Screenshots are pictures and are not touched.
void RedactEvent(const std::vector<std::string>& secrets, Event* event);

// One line of events.jsonl (no trailing newline). Binary PNG data is not included.
std::string ToJsonLine(const Event& event);
absl::StatusOr<Event> FromJsonLine(std::string_view line);

// Appends events to an events.jsonl file. Append() returns only after the line is
// written and flushed to the kernel (and fsync'ed), so an event acknowledged to its
// sender survives this process dying.
class EventLog {
 public:
  static absl::StatusOr<EventLog> Open(const std::string& path);
  EventLog(EventLog&& other) noexcept;
  EventLog& operator=(EventLog&& other) noexcept;
  ~EventLog();

  // Appends one line; with `sync`, also forces it to disk before returning.
  absl::Status Append(const Event& event, bool sync = true);
  absl::Status Sync();
  const std::string& path() const { return path_; }

 private:
  EventLog(std::string path, FILE* file) : path_(std::move(path)), file_(file) {}
  std::string path_;
  FILE* file_ = nullptr;
};

// Reads every event of an events.jsonl file; a malformed line is an error naming it.
// With `skip_malformed`, a malformed line (e.g. torn by a crash) is reported to it
// ("path:line" and why) and skipped instead.
using MalformedLine = std::function<void(const std::string& where, const absl::Status& why)>;
absl::StatusOr<std::vector<Event>> ReadEventLog(const std::string& path,
                                                const MalformedLine& skip_malformed = nullptr);

}  // namespace mosdat

#endif  // MOSDAT_CORE_EVENTS_H_

#include "core/events.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json_depth.h"

namespace mosdat {
namespace {

using nlohmann::json;

// A field of an untrusted line that is not what it should be.
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An integer that fits an int (a float or a huge number is refused, never cast).
int IntOf(const json& value, const char* what) {
  if (!value.is_number_integer()) throw BadField(absl::StrCat("\"", what, "\" is not an integer"));
  const int64_t v = value.is_number_unsigned()
                        ? static_cast<int64_t>(std::min<uint64_t>(value.get<uint64_t>(), INT64_MAX))
                        : value.get<int64_t>();
  if (v < INT_MIN || v > INT_MAX) throw BadField(absl::StrCat("\"", what, "\" is out of range"));
  return static_cast<int>(v);
}

int IntOr(const json& object, const char* key, int fallback) {
  auto it = object.find(key);
  return it == object.end() ? fallback : IntOf(*it, key);
}

constexpr std::pair<EventType, const char*> kEventTypes[] = {
    {EventType::kJobStarted, "job_started"},
    {EventType::kStepStarted, "step_started"},
    {EventType::kStepFinished, "step_finished"},
    {EventType::kScreenshot, "screenshot"},
    {EventType::kLog, "log"},
    {EventType::kJobFinished, "job_finished"},
    {EventType::kJobPaused, "job_paused"},
    {EventType::kJobResumed, "job_resumed"}};
constexpr std::pair<StepStatus, const char*> kStepStatuses[] = {{StepStatus::kPassed, "passed"},
                                                                {StepStatus::kFailed, "failed"},
                                                                {StepStatus::kSkipped, "skipped"},
                                                                {StepStatus::kError, "error"}};
constexpr std::pair<JobVerdict, const char*> kVerdicts[] = {
    {JobVerdict::kPass, "pass"},
    {JobVerdict::kFail, "fail"},
    {JobVerdict::kUnknown, "unknown"},
    {JobVerdict::kError, "error"},
    {JobVerdict::kConfigError, "config_error"}};

template <typename Enum, size_t N>
std::string_view NameOf(const std::pair<Enum, const char*> (&table)[N], Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}

template <typename Enum, size_t N>
bool ValueOf(const std::pair<Enum, const char*> (&table)[N], const std::string& name, Enum* out) {
  for (const auto& [v, n] : table) {
    if (name == n) {
      *out = v;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view ToString(EventType type) { return NameOf(kEventTypes, type); }
std::string_view ToString(StepStatus status) { return NameOf(kStepStatuses, status); }
std::string_view ToString(JobVerdict verdict) { return NameOf(kVerdicts, verdict); }

std::string StepNumber(int step_index, const std::string& substep, bool padded) {
  return absl::StrCat(
      padded ? absl::StrFormat("%02d", step_index + 1) : absl::StrCat(step_index + 1),
      substep.empty() ? "" : ".", substep);
}

bool IsSubstep(std::string_view text) {
  if (text.empty()) return true;
  int levels = 0;
  size_t begin = 0;
  while (true) {
    size_t end = std::min(text.find('.', begin), text.size());
    std::string_view part = text.substr(begin, end - begin);
    if (++levels > 16 || part.empty() || part.size() > 6 || part[0] == '0') return false;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
    if (end == text.size()) return true;
    begin = end + 1;
  }
}

void RedactEvent(const std::vector<std::string>& secrets, Event* event) {
  constexpr std::string_view kMask = "•••";
  auto redact = [&](std::string& text) {
    for (const std::string& secret : secrets) {
      if (secret.empty()) continue;
      for (size_t at = text.find(secret); at != std::string::npos;
           at = text.find(secret, at + kMask.size())) {
        text.replace(at, secret.size(), kMask);
      }
    }
  };
  for (std::string* text :
       {&event->vm, &event->scenario, &event->label, &event->description, &event->source_location,
        &event->reason, &event->why, &event->text, &event->substep}) {
    redact(*text);
  }
  for (LocatorCandidate& c : event->candidates) redact(c.description);
  if (event->output) {
    redact(event->output->out);
    redact(event->output->err);
  }
  for (VlmCall& call : event->vlm_calls) {
    redact(call.prompt);
    redact(call.reason);
  }
  if (event->snapshot) {
    for (ScreenWord& word : event->snapshot->words) redact(word.text);
    redact(event->snapshot->accessible_tree);
  }
}

std::string ToJsonLine(const Event& e) {
  json j = {{"job", e.job_id},
            {"seq", e.seq},
            {"time_ms", e.unix_ms},
            {"type", std::string(ToString(e.type))}};
  if (e.job_attempt != 1) j["job_attempt"] = e.job_attempt;
  switch (e.type) {
    case EventType::kJobStarted:
      j["vm"] = e.vm;
      j["scenario"] = e.scenario;
      break;
    case EventType::kStepStarted:
    case EventType::kStepFinished:
      j["step"] = e.step_index;
      if (!e.substep.empty()) j["substep"] = e.substep;
      j["kind"] = e.step_kind;
      if (!e.label.empty()) j["label"] = e.label;
      if (!e.description.empty()) j["description"] = e.description;
      j["where"] = e.source_location;
      j["attempt"] = e.attempt;
      if (e.cleanup) j["cleanup"] = true;
      if (!e.check.empty()) j["check"] = e.check;
      if (e.type == EventType::kStepFinished) {
        j["status"] = std::string(ToString(e.status));
        j["duration_s"] = e.duration_seconds;
        j["must_pass"] = e.must_pass;
        if (!e.reason.empty()) j["reason"] = e.reason;
        if (!e.screenshot.empty()) j["screenshot"] = e.screenshot;
        json candidates = json::array();
        for (const LocatorCandidate& c : e.candidates) {
          candidates.push_back({{"source", c.source},
                                {"box", {c.x, c.y, c.width, c.height}},
                                {"score", c.score},
                                {"description", c.description}});
        }
        if (!candidates.empty()) j["candidates"] = candidates;
        if (e.output) {
          j["output"] = {{"exit_code", e.output->exit_code},
                         {"stdout", e.output->out},
                         {"stderr", e.output->err},
                         {"timed_out", e.output->timed_out}};
        }
        json vlm = json::array();
        for (const VlmCall& c : e.vlm_calls) {
          json call = {{"kind", c.kind},     {"prompt", c.prompt}, {"screenshot", c.screenshot},
                       {"answer", c.answer}, {"model", c.model},   {"cache_hit", c.cache_hit}};
          if (c.kind == "localize") {
            call["point"] = {c.x, c.y};
            call["confidence"] = c.confidence;
          } else {
            call["reason"] = c.reason;
          }
          vlm.push_back(std::move(call));
        }
        if (!vlm.empty()) j["vlm"] = vlm;
        json pointer = json::array();
        for (const PointerInput& p : e.pointer) {
          json input = {{"kind", p.kind}, {"at", {p.x, p.y}}};
          if (p.kind == "drag") input["to"] = {p.to_x, p.to_y};
          pointer.push_back(std::move(input));
        }
        if (!pointer.empty()) j["pointer"] = pointer;
        if (e.snapshot) {
          json words = json::array();
          for (const ScreenWord& w : e.snapshot->words) {
            words.push_back({{"text", w.text},
                             {"box", {w.x, w.y, w.width, w.height}},
                             {"confidence", w.confidence}});
          }
          json snapshot = {{"words", words},
                           {"accessible_tree", e.snapshot->accessible_tree},
                           {"accessible_nodes", e.snapshot->accessible_nodes}};
          if (!e.snapshot->ocr_error.empty()) snapshot["ocr_error"] = e.snapshot->ocr_error;
          if (!e.snapshot->accessible_error.empty()) {
            snapshot["accessible_error"] = e.snapshot->accessible_error;
          }
          j["snapshot"] = std::move(snapshot);
        }
      }
      break;
    case EventType::kScreenshot:
      j["step"] = e.step_index;
      if (!e.substep.empty()) j["substep"] = e.substep;
      j["file"] = e.screenshot;
      j["why"] = e.why;
      break;
    case EventType::kLog:
      j["level"] = e.level;
      j["text"] = e.text;
      break;
    case EventType::kJobPaused:
      j["step"] = e.step_index;
      j["reason"] = e.reason;
      break;
    case EventType::kJobResumed:
      j["step"] = e.step_index;
      j["text"] = e.text;
      break;
    case EventType::kJobFinished:
      j["verdict"] = std::string(ToString(e.verdict));
      j["reason"] = e.reason;
      j["duration_s"] = e.duration_seconds;
      if (e.bug) j["bug"] = std::string(ToString(*e.bug));
      break;
  }
  // Replace invalid UTF-8 (app output can be anything) instead of throwing.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<Event> FromJsonLine(std::string_view line) {
  json j = ParsePeerJson(line);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  Event e;
  try {
    e.job_id = j.at("job").get<std::string>();
    e.seq = j.at("seq").get<uint64_t>();
    e.unix_ms = j.at("time_ms").get<int64_t>();
    e.job_attempt = IntOr(j, "job_attempt", 1);
    if (!ValueOf(kEventTypes, j.at("type").get<std::string>(), &e.type)) {
      return absl::InvalidArgumentError("unknown event type");
    }
    e.vm = j.value("vm", "");
    e.scenario = j.value("scenario", "");
    e.step_index = IntOr(j, "step", -1);
    e.substep = j.value("substep", "");
    if (!IsSubstep(e.substep)) {
      return absl::InvalidArgumentError("\"substep\" must be numbers joined by dots");
    }
    e.step_kind = j.value("kind", "");
    e.label = j.value("label", "");
    e.description = j.value("description", "");
    e.source_location = j.value("where", "");
    e.attempt = IntOr(j, "attempt", 0);
    e.cleanup = j.value("cleanup", false);
    e.check = j.value("check", "");
    if (e.check != "" && e.check != kPreconditionCheck && e.check != kBugSignalCheck) {
      return absl::InvalidArgumentError("\"check\" must be \"precondition\" or \"bug_signal\"");
    }
    if (j.contains("bug")) {
      e.bug = BugVerdictFromString(j["bug"].get<std::string>());
      if (!e.bug) return absl::InvalidArgumentError("unknown \"bug\" verdict");
    }
    if (j.contains("status")) ValueOf(kStepStatuses, j["status"].get<std::string>(), &e.status);
    e.duration_seconds = j.value("duration_s", 0.0);
    e.must_pass = j.value("must_pass", true);
    e.reason = j.value("reason", "");
    e.screenshot = j.value("screenshot", j.value("file", ""));
    e.why = j.value("why", "");
    e.level = j.value("level", "");
    e.text = j.value("text", "");
    if (j.contains("verdict")) ValueOf(kVerdicts, j["verdict"].get<std::string>(), &e.verdict);
    for (const json& c : j.value("candidates", json::array())) {
      LocatorCandidate candidate;
      candidate.source = c.at("source").get<std::string>();
      const json& box = c.at("box");
      candidate.x = IntOf(box.at(0), "box");
      candidate.y = IntOf(box.at(1), "box");
      candidate.width = IntOf(box.at(2), "box");
      candidate.height = IntOf(box.at(3), "box");
      candidate.score = c.at("score");
      candidate.description = c.value("description", "");
      e.candidates.push_back(candidate);
    }
    if (j.contains("output")) {
      const json& o = j["output"];
      e.output = CommandOutput{IntOf(o.at("exit_code"), "exit_code"), o.value("stdout", ""),
                               o.value("stderr", ""), o.value("timed_out", false)};
    }
    for (const json& p : j.value("pointer", json::array())) {
      if (e.pointer.size() >= kMaxPointerInputsPerStep) break;
      PointerInput input;
      input.kind = p.at("kind").get<std::string>();
      input.x = IntOf(p.at("at").at(0), "at");
      input.y = IntOf(p.at("at").at(1), "at");
      if (p.contains("to")) {
        input.to_x = IntOf(p["to"].at(0), "to");
        input.to_y = IntOf(p["to"].at(1), "to");
      }
      e.pointer.push_back(input);
    }
    if (auto s = j.find("snapshot"); s != j.end() && s->is_object()) {
      FailureSnapshot snapshot;
      for (const json& w : s->value("words", json::array())) {
        if (snapshot.words.size() >= FailureSnapshot::kMaxWords) break;
        const json& box = w.at("box");
        snapshot.words.push_back({.text = w.at("text").get<std::string>(),
                                  .x = IntOf(box.at(0), "box"),
                                  .y = IntOf(box.at(1), "box"),
                                  .width = IntOf(box.at(2), "box"),
                                  .height = IntOf(box.at(3), "box"),
                                  .confidence = w.value("confidence", 0.0)});
      }
      snapshot.ocr_error = s->value("ocr_error", "");
      snapshot.accessible_tree =
          s->value("accessible_tree", "").substr(0, FailureSnapshot::kMaxTreeBytes);
      snapshot.accessible_nodes = IntOr(*s, "accessible_nodes", 0);
      snapshot.accessible_error = s->value("accessible_error", "");
      e.snapshot = std::move(snapshot);
    }
    for (const json& c : j.value("vlm", json::array())) {
      VlmCall call;
      call.kind = c.at("kind").get<std::string>();
      call.prompt = c.at("prompt").get<std::string>();
      call.screenshot = c.value("screenshot", "");
      call.answer = c.at("answer").get<bool>();
      if (c.contains("point")) {
        call.x = IntOf(c["point"].at(0), "point");
        call.y = IntOf(c["point"].at(1), "point");
      }
      call.confidence = c.value("confidence", 0.0);
      call.reason = c.value("reason", "");
      call.model = c.value("model", "");
      call.cache_hit = c.value("cache_hit", false);
      e.vlm_calls.push_back(std::move(call));
    }
  } catch (const json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("malformed event: ", error.what()));
  } catch (const BadField& error) {
    return absl::InvalidArgumentError(absl::StrCat("malformed event: ", error.what()));
  }
  return e;
}

absl::StatusOr<EventLog> EventLog::Open(const std::string& path) {
  FILE* file = fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  return EventLog(path, file);
}

EventLog::EventLog(EventLog&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) {
  other.file_ = nullptr;
}

EventLog& EventLog::operator=(EventLog&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) fclose(file_);
    path_ = std::move(other.path_);
    file_ = other.file_;
    other.file_ = nullptr;
  }
  return *this;
}

EventLog::~EventLog() {
  if (file_ != nullptr) fclose(file_);
}

absl::Status EventLog::Sync() {
  if (fflush(file_) != 0 || fdatasync(fileno(file_)) != 0) {
    return absl::DataLossError(absl::StrCat("cannot sync ", path_, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status EventLog::Append(const Event& event, bool sync) {
  std::string line = ToJsonLine(event);
  line.push_back('\n');
  if (fwrite(line.data(), 1, line.size(), file_) != line.size() || fflush(file_) != 0 ||
      (sync && fdatasync(fileno(file_)) != 0)) {
    return absl::DataLossError(
        absl::StrCat("cannot write event to ", path_, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Event>> ReadEventLog(const std::string& path,
                                                const MalformedLine& skip_malformed) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<Event> events;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    absl::StatusOr<Event> event = FromJsonLine(line);
    if (!event.ok()) {
      std::string where = absl::StrCat(path, ":", number);
      if (!skip_malformed) {
        return absl::DataLossError(absl::StrCat(where, ": ", event.status().message()));
      }
      skip_malformed(where, event.status());
      continue;
    }
    events.push_back(std::move(*event));
  }
  return events;
}

}  // namespace mosdat

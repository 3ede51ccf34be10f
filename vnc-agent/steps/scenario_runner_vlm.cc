// The scenario runner's VLM steps: localize (with its cross-check and follow-up
// questions), verify / verify_not, and VLM conditions of wait_for and if_visible.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/outcome.h"
#include "core/time_left.h"
#include "core/visual_match.h"
#include "vnc-agent/rfb/key_input.h"
#include "vnc-agent/steps/scenario_runner.h"

namespace mosdat {
namespace {

constexpr char kNoVlm[] =
    " needs a vision-language model, and none is configured: add a [vlm] table (base_url, "
    "model) to the config, or start mosdat-agent with --vlm-gateway HOST:PORT";

constexpr absl::Duration kVlmPollInterval = absl::Seconds(1);
// A screen is settled when no update came for kSettleQuiet: GTK fades a button's hover
// for 200 ms once the pointer is parked. A model shown a frame mid-fade judges a screen
// no one sees, and the gateway's cache, keyed by the image, misses on every run.
constexpr absl::Duration kSettleQuiet = absl::Milliseconds(300);
constexpr absl::Duration kSettleLimit = absl::Seconds(3);

// A gateway failure is never the application's fault: the step ends as an
// infrastructure error, keeping the gateway's explanation.
absl::Status GatewayError(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(
        absl::StrCat("the vlm-gateway did not answer in time: ", status.message()));
  }
  return absl::UnavailableError(absl::StrCat("vlm-gateway: ", status.message()));
}

// The first "double-quoted" (or “typographic”) phrase of a prompt: the label a
// localized element should carry, e.g. `the "Save" button` → Save.
std::optional<std::string> QuotedPhrase(const std::string& prompt) {
  for (auto [open, close] : {std::pair<std::string_view, std::string_view>{"\"", "\""},
                             std::pair<std::string_view, std::string_view>{"\u201c", "\u201d"}}) {
    size_t begin = prompt.find(open);
    if (begin == std::string::npos) continue;
    begin += open.size();
    size_t end = prompt.find(close, begin);
    if (end == std::string::npos) continue;
    std::string phrase(absl::StripAsciiWhitespace(prompt.substr(begin, end - begin)));
    if (phrase.empty()) continue;
    return phrase;
  }
  return std::nullopt;
}

Rect Inflate(const Rect& r, int by) {
  return {r.x - by, r.y - by, r.width + 2 * by, r.height + 2 * by};
}

bool Contains(const Rect& r, Point p) {
  return p.x >= r.x && p.x < r.x + r.width && p.y >= r.y && p.y < r.y + r.height;
}

// Where OCR looks first for the cross-check: a band around the point (fast), before
// the whole screen (slow on text-heavy screens).
Rect AroundPoint(Point p, const Frame& frame) {
  Rect r{std::max(0, p.x - 240), std::max(0, p.y - 60), 480, 120};
  r.width = std::min(r.width, frame.width - r.x);
  r.height = std::min(r.height, frame.height - r.y);
  return r;
}

// Polling an unchanged screen asks the same question of the same image again (a cache
// hit); the evidence keeps one record of it.
void RecordCall(std::vector<VlmCall>& calls, VlmCall call) {
  if (!calls.empty() && calls.back().kind == call.kind && calls.back().prompt == call.prompt &&
      calls.back().screenshot == call.screenshot) {
    return;
  }
  calls.push_back(std::move(call));
}

}  // namespace

absl::StatusOr<VlmClient*> ScenarioRunner::Vlm(std::string_view step_kind) {
  if (!options_.vlm) return absl::UnavailableError(absl::StrCat(std::string(step_kind), kNoVlm));
  return options_.vlm.get();
}

absl::StatusOr<VlmImage> ScenarioRunner::VlmScreen(const Frame& frame, std::string* file_name) {
  // The same framebuffer update asked about again (accept_any prompts, follow-up
  // questions, polls of a still screen) is neither encoded nor stored again.
  if (last_vlm_update_seq_ != frame.update_seq || last_vlm_file_.empty()) {
    absl::StatusOr<std::string> png = EncodePng(frame);
    if (!png.ok()) return png.status();
    if (*png != last_vlm_png_ || last_vlm_file_.empty()) {
      last_vlm_file_ = EmitScreenshot(attempt_.step_index, "vlm", *png);
      last_vlm_png_ = *std::move(png);
    }
    last_vlm_update_seq_ = frame.update_seq;
  }
  *file_name = last_vlm_file_;
  return VlmImage{.png = last_vlm_png_, .width = frame.width, .height = frame.height};
}

absl::StatusOr<LocalizeResult> ScenarioRunner::AskWhere(const Frame& frame,
                                                        const std::string& prompt,
                                                        absl::Time deadline) {
  absl::StatusOr<VlmClient*> vlm = Vlm("localize");
  if (!vlm.ok()) return vlm.status();
  std::string screenshot;
  absl::StatusOr<VlmImage> image = VlmScreen(frame, &screenshot);
  if (!image.ok()) return image.status();
  absl::StatusOr<LocalizeResult> result =
      (*vlm)->Localize({.image = std::move(*image), .prompt = prompt}, TimeLeft(deadline));
  if (!result.ok()) return GatewayError(result.status());
  VlmCall record = RecordOf(*result);
  record.prompt = prompt;
  record.screenshot = std::move(screenshot);
  RecordCall(attempt_.details.vlm_calls, std::move(record));
  if (result->found) {
    attempt_.details.candidates.push_back({"vlm", result->x, result->y, 0, 0, result->confidence,
                                           absl::StrCat("\"", prompt, "\" (", result->model,
                                                        result->cache_hit ? ", cached" : "", ")")});
  }
  return result;
}

absl::StatusOr<VerifyResult> ScenarioRunner::AskWhether(const Frame& frame,
                                                        const std::string& question,
                                                        absl::Time deadline) {
  absl::StatusOr<VlmClient*> vlm = Vlm("verify");
  if (!vlm.ok()) return vlm.status();
  std::string screenshot;
  absl::StatusOr<VlmImage> image = VlmScreen(frame, &screenshot);
  if (!image.ok()) return image.status();
  absl::StatusOr<VerifyResult> result =
      (*vlm)->Verify({.image = std::move(*image), .question = question}, TimeLeft(deadline));
  if (!result.ok()) return GatewayError(result.status());
  VlmCall record = RecordOf(*result);
  record.prompt = question;
  record.screenshot = std::move(screenshot);
  RecordCall(attempt_.details.vlm_calls, std::move(record));
  return result;
}

absl::Status ScenarioRunner::CrossCheck(const LocalizeCrossCheck& check, const std::string& prompt,
                                        const Frame& frame, Point point, absl::Time deadline) {
  if (!check.enabled) return absl::OkStatus();
  const std::string at = absl::StrFormat("(%d,%d)", point.x, point.y);
  if (check.atspi) {
    absl::StatusOr<GuestSession*> guest = Guest("cross_check.atspi");
    if (!guest.ok()) {
      // The check cannot run at all: never "not visible".
      return OutcomeOf(guest.status()) == Outcome::kTestFailed
                 ? absl::UnavailableError(guest.status().message())
                 : guest.status();
    }
    std::optional<AccessibleObject> object;
    absl::Status found = (*guest)->WithAtspi([&](AtspiClient& client) {
      absl::StatusOr<AccessibleObject> o = client.Find(*check.atspi, TimeLeft(deadline), false);
      if (o.ok()) object = *o;
      return o.status();
    });
    if (found.code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(
          absl::StrCat("cross-check: no accessible object to confirm the model's point ", at,
                       " for \"", prompt, "\": ", found.message()));
    }
    if (!found.ok()) return found;
    bool agrees = Contains(Inflate(object->box, 4), point);
    attempt_.details.candidates.push_back(
        {"atspi", object->box.x, object->box.y, object->box.width, object->box.height,
         agrees ? 1.0 : 0.0,
         absl::StrCat(
             object->role, " \"", object->name, "\"",
             agrees ? " (confirms the model's point)" : " (not under the model's point)")});
    if (agrees) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("the model's point ", at, " for \"", prompt, "\" is not on ", object->role,
                     " \"", object->name, "\" at ", FormatRect(object->box)));
  }

  const bool explicit_text = check.text.has_value();
  std::optional<std::string> text = explicit_text ? check.text : QuotedPhrase(prompt);
  if (!text) return absl::OkStatus();  // nothing names what the element should read
  absl::StatusOr<OcrEngine*> ocr = Ocr();
  if (!ocr.ok()) return ocr.status();
  auto near = [&](const OcrMatch& m) {
    return Contains(Inflate(m.box, std::max(12, m.box.height)), point);
  };
  auto record = [&](const std::vector<OcrMatch>& matches) {
    for (const OcrMatch& m : matches) {
      attempt_.details.candidates.push_back(
          {"ocr", m.box.x, m.box.y, m.box.width, m.box.height, m.confidence / 100.0,
           absl::StrCat(
               "\"", m.text, "\"",
               near(m) ? " (confirms the model's point)" : " (away from the model's point)")});
    }
  };
  absl::StatusOr<std::vector<OcrMatch>> matches =
      (*ocr)->Find(frame, *text, AroundPoint(point, frame));
  if (!matches.ok()) return matches.status();
  for (const OcrMatch& m : *matches) {
    if (near(m)) {
      record({m});
      return absl::OkStatus();
    }
  }
  matches = (*ocr)->Find(frame, *text, std::nullopt);
  if (!matches.ok()) return matches.status();
  record(*matches);
  if (std::any_of(matches->begin(), matches->end(), near)) return absl::OkStatus();
  if (matches->empty()) {
    if (explicit_text) {
      return absl::FailedPreconditionError(absl::StrCat("cross-check: OCR does not read \"", *text,
                                                        "\" anywhere on the screen, so the model's "
                                                        "point ",
                                                        at, " for \"", prompt,
                                                        "\" is not confirmed"));
    }
    Log("warning",
        absl::StrCat("localize \"", prompt, "\": OCR does not read \"", *text,
                     "\" on the screen; the model's point ", at, " is taken unconfirmed"));
    return absl::OkStatus();
  }
  std::vector<std::string> boxes;
  for (const OcrMatch& m : *matches) boxes.push_back(FormatRect(m.box));
  return absl::FailedPreconditionError(absl::StrCat("the model's point ", at, " for \"", prompt,
                                                    "\" is not where OCR reads \"", *text,
                                                    "\": ", absl::StrJoin(boxes, ", ")));
}

absl::StatusOr<Frame> ScenarioRunner::SettledScreen(absl::Time deadline) {
  absl::StatusOr<Frame> frame = screen_.CaptureAfterInput(absl::Seconds(5));
  if (!frame.ok()) return frame;
  const absl::Time limit = std::min(deadline, absl::Now() + kSettleLimit);
  while (absl::Now() < limit) {
    absl::StatusOr<Frame> next =
        WaitForUpdate(frame->update_seq, std::min(kSettleQuiet, limit - absl::Now()));
    if (!next.ok()) {
      if (next.status().code() != absl::StatusCode::kDeadlineExceeded) return next.status();
      if (absl::Status s = Interruption(); !s.ok()) return s;
      break;  // still for kSettleQuiet (or out of time): what there is
    }
    frame = std::move(next);
  }
  return frame;
}

absl::Status ScenarioRunner::ExecuteLocalize(const LocalizeStep& step, absl::Time deadline) {
  if (absl::StatusOr<VlmClient*> vlm = Vlm("localize"); !vlm.ok()) return vlm.status();
  if (absl::Status s = ParkPointer(); !s.ok()) return s;
  std::vector<std::string> prompts = {step.prompt};
  prompts.insert(prompts.end(), step.accept_any.begin(), step.accept_any.end());

  // Ask on the newest settled screen; when no prompt leads to a confirmed point, ask again
  // once the screen changes (the element may not be drawn yet), until the deadline.
  absl::StatusOr<Frame> frame = SettledScreen(deadline);
  std::optional<Point> target;
  std::vector<std::string> misses;
  bool asked_once = false;
  while (true) {
    if (!frame.ok()) return frame.status();
    misses.clear();
    for (const std::string& prompt : prompts) {
      absl::StatusOr<LocalizeResult> where = AskWhere(*frame, prompt, deadline);
      if (!where.ok() && where.status().code() == absl::StatusCode::kDeadlineExceeded &&
          asked_once && absl::Now() >= deadline) {
        // A re-ask cut short by the step's deadline: the earlier answers stand.
        misses.push_back(absl::StrCat("\"", prompt, "\": no answer before the step's deadline"));
        break;
      }
      if (!where.ok()) return where.status();
      if (!where->found) {
        misses.push_back(absl::StrCat("\"", prompt, "\": the model did not find it"));
        continue;
      }
      Point point{where->x, where->y};
      absl::Status checked = CrossCheck(step.cross_check, prompt, *frame, point, deadline);
      if (checked.code() == absl::StatusCode::kFailedPrecondition) {
        misses.push_back(std::string(checked.message()));
        continue;
      }
      if (!checked.ok()) return checked;
      target = point;
      break;
    }
    asked_once = true;
    if (target || absl::Now() >= deadline || step.if_visible) break;
    absl::StatusOr<Frame> next = WaitForUpdate(frame->update_seq, TimeLeft(deadline));
    if (absl::Status s = Interruption(); !s.ok()) return s;
    if (!next.ok() && next.status().code() != absl::StatusCode::kDeadlineExceeded) {
      return next.status();  // e.g. the VNC connection is gone
    }
    if (!next.ok() || absl::Now() >= deadline) break;  // no new screen in time
    frame = std::move(next);
  }
  if (!target && step.if_visible) {
    Log("info", absl::StrCat("localize: not visible (", absl::StrJoin(misses, "; "),
                             "); if_visible, so nothing was done"));
    return absl::OkStatus();
  }
  if (!target) {
    return absl::FailedPreconditionError(
        absl::StrCat("localize found no confirmed point: ", absl::StrJoin(misses, "; ")));
  }

  before_last_action_ = *frame;
  if (step.click) {
    absl::StatusOr<Frame> before_click = screen_.Capture();
    if (!before_click.ok()) return before_click.status();
    if (absl::Status s = screen_.Click(target->x, target->y, RfbButton(step.button), 1); !s.ok()) {
      return s;
    }
    // Keys sent right behind the click can reach the app before it has moved the
    // focus (measured: GTK3 entries lose them).
    if (step.then_type || step.then_key) AwaitClickEffect(*before_click, deadline, nullptr);
  }
  if (step.then_type) {
    if (absl::Status s = TypeText(*step.then_type, deadline); !s.ok()) return s;
  }
  if (step.then_key) {
    if (absl::Status s = PressCombo(screen_, *step.then_key); !s.ok()) return s;
  }
  if (step.verify.empty()) return absl::OkStatus();

  // The follow-up questions check what the action did: asked on each newer screen until
  // every answer is as expected, or the step's deadline.
  WaitForStep follow_up;
  follow_up.mode = WaitForStep::Mode::kAll;
  for (const VlmCondition& question : step.verify) follow_up.conditions.push_back(question);
  absl::Time asked_until = deadline;
  if (step.verify_timeout_seconds) {
    asked_until = std::min(deadline, absl::Now() + absl::Seconds(*step.verify_timeout_seconds));
  }
  follow_up.timeout_seconds = absl::ToDoubleSeconds(TimeLeft(asked_until));
  absl::Status verified = ExecuteWaitFor(follow_up, asked_until);
  if (verified.code() == absl::StatusCode::kFailedPrecondition) {
    return absl::FailedPreconditionError(
        absl::StrFormat("after acting at (%d,%d): %s", target->x, target->y, verified.message()));
  }
  return verified;
}

absl::Status ScenarioRunner::ExecuteVerify(const VerifyStep& step, absl::Time deadline) {
  if (absl::StatusOr<VlmClient*> vlm = Vlm("verify"); !vlm.ok()) return vlm.status();
  if (absl::Status s = ParkPointer(); !s.ok()) return s;
  // A screen newer than the last input: an older one is the commonest "VLM flake".
  absl::StatusOr<Frame> frame = SettledScreen(deadline);
  if (!frame.ok()) return frame.status();
  absl::StatusOr<VerifyResult> result = AskWhether(*frame, step.question, deadline);
  if (!result.ok()) return result.status();
  if (result->answer == step.expect) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("\"", step.question, "\": the model answered ", result->answer ? "yes" : "no",
                   " (expected ", step.expect ? "yes" : "no", "): ", result->reason));
}

absl::StatusOr<bool> ScenarioRunner::VlmHolds(const VlmCondition& condition, const Frame& now,
                                              absl::Time deadline, std::string* why_not) {
  // Polled conditions ask at most once a second: on a screen that keeps changing (a
  // caret, a spinner) every poll would otherwise be a new model call and screenshot.
  const std::pair<std::string, bool> key{condition.question, condition.expect};
  auto last = attempt_.vlm_looks.find(key);
  if (last != attempt_.vlm_looks.end() && absl::Now() - last->second.first < kVlmPollInterval) {
    return last->second.second;
  }
  absl::StatusOr<VerifyResult> result = AskWhether(now, condition.question, deadline);
  if (!result.ok() && result.status().code() == absl::StatusCode::kDeadlineExceeded &&
      last != attempt_.vlm_looks.end() && absl::Now() >= deadline) {
    return last->second.second;  // cut short by the step's deadline: the last answer stands
  }
  if (!result.ok()) return result.status();
  if (why_not != nullptr) {
    *why_not = absl::StrCat("\"", condition.question, "\": ", result->answer ? "yes" : "no", ", ",
                            result->reason);
  }
  const bool holds = result->answer == condition.expect;
  attempt_.vlm_looks[key] = {absl::Now(), holds};
  return holds;
}

}  // namespace mosdat

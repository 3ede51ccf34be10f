// ScenarioRunner::SnapshotAtFailure: what was on the screen and in the accessibility
// tree when a step failed (core/events.h FailureSnapshot), for the trace viewer.
#include "absl/strings/str_cat.h"
#include "vnc-agent/steps/accessibility_dump.h"
#include "vnc-agent/steps/scenario_runner.h"

namespace mosdat {
namespace {

// The helper walks the whole desktop: bounded like a step is.
constexpr absl::Duration kTreeTimeout = absl::Seconds(15);

// `text` cut at the last whole line within `max_bytes`, saying so.
std::string WithinBytes(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  const size_t end = text.rfind('\n', max_bytes);
  text.resize(end == std::string::npos ? 0 : end + 1);
  text += "… (cut: the tree is bigger than this)\n";
  return text;
}

}  // namespace

FailureSnapshot ScenarioRunner::SnapshotAtFailure() {
  FailureSnapshot snapshot;
  absl::StatusOr<Frame> frame = screen_.Capture();
  absl::StatusOr<OcrEngine*> ocr = frame.ok() ? Ocr() : frame.status();
  absl::StatusOr<std::vector<OcrWord>> words =
      ocr.ok() ? (*ocr)->Words(*frame, std::nullopt) : ocr.status();
  if (words.ok()) {
    for (const OcrWord& word : *words) {
      if (snapshot.words.size() >= FailureSnapshot::kMaxWords) break;
      snapshot.words.push_back(
          {word.text, word.box.x, word.box.y, word.box.width, word.box.height, word.confidence});
    }
  } else {
    snapshot.ocr_error = std::string(words.status().message());
  }
  // The tree only through a way in the VM already has: a screen-only VM stays one.
  if (!options_.guest) {
    snapshot.accessible_error = "this VM has no SSH access configured";
    return snapshot;
  }
  absl::StatusOr<GuestSession*> guest = options_.guest();
  absl::Status asked = guest.ok() ? (*guest)->WithAtspi([&](AtspiClient& atspi) {
    absl::StatusOr<nlohmann::json> dump =
        atspi.Call({{"op", "dump"}, {"boxes", true}}, kTreeTimeout);
    if (!dump.ok()) return dump.status();
    auto nodes = dump->find("nodes");
    snapshot.accessible_nodes =
        nodes != dump->end() && nodes->is_number_integer() ? nodes->get<int>() : 0;
    auto tree = dump->find("tree");
    if (tree == dump->end() || !tree->is_object()) {
      return absl::DataLossError("the guest helper's dump has no tree");
    }
    snapshot.accessible_tree =
        WithinBytes(FormatAccessibilityTree(*tree), FailureSnapshot::kMaxTreeBytes);
    return absl::OkStatus();
  })
                                  : guest.status();
  if (!asked.ok()) snapshot.accessible_error = std::string(asked.message());
  return snapshot;
}

}  // namespace mosdat

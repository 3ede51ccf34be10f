#include "live/semantic_target.h"

namespace mosdat {
namespace {

using nlohmann::json;

std::string StringOf(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool Contains(const json& box, int x, int y) {
  if (!box.is_object()) return false;
  const int bx = box.value("x", 0), by = box.value("y", 0);
  return x >= bx && y >= by && x < bx + box.value("width", 0) && y < by + box.value("height", 0);
}

// The query that picks `accessible` (a Describe's at_point object), or null.
json AtspiQueryFor(ScreenBackend& backend, const std::string& session, const json& accessible) {
  if (!accessible.is_object()) return nullptr;
  const std::string role = StringOf(accessible, "role");
  const std::string name = StringOf(accessible, "name");
  const std::string app = StringOf(accessible, "app");
  // A nameless object cannot be told apart by anything a reader would understand.
  if (role.empty() || name.empty() || !accessible.contains("path")) return nullptr;
  for (int index = 0; index < kMaxLookAlikes; ++index) {
    json query = {{"role", role}, {"name", name}, {"index", index}, {"verify", false}};
    if (!app.empty()) query["app"] = app;
    absl::StatusOr<json> found = backend.Find(session, query);
    if (!found.ok()) return nullptr;  // no more look-alikes, or the guest cannot say
    if (found->value("path", json()) != accessible["path"]) continue;
    query.erase("verify");
    if (index == 0) query.erase("index");
    return query;
  }
  return nullptr;
}

// The OCR word under the point, when no other word in view reads the same.
json TextAt(const json& described, int x, int y) {
  const json words = described.value("words", json::array());
  std::string under;
  for (const json& word : words) {
    if (Contains(word.value("box", json()), x, y)) under = StringOf(word, "text");
  }
  if (under.size() < 2) return nullptr;  // a single glyph is too easy to misread
  int same = 0;
  for (const json& word : words) same += StringOf(word, "text") == under ? 1 : 0;
  return same == 1 ? json(under) : json(nullptr);
}

}  // namespace

json SemanticTargets(ScreenBackend& backend, const std::string& session, const json& described,
                     int x, int y) {
  return {{"atspi", AtspiQueryFor(backend, session, described.value("accessible", json()))},
          {"text", TextAt(described, x, y)}};
}

json StepForTarget(const std::string& action, const json& targets, int x, int y) {
  const json atspi = targets.value("atspi", json());
  // An atspi step clicks its object's centre (checked by hit-testing first).
  if (action == "click" && atspi.is_object()) return {{"atspi", atspi}};
  const json text = targets.value("text", json());
  if (text.is_string()) return {{action, text}};
  return {{action, {{"x", x}, {"y", y}}}};
}

}  // namespace mosdat

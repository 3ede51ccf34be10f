// What a scenario step should name to reach the thing at a point again: the accessible
// object (an `atspi` query that picks that very object, with the index that tells it
// from look-alikes) when there is one, else the OCR word under the point, else nothing
// (the caller falls back to coordinates). A step that names its target survives a
// window moving; coordinates do not.
#ifndef MOSDAT_LIVE_SEMANTIC_TARGET_H_
#define MOSDAT_LIVE_SEMANTIC_TARGET_H_

#include <nlohmann/json.hpp>

#include "live/screen_backend.h"

namespace mosdat {

// The most look-alikes (same app, role and name) tried before giving up on an index.
inline constexpr int kMaxLookAlikes = 8;

// `described` is a ScreenBackend::Describe answer for (x, y). Answers {"atspi": query
// or null, "text": word or null}: the query is checked with `backend.Find` to pick the
// object at the point (same path), never guessed.
nlohmann::json SemanticTargets(ScreenBackend& backend, const std::string& session,
                               const nlohmann::json& described, int x, int y);

// The step that does `action` ("click", "double_click", "right_click", "hover") to the
// best of `targets`, else at (x, y).
nlohmann::json StepForTarget(const std::string& action, const nlohmann::json& targets, int x,
                             int y);

}  // namespace mosdat

#endif  // MOSDAT_LIVE_SEMANTIC_TARGET_H_

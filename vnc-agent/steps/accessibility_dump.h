// The accessibility tree of a VM's desktop, for `mosdat atspi-dump` and authoring: what
// roles, names and states a scenario can target. A local VM's desktop (with the app)
// is brought up for the call and stopped afterwards.
#ifndef MOSDAT_VNC_AGENT_STEPS_ACCESSIBILITY_DUMP_H_
#define MOSDAT_VNC_AGENT_STEPS_ACCESSIBILITY_DUMP_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/job.h"

namespace mosdat {

struct AccessibilityDump {
  nlohmann::json tree;  // {"role", "name", "states", "box", "children": [...]}
  int nodes = 0;
  double guest_ms = 0;  // the walk inside the guest
};

// `app` empty = every application. Waits up to `timeout` for a window (of `app`, when
// given) before dumping.
absl::StatusOr<AccessibilityDump> DumpVmAccessibility(const VmTarget& vm, const std::string& app,
                                                      bool boxes, absl::Duration timeout);

// The tree as indented text, one object per line: role "name" [states] @x,y wxh.
std::string FormatAccessibilityTree(const nlohmann::json& tree);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_ACCESSIBILITY_DUMP_H_

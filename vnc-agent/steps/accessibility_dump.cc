#include "vnc-agent/steps/accessibility_dump.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/time_left.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/steps/guest_access.h"

namespace mosdat {
namespace {

using nlohmann::json;

std::string StringField(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

void AppendNode(const json& node, int depth, std::string* out) {
  if (!node.is_object()) return;
  absl::StrAppend(out, std::string(2 * depth, ' '), StringField(node, "role"));
  std::string name = StringField(node, "name");
  if (!name.empty()) absl::StrAppend(out, " \"", name, "\"");
  std::vector<std::string> states;
  if (auto it = node.find("states"); it != node.end() && it->is_array()) {
    for (const json& s : *it) {
      if (s.is_string()) states.push_back(s.get<std::string>());
    }
  }
  if (!states.empty()) absl::StrAppend(out, " [", absl::StrJoin(states, ","), "]");
  if (auto it = node.find("box"); it != node.end() && it->is_object()) {
    auto n = [&](const char* k) {
      return it->contains(k) && (*it)[k].is_number() ? (*it)[k].get<int>() : 0;
    };
    // Objects that are not on screen (closed menus) report INT_MIN coordinates.
    if (n("x") <= -1000000 || n("y") <= -1000000) {
      absl::StrAppend(out, " (off-screen)");
    } else {
      absl::StrAppend(out, " @", n("x"), ",", n("y"), " ", n("width"), "x", n("height"));
    }
  }
  out->push_back('\n');
  if (auto it = node.find("children"); it != node.end() && it->is_array()) {
    for (const json& child : *it) AppendNode(child, depth + 1, out);
  }
}

}  // namespace

std::string FormatAccessibilityTree(const json& tree) {
  std::string out;
  AppendNode(tree, 0, &out);
  return out;
}

absl::StatusOr<AccessibilityDump> DumpVmAccessibility(const VmTarget& vm, const std::string& app,
                                                      bool boxes, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::unique_ptr<LocalDesktop> desktop;
  if (vm.provider == VmProvider::kLocal) {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> started =
        LocalDesktop::Start({.width = vm.width,
                             .height = vm.height,
                             .app_command = vm.app_command,
                             .app_env = vm.app_env});
    if (!started.ok()) return started.status();
    desktop = std::move(*started);
  }
  AccessibilityDump dump;
  absl::Status status;
  {
    GuestAccess access(vm, desktop.get(), nullptr);
    absl::StatusOr<GuestSession*> guest = access.Get();
    if (!guest.ok()) return guest.status();
    status = (*guest)->WithAtspi([&](AtspiClient& client) -> absl::Status {
      // A window first: an app that is still starting has no tree worth showing.
      absl::StatusOr<std::optional<AccessibleObject>> window =
          client.WaitFor({.role = "frame", .app = app}, /*exists=*/true, TimeLeft(deadline),
                         absl::Milliseconds(100));
      if (!window.ok()) return window.status();
      absl::StatusOr<json> result =
          client.Dump(app, boxes, std::max(deadline - absl::Now(), absl::Seconds(5)));
      if (!result.ok()) return result.status();
      dump.tree = result->value("tree", json());
      dump.nodes = result->value("nodes", 0);
      dump.guest_ms = result->value("elapsed_ms", 0.0);
      return absl::OkStatus();
    });
  }
  if (desktop) desktop->Stop();
  if (!status.ok()) return status;
  return dump;
}

}  // namespace mosdat

#include "core/observed_environment.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/json_depth.h"
#include "core/shell_quote.h"
#include "core/utf8.h"

namespace mosdat {
namespace {

using nlohmann::json;

struct Field {
  const char* key;
  std::string ObservedEnvironment::*member;
};

constexpr Field kFields[] = {
    {"os", &ObservedEnvironment::os},
    {"kernel", &ObservedEnvironment::kernel},
    {"display", &ObservedEnvironment::display_server},
    {"session", &ObservedEnvironment::session_type},
    {"renderer", &ObservedEnvironment::renderer},
    {"gpu", &ObservedEnvironment::gpu},
    {"app_version", &ObservedEnvironment::app_version},
};

std::string Clean(std::string_view value) { return std::string(Utf8Prefix(ValidUtf8(value), 200)); }

}  // namespace

std::string EnvironmentProbeScript(std::string_view app_package) {
  return absl::StrCat(
      ". /etc/os-release 2>/dev/null; echo \"os=${PRETTY_NAME:-$(uname -s)}\"\n"
      "echo \"kernel=$(uname -r)\"\n"
      "echo \"session=${XDG_SESSION_TYPE:-}\"\n"
      // The session's own sockets decide, not variables a login may lack.
      "rt=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"\n"
      "if [ -n \"${WAYLAND_DISPLAY:-}\" ] || ls \"$rt\"/wayland-[0-9]* >/dev/null 2>&1; "
      "then echo display=wayland; elif [ -n \"${DISPLAY:-}\" ] || ls /tmp/.X11-unix/X* "
      ">/dev/null 2>&1; then echo display=x11; fi\n"
      "if command -v glxinfo >/dev/null 2>&1; then glxinfo -B 2>/dev/null | "
      "sed -n 's/^ *OpenGL renderer string: /renderer=/p' | head -n 1; fi\n"
      "if command -v lspci >/dev/null 2>&1; then lspci 2>/dev/null | "
      "sed -n 's/.*\\(VGA compatible controller\\|3D controller\\|Display controller\\): /gpu=/p' "
      "| "
      "head -n 1; fi\n"
      "app=",
      ShellQuote(std::string(app_package)),
      "\n"
      "if [ -n \"$app\" ]; then v=$(dpkg-query -W -f='${Version}' \"$app\" 2>/dev/null || "
      "rpm -q --qf '%{VERSION}-%{RELEASE}' \"$app\" 2>/dev/null); "
      "[ -n \"$v\" ] && echo \"app_version=$v\"; fi\n"
      "true\n");
}

ObservedEnvironment ParseEnvironmentProbe(std::string_view output) {
  ObservedEnvironment environment;
  output = Utf8Prefix(output, 64 * 1024);
  for (absl::string_view piece : absl::StrSplit(Absl(output), '\n')) {
    const std::string_view line = Std(piece);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    for (const Field& field : kFields) {
      if (key == field.key) environment.*field.member = Clean(line.substr(eq + 1));
    }
  }
  if (environment.display_server != "x11" && environment.display_server != "wayland") {
    environment.display_server.clear();
  }
  return environment;
}

std::string EnvironmentLogText(const ObservedEnvironment& environment) {
  json j = json::object();
  for (const Field& field : kFields) {
    if (!(environment.*field.member).empty()) j[field.key] = environment.*field.member;
  }
  return absl::StrCat(Absl(kEnvironmentLogPrefix),
                      j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<ObservedEnvironment> EnvironmentFromLogText(std::string_view text) {
  if (!text.starts_with(kEnvironmentLogPrefix)) return std::nullopt;
  text.remove_prefix(kEnvironmentLogPrefix.size());
  json j = ParsePeerJson(text);
  if (!j.is_object()) return std::nullopt;
  ObservedEnvironment environment;
  for (const Field& field : kFields) {
    auto it = j.find(field.key);
    if (it != j.end() && it->is_string()) environment.*field.member = Clean(it->get<std::string>());
  }
  return environment;
}

std::string DescribeEnvironment(const ObservedEnvironment& e) {
  std::vector<std::string> parts;
  if (!e.os.empty()) parts.push_back(e.os);
  if (!e.display_server.empty()) parts.push_back(e.display_server == "x11" ? "X11" : "Wayland");
  if (!e.renderer.empty()) parts.push_back(absl::StrCat("renderer ", e.renderer));
  if (!e.gpu.empty()) parts.push_back(absl::StrCat("GPU ", e.gpu));
  if (!e.app_version.empty()) parts.push_back(absl::StrCat("app ", e.app_version));
  return parts.empty() ? "not observed" : absl::StrJoin(parts, ", ");
}

}  // namespace mosdat

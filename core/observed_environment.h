// What a VM actually was while a bug scenario ran (`mosdat confirm` reports it): the
// OS, the display server, how the app rendered (the OpenGL renderer), the GPU and the
// app's installed version — asked of the guest, not taken from the config. The agent
// runs EnvironmentProbeScript() over SSH and records the result as one log event.
#ifndef MOSDAT_CORE_OBSERVED_ENVIRONMENT_H_
#define MOSDAT_CORE_OBSERVED_ENVIRONMENT_H_

#include <optional>
#include <string>
#include <string_view>

namespace mosdat {

struct ObservedEnvironment {
  std::string os;              // /etc/os-release PRETTY_NAME, else uname -s
  std::string kernel;          // uname -r
  std::string display_server;  // "x11" | "wayland" | "" (none found)
  std::string session_type;    // XDG_SESSION_TYPE, when set
  std::string renderer;        // glxinfo's OpenGL renderer ("llvmpipe ...": software)
  std::string gpu;             // lspci's display controller
  std::string app_version;     // the package manager's version of `app_package`
  friend bool operator==(const ObservedEnvironment&, const ObservedEnvironment&) = default;
};

// A POSIX sh script printing key=value lines; `app_package` ("" = none) is the package
// whose version dpkg or rpm is asked.
std::string EnvironmentProbeScript(std::string_view app_package);

// The script's output (untrusted: unknown keys ignored, each value at most 200 bytes
// of valid UTF-8, at most 64 KiB read).
ObservedEnvironment ParseEnvironmentProbe(std::string_view output);

// The log event's text: kEnvironmentLogPrefix then one JSON object.
inline constexpr std::string_view kEnvironmentLogPrefix = "observed environment: ";
std::string EnvironmentLogText(const ObservedEnvironment& environment);
std::optional<ObservedEnvironment> EnvironmentFromLogText(std::string_view text);

// For people: "Debian GNU/Linux 12, X11, renderer llvmpipe (LLVM 15), app 1.2.3".
std::string DescribeEnvironment(const ObservedEnvironment& environment);

}  // namespace mosdat

#endif  // MOSDAT_CORE_OBSERVED_ENVIRONMENT_H_

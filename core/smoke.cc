#include "core/smoke.h"

#include <csignal>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/absl_compat.h"

namespace mosdat {

std::optional<SmokeVariant> VariantOfScript(std::string_view script) {
  // Only the file name counts: the original looked scripts up in its own folder.
  size_t slash = script.rfind('/');
  std::string_view name = slash == std::string_view::npos ? script : script.substr(slash + 1);
  struct Known {
    std::string_view name;
    SmokeVariant variant;
  };
  static constexpr Known kKnown[] = {
      {"test-wayland.sh", SmokeVariant::kWaylandReal},
      {"test-wayland-real.sh", SmokeVariant::kWaylandReal},
      {"test-wayland-fake.sh", SmokeVariant::kWaylandFake},
      {"test-wayland-nodisp.sh", SmokeVariant::kWaylandNoDisplay},
      {"test-no-display.sh", SmokeVariant::kWaylandNoDisplay},
      {"test-x11.sh", SmokeVariant::kX11},
      {"test-x11-gpu.sh", SmokeVariant::kX11},
      {"test-gpu-x11.sh", SmokeVariant::kX11},
  };
  for (const Known& known : kKnown) {
    if (name == known.name) return known.variant;
  }
  return std::nullopt;
}

absl::StatusOr<SmokeSpec> SmokeSpecFor(const Config& config, const TestConfig& test,
                                       const VmConfig& vm) {
  SmokeSpec spec;
  if (test.variant.has_value()) {
    spec.variant = *test.variant;
  } else if (!test.script.empty()) {
    std::optional<SmokeVariant> variant = VariantOfScript(test.script);
    if (!variant) {
      return absl::InvalidArgumentError(absl::StrCat(
          "test \"", test.name, "\": cannot tell the smoke variant of script \"", test.script,
          "\" from its name; replace `script` with `variant = \"wayland-real\"`, "
          "\"wayland-fake\", \"wayland-nodisp\" or \"x11\""));
    }
    spec.variant = *variant;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("test \"", test.name, "\" is not a smoke test (it has no variant)"));
  }
  spec.binary = vm.app_path.empty() ? config.app.binary : vm.app_path;
  if (spec.binary.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("smoke test \"", test.name, "\" on VM \"", vm.name,
                     "\" has no app to run: set [app].binary or the VM's app_path"));
  }
  spec.args = config.app.args;
  spec.env = config.app.env;
  spec.timeout_seconds = config.app.timeout;
  spec.exit_codes = config.app.exit_codes;
  return spec;
}

bool SmokeVariantFromString(std::string_view text, SmokeVariant* variant) {
  for (SmokeVariant v : {SmokeVariant::kWaylandReal, SmokeVariant::kWaylandFake,
                         SmokeVariant::kWaylandNoDisplay, SmokeVariant::kX11}) {
    if (ToString(v) == text) {
      *variant = v;
      return true;
    }
  }
  return false;
}

bool VerdictFromString(std::string_view text, Verdict* verdict) {
  for (Verdict v : {Verdict::kPass, Verdict::kFail, Verdict::kUnknown}) {
    if (ToString(v) == text) {
      *verdict = v;
      return true;
    }
  }
  return false;
}

SmokeEnvironment SmokeEnvironmentFor(const SmokeSpec& spec, const std::string& wayland_socket,
                                     const std::string& missing_socket) {
  static const char* const kToolkitSwitches[] = {"GDK_BACKEND", "QT_QPA_PLATFORM",
                                                 "ELECTRON_OZONE_PLATFORM_HINT", "SDL_VIDEODRIVER"};
  SmokeEnvironment env;
  env.set = spec.env;
  auto unset = [&](const std::string& name) {
    env.set.erase(name);
    env.unset.push_back(name);
  };
  switch (spec.variant) {
    case SmokeVariant::kWaylandReal:
      for (const char* name : kToolkitSwitches) unset(name);
      if (wayland_socket.empty()) {
        env.session_wayland = true;
      } else {
        env.set["WAYLAND_DISPLAY"] = wayland_socket;
      }
      env.set["XDG_SESSION_TYPE"] = "wayland";
      break;
    case SmokeVariant::kWaylandFake:
      for (const char* name : kToolkitSwitches) unset(name);
      env.set["WAYLAND_DISPLAY"] = missing_socket;
      env.set["XDG_SESSION_TYPE"] = "wayland";
      break;
    case SmokeVariant::kWaylandNoDisplay:
      for (const char* name : kToolkitSwitches) unset(name);
      unset("WAYLAND_DISPLAY");
      env.set["XDG_SESSION_TYPE"] = "wayland";
      break;
    case SmokeVariant::kX11:
      unset("WAYLAND_DISPLAY");
      env.set["XDG_SESSION_TYPE"] = "x11";
      env.set["GDK_BACKEND"] = "x11";
      env.set["QT_QPA_PLATFORM"] = "xcb";
      env.set["ELECTRON_OZONE_PLATFORM_HINT"] = "x11";
      break;
  }
  return env;
}

int SeedExitCode(const AppEnd& end) {
  switch (end.kind) {
    case AppEnd::Kind::kExited:
      return end.code;
    case AppEnd::Kind::kSignaled:
      return 128 + end.signal;
    case AppEnd::Kind::kTimedOut:
      return 124;
  }
  return -1;
}

std::string SignalName(int signal) {
  // sigabbrev_np is glibc >= 2.32 (Debian 12 has 2.36).
  const char* abbrev = signal > 0 && signal < NSIG ? sigabbrev_np(signal) : nullptr;
  if (abbrev == nullptr) return absl::StrCat("signal ", signal);
  return absl::StrCat("SIG", abbrev);
}

std::string DescribeAppEnd(const AppEnd& end, int timeout_seconds) {
  switch (end.kind) {
    case AppEnd::Kind::kExited:
      return absl::StrCat("exited ", end.code);
    case AppEnd::Kind::kSignaled:
      return absl::StrCat("killed by signal ", end.signal, " (", SignalName(end.signal), ")");
    case AppEnd::Kind::kTimedOut:
      return absl::StrCat(
          "still running after ", timeout_seconds, " s (timeout); stopped by mOSdat",
          end.after_stop.empty() ? "" : absl::StrCat(" (then ", end.after_stop, ")"));
  }
  return "ended";
}

Verdict SmokeVerdict(const AppEnd& end, const std::map<int, Verdict>& exit_codes) {
  auto it = exit_codes.find(SeedExitCode(end));
  return it == exit_codes.end() ? Verdict::kUnknown : it->second;
}

JobVerdict JobVerdictOf(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return JobVerdict::kPass;
    case Verdict::kFail:
      return JobVerdict::kFail;
    case Verdict::kUnknown:
      return JobVerdict::kUnknown;
  }
  return JobVerdict::kUnknown;
}

std::string SmokeReason(const AppEnd& end, int timeout_seconds,
                        const std::map<int, Verdict>& exit_codes) {
  const int code = SeedExitCode(end);
  const Verdict verdict = SmokeVerdict(end, exit_codes);
  std::string reason = absl::StrCat(DescribeAppEnd(end, timeout_seconds), ": exit code ", code,
                                    " -> ", Absl(ToString(verdict)));
  if (verdict == Verdict::kUnknown) {
    absl::StrAppend(&reason, " (not in the exit-code table; list it in [app.exit_codes])");
  }
  return reason;
}

}  // namespace mosdat

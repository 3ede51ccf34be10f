// Smoke tests: start the app in one display-server environment (a variant), let it run
// for [app].timeout seconds, and judge how it ended by the seed's exit-code table, which
// [app.exit_codes] overrides.
//
// How an app ends is captured exactly (AppEnd): "exited N", "killed by signal N", or
// "still running at the timeout" (then stopped by mOSdat). The seed read these through
// a shell, which folds a signal into 128+N; SeedExitCode() gives that same number, so
// the seed's table and users' [app.exit_codes] keep their meaning, while messages say
// what really happened (an app that calls exit(139) is not reported as a segfault).
//
// Verdicts: PASS -> job pass; FAIL -> job fail; UNKNOWN (a code the table does not
// list) -> job verdict "unknown", which counts as a test failure (exit code 1): it is
// never reported as a pass, and it is not an infrastructure error either, because the
// app did run and end in a way nobody classified.
#ifndef MOSDAT_CORE_SMOKE_H_
#define MOSDAT_CORE_SMOKE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/events.h"

namespace mosdat {

// What an agent needs to run one smoke test on one VM.
struct SmokeSpec {
  SmokeVariant variant = SmokeVariant::kX11;
  std::string binary;  // the app inside the VM (the VM's app_path, else [app].binary)
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // [app.env]
  int timeout_seconds = 30;                // [app].timeout: how long the app may run
  std::map<int, Verdict> exit_codes = DefaultExitCodes();  // [app.exit_codes], complete
};

// The smoke test `test` of `config` on `vm`. InvalidArgument (a config error) when the
// test is not a smoke test, names a script whose variant cannot be told from its name,
// or the VM has no app binary.
absl::StatusOr<SmokeSpec> SmokeSpecFor(const Config& config, const TestConfig& test,
                                       const VmConfig& vm);

// The variant of the original mOSdat's smoke script, from its file name: it ran
// shared/scenarios/smoke-linux/test-<variant>.sh, which set the variant's environment
// and ran the app with `timeout`. mOSdat sets that environment itself, so the script is
// not run. test-wayland.sh / test-wayland-real.sh -> wayland-real, test-wayland-fake.sh
// -> wayland-fake, test-wayland-nodisp.sh / test-no-display.sh -> wayland-nodisp,
// test-x11.sh / test-x11-gpu.sh / test-gpu-x11.sh -> x11; nullopt for other names.
std::optional<SmokeVariant> VariantOfScript(std::string_view script);

// The variant's environment for the app, on top of the session's (DISPLAY, D-Bus...):
//   wayland-real    WAYLAND_DISPLAY = `wayland_socket` (empty: the session's own socket,
//                   found in the VM), XDG_SESSION_TYPE=wayland
//   wayland-fake    WAYLAND_DISPLAY = `missing_socket` (a name no socket has: the app
//                   must fall back to X11), XDG_SESSION_TYPE=wayland
//   wayland-nodisp  no WAYLAND_DISPLAY, XDG_SESSION_TYPE=wayland
//   x11             no WAYLAND_DISPLAY, XDG_SESSION_TYPE=x11, and the toolkits told to use
//                   X11: GDK_BACKEND=x11, QT_QPA_PLATFORM=xcb, ELECTRON_OZONE_PLATFORM_HINT=x11
// The Wayland variants remove those toolkit switches (the local desktop sets
// GDK_BACKEND=x11), so the app picks its backend itself, which is what they test.
// [app.env] comes first; the variant's own variables win over it.
struct SmokeEnvironment {
  std::map<std::string, std::string> set;
  std::vector<std::string> unset;
  bool session_wayland = false;  // wayland-real: use the VM session's Wayland socket
};
SmokeEnvironment SmokeEnvironmentFor(const SmokeSpec& spec, const std::string& wayland_socket,
                                     const std::string& missing_socket);

// Inverses of ToString(SmokeVariant) and ToString(Verdict); false for other text.
bool SmokeVariantFromString(std::string_view text, SmokeVariant* variant);
bool VerdictFromString(std::string_view text, Verdict* verdict);

// How the app ended.
struct AppEnd {
  enum class Kind { kExited, kSignaled, kTimedOut };
  Kind kind = Kind::kExited;
  int code = 0;    // kExited: the exit status (0..255)
  int signal = 0;  // kSignaled: the signal number
  // kTimedOut: how it ended after mOSdat stopped it (informational).
  std::string after_stop;
};

// The seed's number for `end`: the exit status; 128 + signal for a signal (139 for
// SIGSEGV, 134 for SIGABRT); 124 for a timeout.
int SeedExitCode(const AppEnd& end);

// "exited 0", "killed by signal 11 (SIGSEGV)", "still running after 30 s (timeout);
// stopped by mOSdat".
std::string DescribeAppEnd(const AppEnd& end, int timeout_seconds);

// "SIGSEGV" for 11; "signal 64" for numbers without a name.
std::string SignalName(int signal);

// The smoke verdict for `end` under `exit_codes`, and the job verdict it gives.
Verdict SmokeVerdict(const AppEnd& end, const std::map<int, Verdict>& exit_codes);
JobVerdict JobVerdictOf(Verdict verdict);

// The reason a finished smoke job reports, e.g.
// "killed by signal 11 (SIGSEGV): exit code 139 -> fail".
std::string SmokeReason(const AppEnd& end, int timeout_seconds,
                        const std::map<int, Verdict>& exit_codes);

}  // namespace mosdat

#endif  // MOSDAT_CORE_SMOKE_H_

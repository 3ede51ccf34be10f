#include "vnc-agent/guest/guest_session.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/time_left.h"
#include "vnc-agent/guest/guest_helper.h"

namespace mosdat {
namespace {

constexpr char kHelperName[] = "mosdat_atspi_helper.py";
// Commands the agent runs for itself (install checks, launch bookkeeping).
constexpr absl::Duration kHousekeepingTimeout = absl::Seconds(30);
// Importing gi and connecting to the accessibility bus takes ~0.3 s; a loaded VM more.
constexpr absl::Duration kHelperStartTimeout = absl::Seconds(30);
constexpr absl::Duration kLaunchPollInterval = absl::Milliseconds(200);

bool SameAppName(const std::string& a, const std::string& b) {
  return a == b || absl::AsciiStrToLower(a) == absl::AsciiStrToLower(b);
}

std::string Tail(const std::string& text, size_t max) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

}  // namespace

std::string SessionPreamble(bool force_x11) {
  std::string preamble =
      "uid=$(id -u)\n"
      "export DISPLAY=\"${DISPLAY:-:0}\"\n"
      "export XDG_RUNTIME_DIR=\"${XDG_RUNTIME_DIR:-/run/user/$uid}\"\n"
      "export "
      "DBUS_SESSION_BUS_ADDRESS=\"${DBUS_SESSION_BUS_ADDRESS:-unix:path=$XDG_RUNTIME_DIR/bus}\"\n"
      "if [ -z \"${XAUTHORITY:-}\" ]; then\n"
      "  for f in \"$XDG_RUNTIME_DIR\"/gdm/Xauthority \"$XDG_RUNTIME_DIR\"/.mutter-Xwaylandauth.* "
      "\"$XDG_RUNTIME_DIR\"/xauth_* \"$HOME/.Xauthority\"; do\n"
      "    if [ -r \"$f\" ]; then export XAUTHORITY=\"$f\"; break; fi\n"
      "  done\n"
      "fi\n";
  if (force_x11) {
    // GTK, Qt, Electron (ozone) and SDL on X11, where AT-SPI extents and the VNC
    // framebuffer agree.
    preamble +=
        "export GDK_BACKEND=x11 QT_QPA_PLATFORM=xcb ELECTRON_OZONE_PLATFORM_HINT=x11 "
        "SDL_VIDEODRIVER=x11\n"
        "unset WAYLAND_DISPLAY\n";
  }
  return preamble;
}

absl::StatusOr<std::unique_ptr<GuestSession>> GuestSession::Connect(GuestOptions options) {
  absl::StatusOr<std::unique_ptr<SshSession>> ssh = SshSession::Connect(options.ssh);
  if (!ssh.ok()) return ssh.status();
  return std::unique_ptr<GuestSession>(new GuestSession(std::move(options), std::move(*ssh)));
}

GuestSession::~GuestSession() { StopHelper(); }

void GuestSession::Log(const std::string& text) {
  if (options_.log) options_.log(text);
}

absl::Status GuestSession::EnsureConnected() {
  if (ssh_->connected()) return absl::OkStatus();
  StopHelper();
  Log("the SSH connection was lost; reconnecting");
  return ssh_->Reconnect();
}

absl::StatusOr<SshExecResult> GuestSession::Shell(const std::string& command, bool x11,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  const std::string script = x11 ? SessionPreamble(/*force_x11=*/true) + command : command;
  absl::StatusOr<SshExecResult> result = ssh_->Exec(script, timeout);
  // A connection that died unnoticed (VM suspended, sshd restarted) is found out by the
  // first command; when it never reached the server, run it on a new connection.
  if (!result.ok() && CommandNotStarted(result.status())) {
    if (absl::Status s = EnsureConnected(); !s.ok()) return s;
    result = ssh_->Exec(script, TimeLeft(deadline));
  }
  return result;
}

absl::StatusOr<std::unique_ptr<SshProcess>> GuestSession::StartProcess(const std::string& command) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<SshProcess>> process = ssh_->Start(command);
  if (!process.ok() && CommandNotStarted(process.status())) {
    if (absl::Status s = EnsureConnected(); !s.ok()) return s;
    process = ssh_->Start(command);
  }
  return process;
}

absl::StatusOr<std::string> GuestSession::InstallHelper() {
  absl::StatusOr<SshExecResult> probe = ssh_->Exec(
      absl::StrCat("mkdir -p \"$HOME/.cache/mosdat\" && cd \"$HOME/.cache/mosdat\" && pwd && "
                   "{ sha256sum ",
                   kHelperName, " 2>/dev/null || true; }"),
      kHousekeepingTimeout);
  if (!probe.ok()) return probe.status();
  if (probe->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ~/.cache/mosdat on the guest: ", Tail(probe->err, 500)));
  }
  std::vector<std::string> lines = absl::StrSplit(probe->out, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0].empty() || lines[0][0] != '/') {
    return absl::DataLossError(
        absl::StrCat("unexpected answer while locating ~/.cache/mosdat: ", Tail(probe->out, 200)));
  }
  std::string path = absl::StrCat(lines[0], "/", kHelperName);
  std::string remote_hash = lines.size() > 1 && lines[1].size() >= 64 ? lines[1].substr(0, 64) : "";
  if (remote_hash == AtspiHelperSha256()) return path;
  if (absl::Status s = ssh_->Upload(path, AtspiHelperSource(), 0755); !s.ok()) return s;
  Log(absl::StrCat("installed the AT-SPI helper (sha256 ",
                   std::string(AtspiHelperSha256().substr(0, 12)), ") at ", path));
  return path;
}

absl::Status GuestSession::EnsureHelper() {
  if (helper_ && helper_->alive()) return absl::OkStatus();
  StopHelper();
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  absl::StatusOr<std::string> path = InstallHelper();
  if (!path.ok()) return path.status();
  absl::StatusOr<std::unique_ptr<SshProcess>> process =
      ssh_->Start(SessionPreamble(/*force_x11=*/false) + "exec " + ShellQuote(options_.python) +
                  " -u " + ShellQuote(*path));
  if (!process.ok()) return process.status();
  auto client = std::make_unique<AtspiClient>(**process);
  absl::StatusOr<int> pid = client->Ping(kHelperStartTimeout);
  if (!pid.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the AT-SPI helper did not start on the guest (it needs ", options_.python,
        " with python3-gi and gir1.2-atspi-2.0, and a desktop session): ", pid.status().message()));
  }
  helper_ = std::move(*process);
  client_ = std::move(client);
  helper_pid_ = *pid;
  ++helper_starts_;
  if (helper_starts_ > 1) Log(absl::StrCat("AT-SPI helper restarted (pid ", *pid, ")"));
  return absl::OkStatus();
}

void GuestSession::StopHelper() {
  client_.reset();
  helper_.reset();  // closes the channel: the helper sees EOF and exits
  helper_pid_ = 0;
}

absl::Status GuestSession::WithAtspi(const std::function<absl::Status(AtspiClient&)>& call) {
  for (int attempt = 0;; ++attempt) {
    if (absl::Status s = EnsureHelper(); !s.ok()) return s;
    absl::Status status = call(*client_);
    if (status.code() != absl::StatusCode::kUnavailable || attempt > 0) return status;
    Log(absl::StrCat("the AT-SPI helper went away (", status.message(), "); restarting it"));
    StopHelper();
  }
}

absl::StatusOr<LaunchResult> GuestSession::Launch(const std::string& command,
                                                  const std::string& app, const std::string& window,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Without a name to wait for, the app is whatever appears that was not there before.
  std::set<std::pair<std::string, int>> before;
  if (app.empty() && window.empty()) {
    absl::Status listed = WithAtspi([&](AtspiClient& client) {
      absl::StatusOr<std::vector<AccessibleApp>> apps = client.Apps(kHousekeepingTimeout);
      if (!apps.ok()) return apps.status();
      for (const AccessibleApp& a : *apps) before.insert({a.name, a.pid});
      return absl::OkStatus();
    });
    if (!listed.ok()) return listed;
  }

  std::string script = SessionPreamble(options_.x11);
  absl::StrAppend(&script, "mkdir -p \"$HOME/.cache/mosdat\" || exit 1\n",
                  "export MOSDAT_LAUNCH_LOG=\"$HOME/.cache/mosdat/launch-$$-", ++launches_,
                  ".log\"\n", "rm -f \"$MOSDAT_LAUNCH_LOG.exit\"\n", "cd \"$HOME\"\n");
  for (const auto& [name, value] : options_.app_env) {
    absl::StrAppend(&script, "export ", name, "=", ShellQuote(value), "\n");
  }
  // The command's exit status lands next to its log, so a launch that fails is
  // reported at once with its output instead of after the timeout.
  // (In its own shell, so an `exit` in the command cannot skip the bookkeeping.)
  std::string inner = "sh -c " + ShellQuote(command) + "\necho $? >\"$MOSDAT_LAUNCH_LOG.exit\"";
  absl::StrAppend(&script, "setsid sh -c ", ShellQuote(inner),
                  " >\"$MOSDAT_LAUNCH_LOG\" 2>&1 </dev/null &\n",
                  "echo \"$! $MOSDAT_LAUNCH_LOG\"\n");
  absl::StatusOr<SshExecResult> started = Shell(script, /*x11=*/false, kHousekeepingTimeout);
  if (!started.ok()) return started.status();
  LaunchResult result;
  std::vector<std::string> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(started->out), absl::MaxSplits(' ', 1));
  if (started->exit_code != 0 || fields.size() != 2 || !absl::SimpleAtoi(fields[0], &result.pid)) {
    return absl::FailedPreconditionError(
        absl::StrCat("could not start \"", command, "\" on the guest (exit ", started->exit_code,
                     "): ", Tail(started->err + started->out, 500)));
  }
  result.log_path = fields[1];

  std::optional<int> exit_code;
  while (true) {
    absl::Status found = WithAtspi([&](AtspiClient& client) -> absl::Status {
      absl::StatusOr<std::vector<AccessibleApp>> apps = client.Apps(kHousekeepingTimeout);
      if (!apps.ok()) return apps.status();
      for (const AccessibleApp& a : *apps) {
        bool match = !app.empty()      ? SameAppName(a.name, app)
                     : !window.empty() ? true  // any app showing that window
                                       : !before.contains({a.name, a.pid});
        if (!match) continue;
        if (!window.empty()) {
          absl::StatusOr<AccessibleObject> frame = client.Find(
              {.role = "frame", .name_substr = window, .app = a.name}, kHousekeepingTimeout,
              /*verify=*/false);
          if (!frame.ok()) {
            if (frame.status().code() == absl::StatusCode::kNotFound) continue;
            return frame.status();
          }
        }
        result.app = a.name;
        return absl::OkStatus();
      }
      return absl::NotFoundError("not yet");
    });
    if (found.ok()) return result;
    if (found.code() != absl::StatusCode::kNotFound) return found;

    // Did the command end, and badly? (A single-instance app hands over to the running
    // one and exits 0: keep waiting for its window then.)
    if (!exit_code) {
      absl::StatusOr<SshExecResult> status =
          ssh_->Exec(absl::StrCat("cat ", ShellQuote(result.log_path + ".exit"), " 2>/dev/null"),
                     kHousekeepingTimeout);
      int code = 0;
      if (status.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(status->out), &code)) {
        exit_code = code;
      }
    }
    bool failed = exit_code && *exit_code != 0;
    if (failed || absl::Now() >= deadline) {
      absl::StatusOr<SshExecResult> log = ssh_->Exec(
          absl::StrCat("tail -c 2000 ", ShellQuote(result.log_path)), kHousekeepingTimeout);
      std::string output = log.ok() ? std::string(absl::StripAsciiWhitespace(log->out)) : "";
      std::string waited_for =
          !app.empty() && !window.empty()
              ? absl::StrCat("application \"", app, "\" with a window titled \"", window, "\"")
          : !app.empty()    ? absl::StrCat("application \"", app, "\"")
          : !window.empty() ? absl::StrCat("a window titled \"", window, "\"")
                            : "a new application on the accessibility bus";
      return absl::FailedPreconditionError(absl::StrCat(
          failed ? absl::StrCat("\"", command, "\" exited with status ", *exit_code, " before ",
                                waited_for, " appeared")
                 : absl::StrCat("no ", waited_for, " appeared within ",
                                absl::FormatDuration(timeout), " of starting \"", command, "\""),
          output.empty() ? "" : absl::StrCat("; its output (", result.log_path, "): ", output)));
    }
    absl::SleepFor(std::min(kLaunchPollInterval, deadline - absl::Now()));
  }
}

absl::StatusOr<GuestKeyboard::KeymapState> GuestSession::Keymap(
    const std::vector<uint32_t>& keysyms, bool place, absl::Duration timeout) {
  KeymapState state;
  absl::Status status = WithAtspi([&](AtspiClient& client) {
    absl::StatusOr<KeymapState> s = client.Keymap(keysyms, place, timeout);
    if (s.ok()) state = std::move(*s);
    return s.status();
  });
  if (!status.ok()) return status;
  return state;
}

absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> GuestSession::Focused(
    int max_chars, absl::Duration timeout) {
  std::optional<FocusedText> focused;
  absl::Status status = WithAtspi([&](AtspiClient& client) {
    absl::StatusOr<std::optional<FocusedText>> f = client.Focused(max_chars, timeout);
    if (f.ok()) focused = std::move(*f);
    return f.status();
  });
  if (!status.ok()) return status;
  return focused;
}

}  // namespace mosdat

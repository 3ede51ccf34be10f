// GuestSession: everything the agent does INSIDE one VM, over one SSH connection —
// shell commands, launching the app detached in the desktop session, and AT-SPI
// queries through the guest helper (guest/mosdat_atspi_helper.py).
//
// The helper is shipped over SFTP to ~/.cache/mosdat/ when the copy there has another
// SHA-256 than the one embedded in the agent, started once, and kept alive; when it
// dies (or the SSH connection drops) the next AT-SPI call reconnects, restarts it and
// retries once, and the `log` callback says so.
//
// Not thread-safe: one job (one runner thread) owns a GuestSession.
#ifndef MOSDAT_VNC_AGENT_GUEST_GUEST_SESSION_H_
#define MOSDAT_VNC_AGENT_GUEST_GUEST_SESSION_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/shell_quote.h"
#include "vnc-agent/guest/atspi_client.h"
#include "vnc-agent/guest/ssh_session.h"
#include "vnc-agent/rfb/text_typing.h"

namespace mosdat {

struct GuestOptions {
  SshOptions ssh;
  // x11 = "auto": shell steps get the X11 preamble (DISPLAY, XAUTHORITY, the session
  // bus, and toolkit switches that keep GTK/Qt/Electron apps on X11) by default.
  bool x11 = false;
  // Extra environment for launched apps ([app.env]).
  std::map<std::string, std::string> app_env;
  std::string python = "/usr/bin/python3";      // the guest's system Python (has gi)
  std::function<void(const std::string&)> log;  // progress worth an event; may be empty
};

// Shell text that points a command at the logged-in desktop session when the SSH
// login did not: DISPLAY, XAUTHORITY, DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR get
// conventional defaults only when unset. With `force_x11`, toolkits are also told to
// use X11 (GDK_BACKEND, QT_QPA_PLATFORM, Electron's ozone hint).
std::string SessionPreamble(bool force_x11);

struct LaunchResult {
  int pid = 0;           // of the detached shell that runs the command
  std::string log_path;  // its stdout+stderr on the guest
  std::string app;       // the accessible application that appeared
};

class GuestSession : public GuestKeyboard {
 public:
  static absl::StatusOr<std::unique_ptr<GuestSession>> Connect(GuestOptions options);
  ~GuestSession();

  GuestSession(const GuestSession&) = delete;
  GuestSession& operator=(const GuestSession&) = delete;

  // The SSH connection itself, for work that is not a desktop step: the deploy phase's
  // uploads and package-manager commands.
  SshSession& ssh() { return *ssh_; }

  // Runs `command` (through the preamble when x11 is on) and returns what it did.
  absl::StatusOr<SshExecResult> Shell(const std::string& command, bool x11, absl::Duration timeout);

  // Starts `command` (as written: no preamble) with its stdin and stdout as a line
  // channel; e.g. the smoke-test runner, which reports as it goes.
  absl::StatusOr<std::unique_ptr<SshProcess>> StartProcess(const std::string& command);

  // Starts `command` detached from the SSH session (setsid, output to a log file), then
  // waits until `app` is on the accessibility bus and, with `window`, until one of its
  // frames' title contains `window`. With neither, waits for any application that was
  // not there before. FailedPrecondition when the command exits first (with its log
  // tail) or nothing appears before `timeout`.
  absl::StatusOr<LaunchResult> Launch(const std::string& command, const std::string& app,
                                      const std::string& window, absl::Duration timeout);

  // Runs `call` with a live helper; if the helper or the connection died (Unavailable),
  // restarts it and runs `call` once more. Calls capture their results.
  absl::Status WithAtspi(const std::function<absl::Status(AtspiClient&)>& call);

  // GuestKeyboard, through the helper.
  absl::StatusOr<KeymapState> Keymap(const std::vector<uint32_t>& keysyms, bool place,
                                     absl::Duration timeout) override;
  absl::StatusOr<std::optional<FocusedText>> Focused(int max_chars,
                                                     absl::Duration timeout) override;

  // How many times the helper was (re)started; 1 after the first AT-SPI call.
  int helper_starts() const { return helper_starts_; }
  // The helper's process id on the guest (0 when not running).
  int helper_pid() const { return helper_pid_; }

 private:
  explicit GuestSession(GuestOptions options, std::unique_ptr<SshSession> ssh)
      : options_(std::move(options)), ssh_(std::move(ssh)) {}
  absl::Status EnsureConnected();
  absl::StatusOr<std::string> InstallHelper();  // returns the helper's path on the guest
  absl::Status EnsureHelper();
  void StopHelper();
  void Log(const std::string& text);

  GuestOptions options_;
  std::unique_ptr<SshSession> ssh_;
  std::unique_ptr<SshProcess> helper_;
  std::unique_ptr<AtspiClient> client_;
  std::string helper_path_;
  int helper_starts_ = 0;
  int helper_pid_ = 0;
  int launches_ = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_GUEST_SESSION_H_

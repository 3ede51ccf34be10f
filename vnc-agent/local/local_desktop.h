// LocalDesktop: the embedded default's "VM" — a real X desktop on this machine, served
// over VNC on loopback: Xvnc, a private D-Bus session bus (AT-SPI comes with it by
// D-Bus activation), openbox, and the app under test, with a private HOME and XDG dirs.
// Every step is polled for readiness with a deadline, never slept. Stop() stops the
// processes started here (newest first), then every process still marked with the
// desktop's private directory (OwnedTempDir: D-Bus activations, programs started over
// SSH), and removes the directory. All of that also happens if this process dies
// first, however it dies (core/orphan_reaper.h). GTK's caret blinking and
// animations are switched off, so a screen that should be still is still.
//
// The VNC server always asks for a password: a loopback port is open to every user and
// program on the machine, and an unauthenticated one would hand them the screen and
// the keyboard of whatever runs there (a job typing a secret, say). Unless the caller
// brings its own, each desktop makes a fresh random one (vnc_password()).
#ifndef MOSDAT_VNC_AGENT_LOCAL_LOCAL_DESKTOP_H_
#define MOSDAT_VNC_AGENT_LOCAL_LOCAL_DESKTOP_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/owned_temp_dir.h"
#include "core/process.h"

namespace mosdat {

struct LocalDesktopOptions {
  int width = 1280;
  int height = 800;
  // The app to start once the desktop is up; empty starts no app.
  std::vector<std::string> app_command;
  Environment app_env;  // added to the session environment for the app only
  // The VNC password; empty = a fresh random one, made for this desktop. VNC
  // authentication uses the first 8 characters only.
  std::string vnc_password;
  // "VncAuth", or "TLSVnc" (VeNCrypt: anonymous TLS, then VncAuth).
  std::string security_type = "VncAuth";
  absl::Duration ready_timeout = absl::Seconds(30);
  // The loopback VNC port; 0 picks a free one.
  int vnc_port = 0;
};

class LocalDesktop {
 public:
  static absl::StatusOr<std::unique_ptr<LocalDesktop>> Start(const LocalDesktopOptions& options);
  ~LocalDesktop();

  LocalDesktop(const LocalDesktop&) = delete;
  LocalDesktop& operator=(const LocalDesktop&) = delete;

  int display() const { return display_; }
  int vnc_port() const { return vnc_port_; }
  std::string vnc_address() const;  // "127.0.0.1:<port>"
  // What a VNC client must give (see above). A secret: never log it.
  const std::string& vnc_password() const { return vnc_password_; }
  // DISPLAY, DBUS_SESSION_BUS_ADDRESS, HOME, XDG_* and the toolkit settings that every
  // program in this desktop session must see.
  const Environment& session_env() const { return session_env_; }
  const std::string& home() const { return home_; }
  // The desktop's private directory (removed by Stop()); room for companions' files.
  // Processes started for the desktop carry its mark, which session_env() includes.
  const std::string& root_dir() const { return root_dir_; }
  // The app process, if one was started.
  Process* app() { return app_index_ >= 0 ? &processes_[app_index_] : nullptr; }

  // Where the stdout/stderr of the app (or of a Launch()ed process) are written.
  std::string LogPath(const Process* process) const;

  // Starts the app under test now (LocalDesktopOptions::app_command starts it with the
  // desktop): ready once one of its windows is visible and in front with the keyboard
  // focus (asked of the window manager; a window that takes no focus within a few
  // seconds is left as it is, still ready); FailedPrecondition with its
  // log tail when it exits first or shows none before `deadline`. For an app that comes
  // with a package installed after the desktop is up.
  absl::Status StartApp(const std::vector<std::string>& command, const Environment& env,
                        absl::Time deadline);

  // Starts another program in the session (e.g. a scenario's `launch`).
  absl::StatusOr<Process*> Launch(const std::vector<std::string>& command,
                                  const Environment& extra_env = {});

  // Stops every process started here, newest first, and removes the private dirs.
  void Stop();

 private:
  LocalDesktop() = default;
  absl::Status StartXvnc(const LocalDesktopOptions& options, absl::Time deadline);
  absl::Status StartSessionBus(absl::Time deadline);
  absl::Status StartWindowManager(absl::Time deadline);
  // The ids of the visible windows that carry `pid` as their _NET_WM_PID.
  std::vector<std::string> AppWindows(const std::string& pid) const;
  std::string LogPathFor(int process_index) const;

  std::unique_ptr<OwnedTempDir> dir_;
  std::string root_dir_;
  std::string home_;
  int display_ = -1;
  int vnc_port_ = 0;
  std::string vnc_password_;
  Environment session_env_;
  std::deque<Process> processes_;  // oldest first; deque keeps Launch() pointers valid
  int app_index_ = -1;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_LOCAL_LOCAL_DESKTOP_H_

// The local desktop provider against the real thing: Xvnc, dbus-daemon, openbox and a
// real GTK app on loopback.
#include "vnc-agent/local/local_desktop.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "core/file_util.h"

namespace mosdat {
namespace {

TEST(LocalDesktopTest, StartsXvncSessionBusWindowManagerAndApp) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = {"gtk3-widget-factory"}});
  ASSERT_TRUE(desktop.ok()) << desktop.status();
  LocalDesktop& d = **desktop;
  EXPECT_GT(d.vnc_port(), 0);
  EXPECT_GE(d.display(), 0);
  EXPECT_EQ(d.session_env().at("DISPLAY"), ":" + std::to_string(d.display()));
  EXPECT_NE(d.session_env().at("DBUS_SESSION_BUS_ADDRESS"), "");
  ASSERT_NE(d.app(), nullptr);
  EXPECT_FALSE(d.app()->Poll().has_value()) << "app exited";

  // The window really is on that display.
  absl::StatusOr<CommandResult> windows =
      RunCommand({"xdotool", "search", "--onlyvisible", "--name", "gtk3-widget-factory"},
                 d.session_env(), absl::Seconds(10));
  ASSERT_TRUE(windows.ok());
  EXPECT_EQ(windows->status.exit_code, 0) << windows->err;

  pid_t app_pid = d.app()->pid();
  d.Stop();
  EXPECT_NE(kill(app_pid, 0), 0) << "app still running after Stop()";
}

// What a desktop's programs leave running (here a process that left its session and
// its parent, as a daemon does) stops with the desktop, and the desktop's directory goes.
TEST(LocalDesktopTest, StopEndsWhatTheSessionLeftRunningAndRemovesTheDirectory) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start({});
  ASSERT_TRUE(desktop.ok()) << desktop.status();
  LocalDesktop& d = **desktop;
  const std::string pid_file = d.root_dir() + "/daemon.pid";
  absl::StatusOr<Process*> shell =
      d.Launch({"sh", "-c", "setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $! > \"$1\"", "sh",
                pid_file});
  ASSERT_TRUE(shell.ok()) << shell.status();
  ASSERT_TRUE((*shell)->Wait(absl::Seconds(10)).has_value());
  pid_t daemon = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(pid_file)), &daemon));
  ASSERT_EQ(kill(daemon, 0), 0) << "the daemon did not start";
  // Its own pidfd: tells when it is gone, without mistaking a reused pid for it.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, daemon, 0));
  ASSERT_GE(pidfd, 0);
  const std::string root = d.root_dir();

  d.Stop();
  pollfd gone{pidfd, POLLIN, 0};
  const bool ended = poll(&gone, 1, 0) == 1;
  if (!ended) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);  // not left behind
  close(pidfd);
  EXPECT_TRUE(ended) << "the daemon still runs after Stop()";
  EXPECT_FALSE(std::filesystem::exists(root));
}

// The app under test starts in front with the keyboard focus, even when its window does
// not ask for it on map (GTK's focus-on-map off sets _NET_WM_USER_TIME 0) and another
// window had the focus: openbox would leave that window behind, and its look (GTK's
// backdrop state) and where typed keys go would depend on the window manager's timing.
TEST(LocalDesktopTest, TheAppStartsInFrontWithTheKeyboardFocus) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start({});
  ASSERT_TRUE(desktop.ok()) << desktop.status();
  LocalDesktop& d = **desktop;
  constexpr char kWindow[] = R"(
import sys, gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
window = Gtk.Window(title=sys.argv[1])
window.set_focus_on_map(sys.argv[1] != "quiet-window")
window.add(Gtk.Entry())
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
)";
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  ASSERT_TRUE(d.StartApp({"/usr/bin/python3", "-c", kWindow, "first-window"}, {}, deadline).ok());
  absl::Status quiet =
      d.StartApp({"/usr/bin/python3", "-c", kWindow, "quiet-window"}, {}, deadline);
  ASSERT_TRUE(quiet.ok()) << quiet;
  absl::StatusOr<CommandResult> active = RunCommand({"xdotool", "getactivewindow", "getwindowname"},
                                                    d.session_env(), absl::Seconds(10));
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(active->out)), "quiet-window") << active->err;
}

TEST(LocalDesktopTest, ReportsAnAppThatDiesBeforeItsWindowAppears) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = {"sh", "-c", "echo boom >&2; exit 7"}});
  ASSERT_FALSE(desktop.ok());
  EXPECT_NE(desktop.status().message().find("exited (exit code 7)"), std::string::npos)
      << desktop.status();
  EXPECT_NE(desktop.status().message().find("boom"), std::string::npos) << desktop.status();
}

TEST(LocalDesktopTest, ReportsAMissingApp) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.app_command = {"no-such-app-mosdat"}});
  ASSERT_FALSE(desktop.ok());
  EXPECT_NE(desktop.status().message().find("\"no-such-app-mosdat\" is not installed"),
            std::string::npos)
      << desktop.status();
}

}  // namespace
}  // namespace mosdat

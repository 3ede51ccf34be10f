// The local desktop provider against the real thing: Xvnc, dbus-daemon, openbox and a
// real GTK app on loopback.
#include "vnc-agent/local/local_desktop.h"

#include <gtest/gtest.h>
#include <signal.h>

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

#include "vnc-agent/local/local_desktop.h"

#include <poll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/net.h"
#include "core/owned_temp_dir.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);
// For polls that start processes (xdotool): gentler on a loaded machine.
constexpr absl::Duration kCommandPollInterval = absl::Milliseconds(50);

// How long a visible app window may take to get the keyboard focus once asked.
constexpr absl::Duration kFocusTimeout = absl::Seconds(5);

// Polls `ready` until it is true, the process dies, or the deadline passes.
template <typename Ready>
absl::Status PollUntil(Ready ready, Process& process, const std::string& what,
                       const std::string& log, absl::Time deadline,
                       absl::Duration interval = kPollInterval) {
  while (true) {
    if (ready()) return absl::OkStatus();
    if (std::optional<ExitStatus> status = process.Poll()) {
      return absl::UnavailableError(absl::StrCat(what, " exited (", status->ToString(),
                                                 ") before it was ready: ", FileTail(log)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " was not ready in time; its log: ", FileTail(log)));
    }
    absl::SleepFor(interval);
  }
}

// A VNC password of 8 characters (all that VNC authentication uses) from the kernel's
// random source: 62^8, about 48 bits, against guesses over loopback.
absl::StatusOr<std::string> RandomVncPassword() {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr size_t kAlphabetSize = sizeof(kAlphabet) - 1;
  std::string password;
  while (password.size() < 8) {
    unsigned char byte = 0;
    if (getrandom(&byte, 1, 0) != 1) {
      return absl::InternalError("cannot read random bytes for the desktop's VNC password");
    }
    // Rejection sampling: bytes past the last whole multiple of 62 would bias the choice.
    if (byte < 256 - 256 % kAlphabetSize) password.push_back(kAlphabet[byte % kAlphabetSize]);
  }
  return password;
}

// The desktop's private tree inside `base`: HOME, the XDG dirs and the logs.
void MakePrivateTree(const std::string& base) {
  for (const char* sub : {"home", "run", "config", "cache", "data", "state", "logs"}) {
    fs::create_directories(fs::path(base) / sub);
  }
  chmod(base.c_str(), 0700);
  chmod((base + "/run").c_str(), 0700);  // XDG_RUNTIME_DIR must be private
  // A blinking caret and animations make "the screen is stable" untrue forever and
  // pixel comparisons timing-dependent; a test desktop turns them off.
  for (const char* toolkit : {"gtk-3.0", "gtk-4.0"}) {
    fs::create_directories(fs::path(base) / "config" / toolkit);
    std::ofstream(fs::path(base) / "config" / toolkit / "settings.ini")
        << "[Settings]\ngtk-cursor-blink = false\ngtk-enable-animations = false\n";
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalDesktop>> LocalDesktop::Start(
    const LocalDesktopOptions& options) {
  if (options.security_type != "VncAuth" && options.security_type != "TLSVnc") {
    return absl::InvalidArgumentError(
        absl::StrCat("the local desktop's VNC security type must be VncAuth or TLSVnc, not \"",
                     options.security_type, "\""));
  }
  std::unique_ptr<LocalDesktop> desktop(new LocalDesktop());
  absl::StatusOr<std::unique_ptr<OwnedTempDir>> root = OwnedTempDir::Create("mosdat-desktop");
  if (!root.ok()) return root.status();
  desktop->dir_ = std::move(*root);
  desktop->root_dir_ = desktop->dir_->path();
  desktop->home_ = desktop->root_dir_ + "/home";
  MakePrivateTree(desktop->root_dir_);
  desktop->vnc_password_ = options.vnc_password;
  if (desktop->vnc_password_.empty()) {
    absl::StatusOr<std::string> password = RandomVncPassword();
    if (!password.ok()) return password.status();
    desktop->vnc_password_ = *password;
  }
  absl::Time deadline = absl::Now() + options.ready_timeout;
  absl::Status status = desktop->StartXvnc(options, deadline);
  if (status.ok()) status = desktop->StartSessionBus(deadline);
  if (status.ok()) status = desktop->StartWindowManager(deadline);
  if (status.ok() && !options.app_command.empty()) {
    status = desktop->StartApp(options.app_command, options.app_env, deadline);
  }
  if (!status.ok()) return status;  // the destructor stops what did start
  return desktop;
}

LocalDesktop::~LocalDesktop() { Stop(); }

std::string LocalDesktop::vnc_address() const { return absl::StrCat("127.0.0.1:", vnc_port_); }

absl::Status LocalDesktop::StartXvnc(const LocalDesktopOptions& options, absl::Time deadline) {
  std::string log = root_dir_ + "/logs/Xvnc.log";
  // The password reaches vncpasswd through the environment, never a command line that
  // `ps` shows.
  const std::string password_file = root_dir_ + "/vncpasswd";
  absl::StatusOr<CommandResult> made = RunCommand(
      {"sh", "-c", "umask 077; printf '%s\\n' \"$P\" | vncpasswd -f > \"$F\""},
      {{"P", vnc_password_}, {"F", password_file}, {"PATH", "/usr/bin:/bin"}}, absl::Seconds(10));
  if (!made.ok() || made->status.exit_code != 0) {
    return absl::FailedPreconditionError(
        "cannot create a VNC password file (is tigervnc-tools installed?)");
  }
  absl::Status last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<int> port =
        options.vnc_port > 0 ? absl::StatusOr<int>(options.vnc_port) : PickFreeLoopbackPort();
    if (!port.ok()) return port.status();
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return absl::InternalError("pipe() failed");
    std::vector<std::string> argv = {"Xvnc",
                                     "-geometry",
                                     absl::StrCat(options.width, "x", options.height),
                                     "-depth",
                                     "24",
                                     "-rfbport",
                                     absl::StrCat(*port),
                                     "-localhost",
                                     "-interface",
                                     "127.0.0.1",
                                     "-AlwaysShared",
                                     "-nolisten",
                                     "tcp",
                                     "-displayfd",
                                     "3",
                                     "-SecurityTypes",
                                     options.security_type,
                                     "-PasswordFile",
                                     password_file};
    Environment env = CurrentEnvironment();
    env[dir_->marker().first] = dir_->marker().second;  // ours, even inside another desktop
    absl::StatusOr<Process> xvnc = Process::Spawn({.argv = argv,
                                                   .env = env,
                                                   .stderr_path = log,
                                                   .extra_fds = {{3, pipe_fds[1]}},
                                                   .dies_with_this_process = true});
    close(pipe_fds[1]);
    if (!xvnc.ok()) {
      close(pipe_fds[0]);
      return xvnc.status();
    }
    processes_.push_back(std::move(*xvnc));
    Process& server = processes_.back();

    // Xvnc writes the display number it chose to fd 3 once it accepts X clients.
    std::string display_text;
    absl::Status ready = PollUntil(
        [&] {
          pollfd fd{pipe_fds[0], POLLIN, 0};
          if (poll(&fd, 1, 0) > 0) {
            char buffer[32];
            ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
            if (n > 0) display_text.append(buffer, n);
          }
          return display_text.find('\n') != std::string::npos;
        },
        server, "Xvnc", log, deadline);
    close(pipe_fds[0]);
    if (ready.ok()) {
      ready = PollUntil([&] { return CanConnectLoopback(*port); }, server, "Xvnc's VNC port", log,
                        deadline);
    }
    if (ready.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(display_text), &display_)) {
      vnc_port_ = *port;
      break;
    }
    last_error = ready.ok() ? absl::InternalError("Xvnc reported no display number") : ready;
    server.Terminate(absl::Seconds(2));
    processes_.pop_back();
  }
  if (vnc_port_ == 0) return last_error;

  session_env_ = {
      {"PATH", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"},
      {"DISPLAY", absl::StrCat(":", display_)},
      {"HOME", home_},
      {"XDG_RUNTIME_DIR", root_dir_ + "/run"},
      {"XDG_CONFIG_HOME", root_dir_ + "/config"},
      {"XDG_CACHE_HOME", root_dir_ + "/cache"},
      {"XDG_DATA_HOME", root_dir_ + "/data"},
      {"XDG_STATE_HOME", root_dir_ + "/state"},
      {"LANG", "C.UTF-8"},
      // GTK on X11; GTK4's GL renderer never appears in AT-SPI here, cairo does.
      {"GDK_BACKEND", "x11"},
      {"GSK_RENDERER", "cairo"},
      // Marks every process of this session, however far it strays (D-Bus activations,
      // programs started over SSH, daemons), for Stop() and the orphan reaper.
      dir_->marker(),
  };
  return absl::OkStatus();
}

absl::Status LocalDesktop::StartSessionBus(absl::Time deadline) {
  std::string address_file = root_dir_ + "/logs/dbus-address";
  std::string log = root_dir_ + "/logs/dbus.log";
  absl::StatusOr<Process> bus =
      Process::Spawn({.argv = {"dbus-daemon", "--session", "--nofork", "--print-address=1"},
                      .env = session_env_,
                      .stdout_path = address_file,
                      .stderr_path = log,
                      .dies_with_this_process = true});
  if (!bus.ok()) return bus.status();
  processes_.push_back(std::move(*bus));
  std::string address;
  absl::Status ready = PollUntil(
      [&] {
        address = ReadFileOrEmpty(address_file);
        return address.find('\n') != std::string::npos;
      },
      processes_.back(), "dbus-daemon", log, deadline);
  if (!ready.ok()) return ready;
  session_env_["DBUS_SESSION_BUS_ADDRESS"] = std::string(absl::StripAsciiWhitespace(address));
  return absl::OkStatus();
}

absl::Status LocalDesktop::StartWindowManager(absl::Time deadline) {
  std::string log = root_dir_ + "/logs/openbox.log";
  absl::StatusOr<Process> wm = Process::Spawn({.argv = {"openbox"},
                                               .env = session_env_,
                                               .stdout_path = log,
                                               .stderr_path = log,
                                               .dies_with_this_process = true});
  if (!wm.ok()) return wm.status();
  processes_.push_back(std::move(*wm));
  // A window manager announces itself through _NET_SUPPORTING_WM_CHECK on the root.
  return PollUntil(
      [&] {
        absl::StatusOr<CommandResult> prop = RunCommand(
            {"xprop", "-root", "_NET_SUPPORTING_WM_CHECK"}, session_env_, absl::Seconds(5));
        return prop.ok() && prop->out.find("window id") != std::string::npos;
      },
      processes_.back(), "openbox", log, deadline, kCommandPollInterval);
}

absl::Status LocalDesktop::StartApp(const std::vector<std::string>& command, const Environment& env,
                                    absl::Time deadline) {
  if (command.empty()) return absl::InvalidArgumentError("no app command to start");
  absl::StatusOr<Process*> app = Launch(command, env);
  if (!app.ok()) return app.status();
  app_index_ = static_cast<int>(processes_.size()) - 1;
  std::string log = LogPathFor(app_index_);
  std::string pid = absl::StrCat((*app)->pid());
  const std::string what = absl::StrCat("the app (", command[0], ")");
  // Ready when a visible window carries the app's _NET_WM_PID...
  absl::Status visible = PollUntil([&] { return !AppWindows(pid).empty(); }, **app, what, log,
                                   deadline, kCommandPollInterval);
  if (!visible.ok()) return visible;
  // ...and one of them has the keyboard focus. Whether and when a window manager focuses
  // a new window depends on the window's hints and on the machine's load, and the window
  // repaints when it does: asked for and waited for, so every run's first screen is the
  // same.
  auto focused = [&] {
    absl::StatusOr<CommandResult> active =
        RunCommand({"xdotool", "getactivewindow"}, session_env_, absl::Seconds(5));
    if (!active.ok() || active->status.exit_code != 0) return false;
    std::vector<std::string> windows = AppWindows(pid);
    return std::find(windows.begin(), windows.end(), absl::StripAsciiWhitespace(active->out)) !=
           windows.end();
  };
  if (focused()) return absl::OkStatus();
  if (std::vector<std::string> windows = AppWindows(pid); !windows.empty()) {
    (void)RunCommand({"xdotool", "windowactivate", windows.front()}, session_env_,
                     absl::Seconds(5));
  }
  // A window that takes no focus (a splash, a tool window) still belongs to a running app.
  absl::Status front =
      PollUntil(focused, **app, what, log, std::min(deadline, absl::Now() + kFocusTimeout),
                kCommandPollInterval);
  return absl::IsDeadlineExceeded(front) ? absl::OkStatus() : front;
}

std::vector<std::string> LocalDesktop::AppWindows(const std::string& pid) const {
  absl::StatusOr<CommandResult> found = RunCommand(
      {"xdotool", "search", "--onlyvisible", "--pid", pid}, session_env_, absl::Seconds(5));
  if (!found.ok() || found->status.exit_code != 0) return {};
  return absl::StrSplit(found->out, absl::ByAnyChar(" \n"), absl::SkipWhitespace());
}

absl::StatusOr<Process*> LocalDesktop::Launch(const std::vector<std::string>& command,
                                              const Environment& extra_env) {
  Environment env = session_env_;
  for (const auto& [k, v] : extra_env) env[k] = v;
  env[dir_->marker().first] = dir_->marker().second;  // extra_env cannot unmark it
  std::string log = LogPathFor(static_cast<int>(processes_.size()));
  absl::StatusOr<Process> process = Process::Spawn({.argv = command,
                                                    .env = env,
                                                    .stdout_path = log,
                                                    .stderr_path = log,
                                                    .dies_with_this_process = true});
  if (!process.ok()) return process.status();
  processes_.push_back(std::move(*process));
  return &processes_.back();
}

std::string LocalDesktop::LogPathFor(int index) const {
  return absl::StrCat(root_dir_, "/logs/process-", index, ".log");
}

std::string LocalDesktop::LogPath(const Process* process) const {
  for (size_t i = 0; i < processes_.size(); ++i) {
    if (&processes_[i] == process) return LogPathFor(static_cast<int>(i));
  }
  return "";
}

void LocalDesktop::Stop() {
  // Newest first: the app, then openbox, the bus, and Xvnc last.
  while (!processes_.empty()) {
    processes_.back().Terminate(absl::Seconds(3));
    processes_.pop_back();
  }
  app_index_ = -1;
  // Then whatever else carries the desktop's mark (what D-Bus activated, what the app
  // or SSH sessions left running), and the directory.
  dir_.reset();
  root_dir_.clear();
}

}  // namespace mosdat

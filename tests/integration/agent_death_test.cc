// An agent killed with SIGKILL in the middle of a local job leaves nothing behind: no
// process of the job's desktop (Xvnc, dbus-daemon and what it activated, openbox, the
// app, the private sshd and what ran over SSH, even a process that left its session
// with setsid) and no desktop directory. The agent here is `mosdat functional` (the
// embedded coordinator and agent in one process), with $TMPDIR pointed at a directory
// of this test, so the desktop directory is found without guessing. Also the sweep
// that removes a directory left when the agent's reaper was killed too.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/events.h"
#include "core/file_util.h"
#include "core/orphan_reaper.h"
#include "core/owned_temp_dir.h"
#include "core/process.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {
namespace {

namespace fs = std::filesystem;

// One process as /proc shows it; `start` (clock ticks after boot) tells a reused pid
// from the process it was.
struct ProcessInfo {
  pid_t pid = 0;
  pid_t parent = 0;
  char state = '?';
  std::string comm;
  unsigned long long start = 0;
  bool operator<(const ProcessInfo& other) const { return pid < other.pid; }
};

std::optional<ProcessInfo> ReadProcess(pid_t pid) {
  std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  ProcessInfo info{.pid = pid, .comm = stat.substr(open + 1, close - open - 1)};
  std::istringstream rest(stat.substr(close + 2));
  rest >> info.state >> info.parent;
  std::string skip;
  for (int field = 5; field < 22; ++field) rest >> skip;  // fields 5..21
  rest >> info.start;                                     // field 22
  return info;
}

std::vector<ProcessInfo> AllProcesses() {
  std::vector<ProcessInfo> all;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (std::optional<ProcessInfo> info = ReadProcess(pid)) all.push_back(*info);
  }
  return all;
}

// Still running (a zombie has ended; its parent just has not collected it).
bool Running(const ProcessInfo& was) {
  std::optional<ProcessInfo> now = ReadProcess(was.pid);
  return now && now->start == was.start && now->state != 'Z';
}

// Processes whose environment or command line names `text` (other than this test).
std::vector<ProcessInfo> ProcessesNaming(const std::string& text) {
  std::vector<ProcessInfo> found;
  for (const ProcessInfo& p : AllProcesses()) {
    if (p.pid == getpid() || p.state == 'Z') continue;
    std::string environ = ReadFileOrEmpty(absl::StrCat("/proc/", p.pid, "/environ"));
    std::string cmdline = ReadFileOrEmpty(absl::StrCat("/proc/", p.pid, "/cmdline"));
    if (environ.find(text) != std::string::npos || cmdline.find(text) != std::string::npos) {
      found.push_back(p);
    }
  }
  return found;
}

std::vector<ProcessInfo> DescendantsOf(pid_t root) {
  std::vector<ProcessInfo> all = AllProcesses();
  std::vector<ProcessInfo> out;
  std::vector<pid_t> queue = {root};
  while (!queue.empty()) {
    pid_t parent = queue.back();
    queue.pop_back();
    for (const ProcessInfo& p : all) {
      if (p.parent == parent && p.state != 'Z') {
        out.push_back(p);
        queue.push_back(p.pid);
      }
    }
  }
  return out;
}

void WriteFileOrDie(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::string Describe(const std::vector<ProcessInfo>& processes) {
  std::vector<std::string> parts;
  for (const ProcessInfo& p : processes) parts.push_back(absl::StrCat(p.comm, "[", p.pid, "]"));
  return absl::StrJoin(parts, ", ");
}

class AgentDeathTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Whatever survived a failed test goes now, so it does not disturb the next one.
    for (const ProcessInfo& p : tracked_) {
      if (Running(p)) kill(p.pid, SIGKILL);
    }
    if (!desktop_.empty()) {
      for (const ProcessInfo& p : ProcessesNaming(desktop_)) kill(p.pid, SIGKILL);
    }
  }

  // The desktop directories under the agent's $TMPDIR.
  std::vector<std::string> DesktopDirs() {
    std::vector<std::string> dirs;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(agent_tmp_.path(), error)) {
      if (entry.path().filename().string().rfind("mosdat-desktop-", 0) == 0) {
        dirs.push_back(entry.path().string());
      }
    }
    return dirs;
  }

  std::vector<Event> JobEvents() {
    std::error_code error;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.File("results"), error)) {
      if (entry.path().filename() == "events.jsonl") {
        absl::StatusOr<std::vector<Event>> events = ReadEventLog(entry.path().string());
        if (events.ok()) return *events;
      }
    }
    return {};
  }

  TempDir dir_;          // config and results
  TempDir agent_tmp_;    // the agent's $TMPDIR
  std::string desktop_;  // the job's desktop directory, once known
  std::set<ProcessInfo> tracked_;
};

TEST_F(AgentDeathTest, ADesktopAndEverythingInItDiesWithAnAgentKilledBySigkill) {
  WriteFixtureConfig(dir_, R"(name: long job
steps:
  - shell: "setsid sleep 3600 </dev/null >/dev/null 2>&1 &"
    label: a process that leaves its session
  - wait: 3600
    label: the agent is killed here
)");
  Environment env = CurrentEnvironment();
  env["TMPDIR"] = agent_tmp_.path();
  absl::StatusOr<Process> mosdat =
      Process::Spawn({.argv = {BuiltBinary("cli/mosdat"), "functional", "--config",
                               dir_.File("config.toml"), "--results", dir_.File("results")},
                      .env = env,
                      .stdout_path = dir_.File("out"),
                      .stderr_path = dir_.File("err")});
  ASSERT_TRUE(mosdat.ok()) << mosdat.status();

  // Poll until the job is in its long wait.
  const absl::Time started_by = absl::Now() + absl::Seconds(120);
  bool waiting = false;
  while (!waiting && absl::Now() < started_by && !mosdat->Poll()) {
    for (const Event& e : JobEvents()) {
      waiting |= e.type == EventType::kStepStarted && e.step_kind == "wait";
    }
    if (!waiting) absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  ASSERT_TRUE(waiting) << ReadFileOrEmpty(dir_.File("err"));
  std::vector<std::string> desktops = DesktopDirs();
  ASSERT_EQ(desktops.size(), 1u);
  desktop_ = desktops[0];
  const std::string& desktop = desktop_;

  // Everything the agent started, and everything that names the desktop (processes
  // that left the agent's tree: D-Bus activations, the setsid'd sleep).
  for (const ProcessInfo& p : DescendantsOf(mosdat->pid())) tracked_.insert(p);
  for (const ProcessInfo& p : ProcessesNaming(desktop)) tracked_.insert(p);
  std::set<std::string> names;
  for (const ProcessInfo& p : tracked_) names.insert(p.comm);
  for (const char* expected : {"Xvnc", "dbus-daemon", "openbox", "python3", "sshd", "sleep"}) {
    EXPECT_TRUE(names.count(expected))
        << expected << " not found among " << Describe({tracked_.begin(), tracked_.end()});
  }

  ASSERT_EQ(kill(mosdat->pid(), SIGKILL), 0);
  std::optional<ExitStatus> status = mosdat->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->signal, SIGKILL);

  // Poll until nothing of the desktop runs and its directory is gone.
  const absl::Time gone_by = absl::Now() + absl::Seconds(60);
  std::vector<ProcessInfo> survivors;
  bool dir_left = true;
  while (absl::Now() < gone_by) {
    survivors.clear();
    for (const ProcessInfo& p : tracked_) {
      if (Running(p)) survivors.push_back(p);
    }
    for (const ProcessInfo& p : ProcessesNaming(desktop)) {
      if (!tracked_.count(p)) survivors.push_back(p);
    }
    dir_left = fs::exists(desktop);
    if (survivors.empty() && !dir_left) break;
    absl::SleepFor(absl::Milliseconds(50));  // poll interval
  }
  EXPECT_TRUE(survivors.empty()) << "still running: " << Describe(survivors);
  EXPECT_FALSE(dir_left) << desktop << " is still there";
}

// An owner and its reaper both killed (SIGKILL to both) leave a directory behind: the
// next OwnedTempDir::Create() sweeps it, with whatever still runs marked with it, and
// leaves alone the directories of owners that live and those it did not make.
TEST(OwnedTempDirTest, ASweepRemovesTheDirectoriesOfDeadOwnersOnly) {
  TempDir parent;
  const std::string stale = parent.File("mosdat-desktop-4242-abcDEF");
  const std::string live = parent.File("mosdat-desktop-4343-ghiJKL");
  const std::string unowned = parent.File("mosdat-desktop-mnoPQR");  // no owner pid
  for (const std::string& dir : {stale, live, unowned}) {
    fs::create_directories(dir + "/home");
    WriteFileOrDie(dir + "/home/file", "x");
  }
  // `live`'s owner holds its lock (here: this test, through its own open file).
  int live_lock = open(live.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(live_lock, 0);
  ASSERT_EQ(flock(live_lock, LOCK_EX | LOCK_NB), 0);
  // A process of the dead owner's desktop, still running.
  absl::StatusOr<Process> orphan = Process::Spawn(
      {.argv = {"sleep", "3600"}, .env = {{kOwnerDirVariable, stale}, {"PATH", "/usr/bin:/bin"}}});
  ASSERT_TRUE(orphan.ok()) << orphan.status();

  std::vector<std::string> swept = OwnedTempDir::SweepStale(parent.path(), "mosdat-desktop");
  EXPECT_THAT(swept, ::testing::ElementsAre(stale));
  EXPECT_FALSE(fs::exists(stale));
  std::optional<ExitStatus> ended = orphan->Wait(absl::Seconds(10));
  ASSERT_TRUE(ended.has_value()) << "the stale desktop's process still runs";
  EXPECT_EQ(ended->signal, SIGKILL);
  EXPECT_TRUE(fs::exists(live + "/home/file"));
  EXPECT_TRUE(fs::exists(unowned + "/home/file"));

  // Once its owner is gone (the lock released), `live` is stale too.
  close(live_lock);
  EXPECT_THAT(OwnedTempDir::SweepStale(parent.path(), "mosdat-desktop"),
              ::testing::ElementsAre(live));
  EXPECT_TRUE(fs::exists(unowned));
}

}  // namespace
}  // namespace mosdat::testing

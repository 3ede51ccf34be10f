// The job executor with a real local VM: the desktop it brings up for a job (Xvnc,
// D-Bus, openbox, the fixture GTK3 app) and what other programs on this machine can do
// with it while the job runs.
#include "vnc-agent/steps/job_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/cancel_token.h"
#include "core/events.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat::testing {
namespace {

using ::testing::HasSubstr;

// A job for the local VM "local" with the fixture app, running `scenario_yaml`.
JobSpec LocalJob(const std::string& scenario_yaml) {
  JobSpec job;
  job.job_id = "local-1";
  job.vm.name = "local";
  job.vm.provider = VmProvider::kLocal;
  job.vm.app_command = {"/usr/bin/python3", SourcePath("tests/data/apps/fixed_layout.py")};
  job.vm.width = 800;
  job.vm.height = 600;
  job.scenario_path = "s.yaml";
  job.files["s.yaml"] = scenario_yaml;
  job.screenshots = ScreenshotPolicy::kNone;
  return job;
}

// The VNC port from the executor's "local desktop :N on VNC 127.0.0.1:PORT" log line; 0
// when `event` is not that line.
int DesktopVncPort(const Event& event) {
  if (event.type != EventType::kLog || event.text.rfind("local desktop :", 0) != 0) return 0;
  int port = 0;
  size_t colon = event.text.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(event.text.substr(colon + 1), &port)) {
    return 0;
  }
  return port;
}

absl::Status ConnectWithPassword(int port, const std::string& password) {
  absl::StatusOr<std::unique_ptr<VncSession>> session =
      VncSession::Connect({.port = port,
                           .password = password,
                           .connect_timeout = absl::Seconds(10),
                           .reconnect_attempts = 0});
  return session.status();
}

// Another program on this machine (any local user) finds the desktop's VNC port on
// loopback: without the desktop's password it gets no screen and no input. The agent's
// own session, which the job's steps need, authenticates.
TEST(LocalDesktopJobTest, TheJobsDesktopRefusesVncClientsWithoutItsPassword) {
  JobSpec job = LocalJob(R"(name: needs the screen
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
  - key: escape
)");
  int port = 0;
  absl::Status without_password = absl::UnknownError("not tried");
  absl::Status wrong_password = absl::UnknownError("not tried");
  std::vector<Event> events;
  // Called on the executor's thread right after the desktop is up, before its own VNC
  // session connects.
  JobVerdict verdict = ExecuteJob(job, [&](Event event) {
    if (int p = DesktopVncPort(event); p > 0) {
      port = p;
      without_password = ConnectWithPassword(port, "");
      wrong_password = ConnectWithPassword(port, "guessed1");
    }
    events.push_back(std::move(event));
    return absl::OkStatus();
  });
  ASSERT_GT(port, 0) << "no \"local desktop\" log event";
  EXPECT_EQ(without_password.code(), absl::StatusCode::kPermissionDenied) << without_password;
  EXPECT_EQ(wrong_password.code(), absl::StatusCode::kPermissionDenied) << wrong_password;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(verdict, JobVerdict::kPass) << events.back().reason;
  EXPECT_EQ(events.back().type, EventType::kJobFinished);
}

// `mosdat cancel` during an hour-long wait: the agent is told from another thread, the
// wait ends, the cleanup steps run on the desktop, and the job says it was cancelled.
TEST(LocalDesktopJobTest, ACancelledJobEndsItsWaitRunsItsCleanupAndSaysSo) {
  JobSpec job = LocalJob(R"(name: cancelled mid-run
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
  - wait: 3600
    label: cancelled here
  - key: enter
cleanup:
  - key: escape
  - click: {x: 100, y: 40}
)");
  auto cancel = std::make_shared<CancelToken>();
  std::mutex mutex;
  std::condition_variable changed;
  bool waiting = false;
  std::vector<Event> events;
  std::thread canceller([&] {
    std::unique_lock lock(mutex);
    if (changed.wait_for(lock, std::chrono::minutes(2), [&] { return waiting; })) {
      cancel->Cancel("cancelled by a user (mosdat cancel)");
    }
  });
  JobVerdict verdict = ExecuteJob(
      job,
      [&](Event event) {
        std::lock_guard lock(mutex);
        waiting |= event.type == EventType::kStepStarted && event.step_kind == "wait";
        events.push_back(std::move(event));
        changed.notify_all();
        return absl::OkStatus();
      },
      nullptr, cancel);
  canceller.join();

  ASSERT_FALSE(events.empty());
  const Event& finished = events.back();
  ASSERT_EQ(finished.type, EventType::kJobFinished);
  EXPECT_EQ(verdict, JobVerdict::kError);
  EXPECT_EQ(finished.verdict, JobVerdict::kError);
  EXPECT_EQ(finished.reason, "cancelled: cancelled by a user (mosdat cancel)");
  std::vector<const Event*> steps, cleanup;
  for (const Event& e : events) {
    if (e.type != EventType::kStepFinished) continue;
    (e.cleanup ? cleanup : steps).push_back(&e);
  }
  ASSERT_EQ(steps.size(), 2u) << "the step after the wait must not run";
  EXPECT_EQ(steps[1]->step_kind, "wait");
  EXPECT_EQ(steps[1]->status, StepStatus::kError);
  EXPECT_EQ(steps[1]->reason, "cancelled: cancelled by a user (mosdat cancel)");
  // Reported by the job itself: the hour-long wait ended early.
  EXPECT_LT(steps[1]->duration_seconds, 3600);
  ASSERT_EQ(cleanup.size(), 2u);
  for (const Event* e : cleanup) {
    EXPECT_EQ(e->status, StepStatus::kPassed) << e->step_kind << ": " << e->reason;
  }
  EXPECT_EQ(cleanup[1]->step_kind, "click");
}

}  // namespace
}  // namespace mosdat::testing

// Runs one smoke test (core/smoke.h) on a VM: prepares the variant's display
// environment, runs the app over SSH through the guest smoke runner
// (guest/mosdat_smoke_run.py) with the configured timeout, takes a screenshot over VNC
// while it runs, and judges its end by the job's exit-code table.
//
// Events, as steps (so events.jsonl, the CLI and JUnit show them like scenario steps):
//   step 1 "smoke-environment"  the variant's environment (wayland-real on the local
//                               target: a headless weston in the job's runtime dir)
//   step 2 "smoke-run"          the app: its output tails, the exit code (the seed's
//                               number), the reason ("killed by signal 11 (SIGSEGV):
//                               exit code 139 -> fail") and the screenshot
//   cleanup "smoke-cleanup"     stops what step 1 started (only when it started anything)
// plus log events: the app's pid and display variables, and after a crash the gdb
// backtrace from its core (best effort, bounded, labelled as such) or why there is none.
//
// Verdicts: pass/fail/unknown from the table (unknown stays unknown: a test failure,
// never a pass). A missing app is a config error; SSH, weston, a VM without a Wayland
// session for wayland-real, or a runner that dies are infrastructure errors.
#ifndef MOSDAT_VNC_AGENT_STEPS_SMOKE_RUNNER_H_
#define MOSDAT_VNC_AGENT_STEPS_SMOKE_RUNNER_H_

#include <functional>
#include <memory>
#include <string>

#include "core/cancel_token.h"
#include "core/events.h"
#include "core/job.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/screen.h"
#include "vnc-agent/steps/guest_access.h"

namespace mosdat {

struct SmokeRunOutcome {
  JobVerdict verdict = JobVerdict::kError;
  std::string reason;
};

struct SmokeRunContext {
  const JobSpec& job;  // job.smoke is set
  Screen& screen;
  GuestAccess& guest;
  LocalDesktop* desktop = nullptr;            // the local target's desktop; null for a VM
  std::function<absl::Status(Event)> emit;    // numbers and sends an event
  std::shared_ptr<const CancelToken> cancel;  // may be null
};

SmokeRunOutcome RunSmokeTest(const SmokeRunContext& context);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_SMOKE_RUNNER_H_

// CancelToken: how a running job is told to stop, from another thread (the agent learns
// from the coordinator that the job was cancelled, or is no longer its own). The job's
// runner reads it before each step and while it waits; ExecuteJob and ScenarioRunner
// take one (vnc-agent/steps/job_executor.h).
//
// Two ways to stop:
//  - Cancel(reason): someone asked the job to stop. The runner stops before its next
//    step (interrupting a wait in progress), runs the scenario's cleanup steps as after
//    a failure, and the job finishes with verdict error and reason "cancelled: <reason>".
//  - Lose(reason): the job was taken away (its lease is gone; the coordinator refuses
//    its events). The runner stops at once: no cleanup, no further events.
// Lose() wins over Cancel(); the first reason of each kind is kept. Thread-safe.
//
// Example (the agent's side):
//   auto cancel = std::make_shared<CancelToken>();
//   std::thread job([&] { ExecuteJob(spec, emit, vlm, cancel); });
//   ... cancel->Cancel("cancelled by a user (mosdat cancel)");
#ifndef MOSDAT_CORE_CANCEL_TOKEN_H_
#define MOSDAT_CORE_CANCEL_TOKEN_H_

#include <condition_variable>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace mosdat {

class CancelToken {
 public:
  enum class State { kRunning, kCancelled, kLost };

  void Cancel(std::string reason);
  void Lose(std::string reason);

  State state() const;
  bool stop_requested() const { return state() != State::kRunning; }
  bool lost() const { return state() == State::kLost; }
  // The canceller's words, as given.
  std::string reason() const;
  // Cancelled: "cancelled: <reason>"; lost: "lost: <reason>"; OK while running. The code
  // is kCancelled (an infrastructure outcome: the app was not at fault).
  absl::Status AsStatus() const;

  // Sleeps until `deadline` or until the state is `at_least` or later (kRunning <
  // kCancelled < kLost), whichever comes first; true in the latter case. E.g. cleanup
  // steps, which a cancel does not cut short, wait with at_least = kLost.
  bool WaitUntil(absl::Time deadline, State at_least = State::kCancelled) const;

 private:
  void Set(State state, std::string reason);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  State state_ = State::kRunning;
  std::string reason_;
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_CANCEL_TOKEN_H_

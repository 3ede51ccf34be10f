// VmPreparations: the Proxmox VMs being made ready for leased jobs, in the background,
// so an agent's lease long-poll stays short (and keeps counting as its heartbeat) while
// a VM rolls back, starts and boots. A job leased for a VM that needs preparing is
// handed to its agent only once the VM is ready; if it cannot be made ready, the job
// ends as an infrastructure error naming the step. After the job, Release puts the VM
// back (per its `after`) in the background. Destruction waits for preparations under
// way and releases every VM still prepared. Thread-safe.
#ifndef MOSDAT_COORDINATOR_VM_PREPARATIONS_H_
#define MOSDAT_COORDINATOR_VM_PREPARATIONS_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coordinator/vm_provisioner.h"
#include "core/job.h"

namespace mosdat {

class VmPreparations {
 public:
  explicit VmPreparations(std::shared_ptr<VmProvisioner> provisioner);
  ~VmPreparations();

  // Whether `job` needs a VM made ready first.
  static bool Needs(const JobSpec& job) { return job.vm.proxmox.has_value(); }

  // Starts making `job`'s VM ready for `agent`.
  void Start(const std::string& agent, JobSpec job);

  struct Result {
    enum class State { kNone, kPending, kReady, kFailed } state = State::kNone;
    JobSpec job;         // kReady: with the console and SSH addresses filled in
    absl::Status error;  // kFailed
  };
  // A preparation of `agent`'s that ended, waiting up to `wait` for one; kPending when
  // some are still under way, kNone when there are none. kReady and kFailed are handed
  // out once.
  Result Take(const std::string& agent, absl::Duration wait);

  // Puts the VM of a finished (or abandoned) job back, in the background. Unknown ids
  // (jobs that needed no preparation) are ignored.
  void Release(const std::string& job_id);

  // Waits for every preparation and release under way, then releases every VM still
  // prepared. The destructor does it too; a process that hosts the bridge itself calls
  // it while the bridge still serves.
  void Drain();

 private:
  struct Preparation {
    std::string agent;
    JobSpec job;
    bool done = false;
    absl::StatusOr<ProvisionedVm> result = absl::UnknownError("not prepared yet");
  };
  void Run(std::string job_id);
  // Runs `work` on a thread of its own; joins the threads that have ended (mutex_ held).
  void Spawn(std::function<void()> work);

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> ended;
  };

  std::shared_ptr<VmProvisioner> provisioner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  struct HeldLease {
    std::string lease;  // the bridge's lease id
    std::string vm;
  };
  std::map<std::string, Preparation> by_job_;  // an agent may have several (its capacity)
  std::map<std::string, HeldLease> leases_;    // by job id
  std::map<std::string, int> releasing_;       // VM name → releases under way
  std::vector<Worker> workers_;
  bool draining_ = false;  // Start and Release refuse new work once set
};

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_VM_PREPARATIONS_H_

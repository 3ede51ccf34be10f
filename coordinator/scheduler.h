// Which queued job an agent takes next. Pure functions of the queue, the running jobs
// and the asking agent, so every rule is tested without a coordinator:
// - the agent must drive the job's VM and have a free slot (its capacity);
// - a VM runs one job at a time: a Proxmox VM is one machine whichever agent drives
//   it, a local VM is each agent's own desktop;
// - a Proxmox host runs at most max_concurrent_vms jobs at once (0 = no limit);
// - a passthrough GPU is exclusive: two jobs that need the same one never overlap;
// - fair share: the run with the fewest running jobs goes first (then the older run,
//   then the job's position), so a big matrix does not starve a small one submitted
//   after it.
#ifndef MOSDAT_COORDINATOR_SCHEDULER_H_
#define MOSDAT_COORDINATOR_SCHEDULER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/job.h"

namespace mosdat {

// What scheduling needs to know about a job, derived from its spec once.
struct JobResources {
  std::string vm;        // the [[vm]] name agents register
  std::string vm_key;    // a Proxmox VM's identity (host + vmid or name); "" = per agent
  std::string host_key;  // the Proxmox host; "" for local VMs
  int host_limit = 0;    // max_concurrent_vms of that host; 0 = no limit
  std::string gpu_key;   // the passthrough GPU (host + mapping or address); "" = none
};
JobResources ResourcesOf(const JobSpec& spec);

struct QueuedJob {
  std::string job_id;
  std::string run_id;
  absl::Time run_created;
  int index = 0;
  JobResources resources;
};

struct RunningJob {
  std::string agent;
  std::string run_id;
  JobResources resources;
};

struct AgentSlots {
  std::string id;
  std::vector<std::string> vms;
  int capacity = 1;
};

// Whether `agent` could run `job` now, given what is running.
bool CanRun(const AgentSlots& agent, const JobResources& job,
            const std::vector<RunningJob>& running);

// The index in `queued` of the job `agent` should take, or nullopt.
std::optional<size_t> PickJob(const std::vector<QueuedJob>& queued,
                              const std::vector<RunningJob>& running, const AgentSlots& agent);

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_SCHEDULER_H_

#include "coordinator/scheduler.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace mosdat {

JobResources ResourcesOf(const JobSpec& spec) {
  JobResources r{.vm = spec.vm.name};
  if (spec.vm.proxmox.has_value()) {
    const ProxmoxTarget& px = *spec.vm.proxmox;
    r.host_key = absl::StrCat(px.endpoint.host, ":", px.endpoint.port);
    r.vm_key =
        absl::StrCat(r.host_key, "/", spec.vm.vmid != 0 ? absl::StrCat(spec.vm.vmid) : px.pve_name);
    r.host_limit = px.max_concurrent_vms;
    if (px.gpu) {
      r.gpu_key = absl::StrCat(r.host_key, "/",
                               px.gpu_mapping.empty() ? px.gpu_pci_address : px.gpu_mapping);
    }
  }
  return r;
}

bool CanRun(const AgentSlots& agent, const JobResources& job,
            const std::vector<RunningJob>& running) {
  if (std::find(agent.vms.begin(), agent.vms.end(), job.vm) == agent.vms.end()) return false;
  int mine = 0, on_host = 0;
  for (const RunningJob& other : running) {
    if (other.agent == agent.id) ++mine;
    const JobResources& r = other.resources;
    if (job.vm_key.empty() ? (other.agent == agent.id && r.vm == job.vm && r.vm_key.empty())
                           : r.vm_key == job.vm_key) {
      return false;  // the VM is busy
    }
    if (!job.gpu_key.empty() && r.gpu_key == job.gpu_key) return false;
    if (!job.host_key.empty() && r.host_key == job.host_key) ++on_host;
  }
  if (mine >= std::max(1, agent.capacity)) return false;
  if (job.host_limit > 0 && on_host >= job.host_limit) return false;
  return true;
}

std::optional<size_t> PickJob(const std::vector<QueuedJob>& queued,
                              const std::vector<RunningJob>& running, const AgentSlots& agent) {
  std::map<std::string, int> running_per_run;
  for (const RunningJob& r : running) ++running_per_run[r.run_id];
  std::optional<size_t> best;
  auto rank = [&](const QueuedJob& j) {
    auto it = running_per_run.find(j.run_id);
    return std::make_tuple(it == running_per_run.end() ? 0 : it->second, j.run_created, j.run_id,
                           j.index);
  };
  for (size_t i = 0; i < queued.size(); ++i) {
    if (!CanRun(agent, queued[i].resources, running)) continue;
    if (!best || rank(queued[i]) < rank(queued[*best])) best = i;
  }
  return best;
}

}  // namespace mosdat

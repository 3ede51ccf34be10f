#include "coordinator/vm_preparations.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "core/net.h"

namespace mosdat {

VmPreparations::VmPreparations(std::shared_ptr<VmProvisioner> provisioner)
    : provisioner_(std::move(provisioner)) {}

VmPreparations::~VmPreparations() { Drain(); }

void VmPreparations::Drain() {
  std::vector<Worker> workers;
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
    workers.swap(workers_);
  }
  for (Worker& worker : workers) worker.thread.join();
  std::map<std::string, std::string> leases;
  {
    std::lock_guard lock(mutex_);
    leases.swap(leases_);
    // Ready but never handed out: their leases are in the results.
    for (auto& [agent, preparation] : by_agent_) {
      if (preparation.done && preparation.result.ok()) {
        leases[preparation.job.job_id] = preparation.result->lease_id;
      }
    }
    by_agent_.clear();
  }
  for (const auto& [job_id, lease] : leases) {
    if (absl::Status s = provisioner_->Release(lease); !s.ok()) {
      spdlog::warn("releasing the VM of job {}: {}", job_id, std::string(s.message()));
    }
  }
}

void VmPreparations::Start(const std::string& agent, JobSpec job) {
  std::lock_guard lock(mutex_);
  if (draining_) {
    by_agent_[agent] = Preparation{.job = std::move(job),
                                   .done = true,
                                   .result = absl::UnavailableError("the coordinator is stopping")};
    return;
  }
  by_agent_[agent] = Preparation{.job = std::move(job)};
  Spawn([this, agent] { Run(agent); });
}

void VmPreparations::Spawn(std::function<void()> work) {
  // A long-lived coordinator must not collect a thread per job.
  std::erase_if(workers_, [](Worker& worker) {
    if (!worker.ended->load()) return false;
    worker.thread.join();
    return true;
  });
  auto ended = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([work = std::move(work), ended] {
                        work();
                        ended->store(true);
                      }),
                      ended});
}

void VmPreparations::Run(std::string agent) {
  JobSpec job;
  {
    std::lock_guard lock(mutex_);
    job = by_agent_.at(agent).job;
  }
  absl::StatusOr<ProvisionedVm> result =
      provisioner_ != nullptr
          ? provisioner_->Prepare(job)
          : absl::UnavailableError(absl::StrCat(
                "VM \"", job.vm.name,
                "\" uses the proxmox provider, but this coordinator has no proxmox-bridge"));
  std::lock_guard lock(mutex_);
  Preparation& preparation = by_agent_.at(agent);
  preparation.result = std::move(result);
  preparation.done = true;
  changed_.notify_all();
}

VmPreparations::Result VmPreparations::Take(const std::string& agent, absl::Duration wait) {
  std::unique_lock lock(mutex_);
  auto it = by_agent_.find(agent);
  if (it == by_agent_.end()) return {};
  changed_.wait_for(lock, absl::ToChronoMilliseconds(wait), [&] { return it->second.done; });
  Preparation& preparation = it->second;
  if (!preparation.done) return {.state = Result::State::kPending};
  Result result;
  result.job = std::move(preparation.job);
  if (preparation.result.ok()) {
    const ProvisionedVm& vm = *preparation.result;
    result.state = Result::State::kReady;
    result.job.vm.vnc_address = vm.console_address;
    result.job.vm.vnc_password = vm.console_password;
    if (result.job.vm.ssh_address.empty() && !vm.guest_address.empty()) {
      result.job.vm.ssh_address = JoinHostPort(vm.guest_address, result.job.vm.ssh_port);
    }
    result.job.provision_notes = vm.notes;
    leases_[result.job.job_id] = vm.lease_id;
  } else {
    result.state = Result::State::kFailed;
    result.error = preparation.result.status();
  }
  by_agent_.erase(it);
  return result;
}

void VmPreparations::Release(const std::string& job_id) {
  std::string lease;
  {
    std::lock_guard lock(mutex_);
    auto it = leases_.find(job_id);
    if (it == leases_.end()) return;
    lease = it->second;
    if (draining_) return;  // Drain releases it
    leases_.erase(it);
    Spawn([this, job_id, lease] {
      if (absl::Status s = provisioner_->Release(lease); !s.ok()) {
        spdlog::warn("releasing the VM of job {}: {}", job_id, std::string(s.message()));
      }
    });
  }
}

}  // namespace mosdat

#include "coordinator/vm_preparations.h"

#include <spdlog/spdlog.h>

#include <algorithm>

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
    for (auto& [job_id, held] : leases_) leases[job_id] = held.lease;
    leases_.clear();
    // Ready but never handed out: their leases are in the results.
    for (auto& [job_id, preparation] : by_job_) {
      if (preparation.done && preparation.result.ok()) {
        leases[job_id] = preparation.result->lease_id;
      }
    }
    by_job_.clear();
  }
  for (const auto& [job_id, lease] : leases) {
    if (absl::Status s = provisioner_->Release(lease); !s.ok()) {
      spdlog::warn("releasing the VM of job {}: {}", job_id, std::string(s.message()));
    }
  }
}

void VmPreparations::Start(const std::string& agent, JobSpec job) {
  std::lock_guard lock(mutex_);
  const std::string job_id = job.job_id;
  if (draining_) {
    by_job_[job_id] = Preparation{.agent = agent,
                                  .job = std::move(job),
                                  .done = true,
                                  .result = absl::UnavailableError("the coordinator is stopping")};
    return;
  }
  by_job_[job_id] = Preparation{.agent = agent, .job = std::move(job)};
  Spawn([this, job_id] { Run(job_id); });
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

void VmPreparations::Run(std::string job_id) {
  JobSpec job;
  {
    std::unique_lock lock(mutex_);
    job = by_job_.at(job_id).job;
    // A retry of a job on the same VM waits until the last attempt's VM is put back.
    changed_.wait(lock, [&] { return !releasing_.contains(job.vm.name) || draining_; });
  }
  absl::StatusOr<ProvisionedVm> result =
      provisioner_ != nullptr
          ? provisioner_->Prepare(job)
          : absl::UnavailableError(absl::StrCat(
                "VM \"", job.vm.name,
                "\" uses the proxmox provider, but this coordinator has no proxmox-bridge"));
  std::lock_guard lock(mutex_);
  auto it = by_job_.find(job_id);
  if (it == by_job_.end()) return;  // drained meanwhile
  Preparation& preparation = it->second;
  preparation.result = std::move(result);
  preparation.done = true;
  changed_.notify_all();
}

VmPreparations::Result VmPreparations::Take(const std::string& agent, absl::Duration wait) {
  std::unique_lock lock(mutex_);
  auto find = [&](bool done) {
    return std::find_if(by_job_.begin(), by_job_.end(), [&](const auto& entry) {
      return entry.second.agent == agent && (!done || entry.second.done);
    });
  };
  if (find(false) == by_job_.end()) return {};
  changed_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                    [&] { return find(true) != by_job_.end(); });
  auto it = find(true);
  if (it == by_job_.end()) return {.state = Result::State::kPending};
  Preparation& preparation = it->second;
  Result result;
  result.job = std::move(preparation.job);
  if (preparation.result.ok()) {
    const ProvisionedVm& vm = *preparation.result;
    result.state = Result::State::kReady;
    UseProvisioned(vm, &result.job.vm);
    result.job.provision_notes = vm.notes;
    leases_[result.job.job_id] = {.lease = vm.lease_id, .vm = result.job.vm.name};
  } else {
    result.state = Result::State::kFailed;
    result.error = preparation.result.status();
  }
  by_job_.erase(it);
  return result;
}

void VmPreparations::Release(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = leases_.find(job_id);
  if (it == leases_.end()) return;
  if (draining_) return;  // Drain releases it
  const HeldLease held = it->second;
  leases_.erase(it);
  ++releasing_[held.vm];
  Spawn([this, job_id, held] {
    if (absl::Status s = provisioner_->Release(held.lease); !s.ok()) {
      spdlog::warn("releasing the VM of job {}: {}", job_id, std::string(s.message()));
    }
    std::lock_guard lock(mutex_);
    if (--releasing_[held.vm] == 0) releasing_.erase(held.vm);
    changed_.notify_all();
  });
}

}  // namespace mosdat

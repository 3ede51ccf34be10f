#include "proxmox-bridge/vm_readiness.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/absl_compat.h"
#include "proxmox-bridge/pve_guest_agent.h"

namespace mosdat {
namespace {

// Prefixes the failing step to the error, keeping its code (its outcome).
absl::Status InStep(std::string_view step, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("making the VM ready failed at \"", Absl(step),
                                                  "\": ", status.message()));
}

// Times one step into `slot`.
class StepTimer {
 public:
  explicit StepTimer(absl::Duration* slot) : slot_(slot), start_(absl::Now()) {}
  ~StepTimer() { *slot_ = absl::Now() - start_; }

 private:
  absl::Duration* slot_;
  absl::Time start_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReadyVm>> MakeVmReady(PveClient& client, const VmReadinessSpec& spec,
                                                     const ConsoleOpener& open_console,
                                                     std::string* failed_step) {
  std::string ignored;
  std::string& step_name = failed_step != nullptr ? *failed_step : ignored;
  // Prefixes the failing step to the error (keeping its code) and records its name.
  auto fail = [&](std::string_view name, std::string_view step, const absl::Status& status) {
    step_name = std::string(name);
    return InStep(step, status);
  };
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + spec.ready_timeout;
  auto ready = std::make_unique<ReadyVm>();
  PveTaskOptions tasks{.deadline = deadline, .warnings = &ready->warnings};
  // Undo what was changed so far when a later step fails.
  auto abort = [&](std::string_view name, std::string_view step,
                   const absl::Status& status) -> absl::Status {
    ready->console.reset();
    if (ready->gpu.has_value() && ready->gpu->changed()) {
      PveTaskOptions cleanup{.deadline = absl::Now() + spec.shutdown_timeout + absl::Seconds(30)};
      (void)StopPveVm(client, ready->vm, cleanup);
      (void)RestoreGpu(client, ready->vm, *ready->gpu);
    }
    return fail(name, step, status);
  };

  {
    StepTimer timer(&ready->timings.find);
    absl::StatusOr<PveVm> vm = FindPveVm(client, spec.vmid, spec.pve_name);
    if (!vm.ok()) return fail("find", "find the VM", vm.status());
    ready->vm = *vm;
  }
  absl::StatusOr<PveVmStatus> status = GetPveVmStatus(client, ready->vm);
  if (!status.ok()) return fail("status", "read the VM's status", status.status());
  if (absl::Status s = RefuseLocked(*status); !s.ok())
    return fail("lock", "check the VM's lock", s);
  ready->vm.name = status->vm.name;
  bool running = status->status == "running";

  if (!spec.snapshot.empty()) {
    StepTimer timer(&ready->timings.rollback);
    absl::Status s = RollbackPveSnapshot(client, ready->vm, spec.snapshot, tasks);
    if (!s.ok()) return fail("rollback", absl::StrCat("roll back to snapshot ", spec.snapshot), s);
    status = GetPveVmStatus(client, ready->vm);
    if (!status.ok()) return fail("status", "read the VM's status", status.status());
    running = status->status == "running";
  }

  if (spec.gpu.has_value()) {
    StepTimer timer(&ready->timings.gpu);
    absl::StatusOr<GpuAttachment> gpu = AttachGpu(client, ready->vm, *spec.gpu);
    if (!gpu.ok()) return fail("gpu", "attach the GPU", gpu.status());
    ready->gpu = *gpu;
    if (spec.gpu->primary) {
      ready->warnings.push_back(
          "the GPU is the VM's primary display (x-vga=1): the VNC console shows nothing");
    }
    // No hot-plug: the device appears only after a full stop and start.
    if (gpu->changed() && running) {
      if (absl::Status s = StopPveVm(client, ready->vm, tasks); !s.ok()) {
        return abort("gpu", "stop the VM so the GPU applies", s);
      }
      running = false;
    }
  }

  if (!running) {
    StepTimer timer(&ready->timings.start);
    if (absl::Status s = StartPveVm(client, ready->vm, tasks); !s.ok()) {
      return abort("start", "start the VM", s);
    }
    ready->started_here = true;
  }

  {
    StepTimer timer(&ready->timings.address);
    if (!spec.fixed_ip.empty()) {
      ready->address = spec.fixed_ip;
    } else {
      absl::StatusOr<std::string> address =
          WaitForGuestAddress(client, ready->vm, spec.subnets, deadline);
      if (!address.ok()) return abort("address", "get the guest's IP address", address.status());
      ready->address = *address;
    }
  }

  if (spec.open_console) {
    StepTimer timer(&ready->timings.console);
    absl::StatusOr<std::unique_ptr<ConsoleHandle>> console = open_console(client, ready->vm);
    if (!console.ok()) return abort("console", "open the VM's console", console.status());
    ready->console = *std::move(console);
  }
  ready->timings.total = absl::Now() - start;
  return ready;
}

absl::Status ReleaseVm(PveClient& client, const VmReadinessSpec& spec, ReadyVm& ready) {
  absl::Status first;
  auto keep = [&first](absl::Status s) {
    if (first.ok() && !s.ok()) first = s;
  };
  ready.console.reset();
  PveTaskOptions tasks{.deadline = absl::Now() + spec.shutdown_timeout + absl::Minutes(2)};
  const bool gpu_changed = ready.gpu.has_value() && ready.gpu->changed();
  switch (spec.after) {
    case AfterJob::kRollback:
      keep(RollbackPveSnapshot(client, ready.vm, spec.snapshot, tasks));
      break;
    case AfterJob::kShutdown:
      keep(ShutdownPveVm(client, ready.vm, spec.shutdown_timeout, tasks));
      break;
    case AfterJob::kKeep:
      // The GPU leaves the VM only at a full stop.
      if (gpu_changed) keep(ShutdownPveVm(client, ready.vm, spec.shutdown_timeout, tasks));
      break;
  }
  if (gpu_changed) keep(RestoreGpu(client, ready.vm, *ready.gpu));
  return first;
}

}  // namespace mosdat

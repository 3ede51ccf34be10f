#include "core/job.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/absl_compat.h"

namespace mosdat {

VmTarget TargetFor(const Config& config, const VmConfig& vm) {
  VmTarget target;
  target.name = vm.name;
  target.provider = vm.provider;
  target.vmid = vm.vmid;
  target.app_command.push_back(vm.app_path.empty() ? config.app.binary : vm.app_path);
  target.app_command.insert(target.app_command.end(), config.app.args.begin(),
                            config.app.args.end());
  target.app_env = config.app.env;
  if (!vm.ip.empty()) target.ssh_address = absl::StrCat(vm.ip, ":", vm.ssh_port);
  target.ssh_user = vm.user;
  target.ssh_key_path = vm.ssh_key;
  target.host_key_fingerprint = vm.host_key_fingerprint;
  target.os_type = vm.os_type;
  target.x11 = vm.x11 == X11Mode::kAuto;
  target.width = vm.geometry.width;
  target.height = vm.geometry.height;
  target.ssh_port = vm.ssh_port;
  if (vm.provider == VmProvider::kProxmox) {
    if (const ProxmoxConfig* px = ProxmoxHostFor(config, vm); px != nullptr) {
      ProxmoxTarget& t = target.proxmox.emplace();
      t.endpoint_name = px->name;
      t.endpoint = {.host = px->host,
                    .port = px->port,
                    .user = px->user,
                    .token = px->token,
                    .password = px->password,
                    .fingerprint = px->fingerprint,
                    .ca_file = px->ca_file};
      t.pve_name = vm.pve_name.empty() ? vm.name : vm.pve_name;
      t.snapshot = vm.snapshot;
      t.after = vm.after;
      t.gpu = vm.gpu;
      t.gpu_pci_address = px->gpu_pci_address;
      t.gpu_mapping = px->gpu_mapping;
      t.gpu_primary = vm.gpu_mode == GpuMode::kPrimary;
      t.subnets = px->subnets;
      t.ready_timeout = vm.ready_timeout;
      t.shutdown_timeout = vm.shutdown_timeout;
      t.max_concurrent_vms = px->max_concurrent_vms;
    }
  }
  return target;
}

std::string IterationName(int iteration) { return absl::StrFormat("iteration-%02d", iteration); }

int IterationOf(std::string_view variant) {
  constexpr std::string_view kPrefix = "iteration-";
  int number = 0;
  if (!variant.starts_with(kPrefix) ||
      !absl::SimpleAtoi(Absl(variant.substr(kPrefix.size())), &number) || number < 1 ||
      number > kMaxIterations) {
    return 0;
  }
  return number;
}

}  // namespace mosdat

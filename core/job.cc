#include "core/job.h"

#include "absl/strings/str_cat.h"

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
  return target;
}

}  // namespace mosdat

// JobSpec: one scenario on one VM — what the coordinator leases to an agent. Carries
// every file the job needs (scenario, imported fragments, reference images), so agents
// need no shared filesystem with the coordinator.
#ifndef MOSDAT_CORE_JOB_H_
#define MOSDAT_CORE_JOB_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/template_vars.h"

namespace mosdat {

struct VmTarget {
  std::string name;
  VmProvider provider = VmProvider::kLocal;
  int vmid = 0;
  std::string vnc_address;  // host:port; empty for local VMs (the agent starts one)
  std::string vnc_password;
  // SSH into the guest (shell, launch, AT-SPI); empty address = no SSH. Local VMs get a
  // private sshd from the agent instead.
  std::string ssh_address;  // host:port
  std::string ssh_user;
  std::string ssh_key_path;          // on the agent's host
  std::string host_key_fingerprint;  // pinned "SHA256:..."; empty = known_hosts
  OsType os_type = OsType::kLinux;
  bool x11 = false;  // x11 = "auto"
  // Local provider: the desktop to bring up.
  std::vector<std::string> app_command;
  std::map<std::string, std::string> app_env;
  int width = 1280;
  int height = 800;
};

// What an agent needs to reach `vm` of `config` (the app to start, SSH, screen size).
VmTarget TargetFor(const Config& config, const VmConfig& vm);

struct JobSpec {
  std::string job_id;
  std::string run_id;
  std::string test;
  VmTarget vm;
  std::string scenario_path;                 // a key of `files`
  std::map<std::string, std::string> files;  // path → contents
  VarMap vars;                               // overrides for the scenario
  // More overrides, each a credential: its value is replaced by "•••" in every event.
  std::map<std::string, std::string> secrets;
  ScreenshotPolicy screenshots = ScreenshotPolicy::kAll;
  std::optional<CursorPark> park;
  double timeout_seconds = 0;  // whole job; 0 = no limit beyond step timeouts
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_JOB_H_

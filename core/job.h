// JobSpec: one scenario on one VM — what the coordinator leases to an agent. Carries
// every file the job needs (scenario, imported fragments, reference images), so agents
// need no shared filesystem with the coordinator.
#ifndef MOSDAT_CORE_JOB_H_
#define MOSDAT_CORE_JOB_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/package_install.h"
#include "core/pve_endpoint.h"
#include "core/smoke.h"
#include "core/template_vars.h"

namespace mosdat {

// How the coordinator has a Proxmox VM made ready before a job (by the proxmox-bridge)
// and put back after it. Secrets stay references, resolved by the bridge.
struct ProxmoxTarget {
  std::string endpoint_name;  // [proxmox.hosts.NAME]; "" = the single [proxmox]
  PveEndpoint endpoint;
  std::string pve_name;  // lookup by name when vmid is 0
  std::string snapshot;  // rolled back to before the job; "" = none
  VmAfterJob after = VmAfterJob::kKeep;
  bool gpu = false;
  std::string gpu_pci_address;
  std::string gpu_mapping;
  bool gpu_primary = false;
  std::vector<std::string> subnets;
  double ready_timeout = 300;
  double shutdown_timeout = 60;
  int max_concurrent_vms = 0;  // of this Proxmox host at once; 0 = no limit
};

struct VmTarget {
  std::string name;
  VmProvider provider = VmProvider::kLocal;
  int vmid = 0;
  std::string vnc_address;  // host:port; empty for local VMs (the agent starts one)
  std::string vnc_password;
  // SSH into the guest (shell, launch, AT-SPI); empty address = no SSH. Local VMs get a
  // private sshd from the agent instead.
  std::string ssh_address;  // host:port
  int ssh_port = 22;        // with an address the provider finds (Proxmox guest agent)
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
  // Proxmox provider: how to make the VM ready (set for provider = "proxmox").
  std::optional<ProxmoxTarget> proxmox;
};

// What an agent needs to reach `vm` of `config` (the app to start, SSH, screen size).
VmTarget TargetFor(const Config& config, const VmConfig& vm);

// A package (or other build artifact) the user uploaded to the coordinator, by content.
struct ArtifactRef {
  std::string name;    // the file name as built, e.g. "app_1.2.3_amd64.deb"
  std::string sha256;  // lower-case hex
  uint64_t size = 0;
};

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
  // What the provider did to make the VM ready (timings, GPU, warnings): the agent
  // records each line as a log event at the job's start.
  std::vector<std::string> provision_notes;
  // The run's packages (uploaded with the submission): the agent fetches them by
  // content and deploys those its VM's [[vm.package]] entries take.
  std::vector<ArtifactRef> packages;
  // How the VM installs them before the job (planned by the coordinator from the
  // config; each local_path is empty until the agent has fetched the file).
  std::optional<DeployPlan> deploy;
  // A third dimension beside test and VM; for smoke jobs the variant's spelling
  // ("wayland-fake"). "" = none.
  std::string variant;
  // Set for a smoke test: the agent runs the app instead of a scenario (scenario_path
  // and files are then unused).
  std::optional<SmokeSpec> smoke;
  // An install job (test kInstallTest): the VM installs `deploy` (with its contents
  // checks) and nothing else runs; the verdict is the install's.
  bool install_only = false;
  // A failed must_pass step holds the job and its VM for a person instead of ending it
  // (vnc-agent/steps/agent_jobs.h); the run's switch, when a person sets it, wins.
  bool pause_on_failure = false;
  // Which run of the same scenario on the same VM this is (1, 2, ...) when the run
  // repeats it (`mosdat confirm --iterations`); 0 = not repeated. The variant is then
  // IterationName(iteration), which names the job in progress lines and reports.
  int iteration = 0;
  // Record the screen as a video at most this many frames a second; 0 = do not.
  int record_fps = 0;
};

// "iteration-03": a repeated job's variant and results sub-directory.
std::string IterationName(int iteration);
// The iteration a variant names, or 0.
int IterationOf(std::string_view variant);

// The most frames a second a recording (JobSpec::record_fps) may take.
inline constexpr int kMaxRecordFps = 30;

// The most iterations a run may ask for per (test, VM).
inline constexpr int kMaxIterations = 100;

// The test name of install jobs (`mosdat build`, and `mosdat run` with [verify]).
inline constexpr char kInstallTest[] = "install";

// Whether a run has install jobs, one per VM that installs the run's packages: beside
// the tests' jobs (kAlso: `mosdat run` with [verify]) or instead of them (kOnly:
// `mosdat build`).
enum class InstallJobs { kNone = 0, kAlso = 1, kOnly = 2 };

}  // namespace mosdat

#endif  // MOSDAT_CORE_JOB_H_

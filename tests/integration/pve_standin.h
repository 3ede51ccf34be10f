// tests/pve_standin/ as a test fixture: a STAND-IN for Proxmox VE (which cannot run
// here), a real HTTPS server with PVE's API shapes and checks, backed by real QEMU and
// qemu-ga processes. Started per test with a JSON config; killed (with its VMs) when
// destroyed. With the official schemas at hand (MOSDAT_PVE_SCHEMAS, or ../shared/pve
// beside the source tree), every request the test sent is checked against them on
// destruction: a request the real API would refuse fails the test.
#ifndef MOSDAT_TESTS_INTEGRATION_PVE_STANDIN_H_
#define MOSDAT_TESTS_INTEGRATION_PVE_STANDIN_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/process.h"
#include "proxmox-bridge/pve_client.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {

inline constexpr char kPveTokenId[] = "root@pam!mosdat";
inline constexpr char kPveTokenSecret[] = "11111111-2222-3333-4444-555555555555";
inline constexpr char kPveRootPassword[] = "rootpw";

// A config with nodes pve1 and pve2, root@pam (password and token) and `vms`.
nlohmann::json PveStandInConfig(nlohmann::json vms);

// A VM on node pve1 (q35, with a disk for snapshots) whose console is the real VNC
// server at `vnc_address` (with `vnc_password`); no console when the address is empty.
nlohmann::json PveStandInVm(int vmid, const std::string& name, const std::string& vnc_address = "",
                            const std::string& vnc_password = "");

// Adds a GPU (0000:01:00.0, "GA102") to node pve1 and the resource mapping "gpu0" for it.
void AddPveStandInGpu(nlohmann::json* config);

class PveStandIn {
 public:
  PveStandIn(const nlohmann::json& config, const std::string& pve_version = "9.1");
  ~PveStandIn();

  int port() const { return port_; }
  const std::string& fingerprint() const { return fingerprint_; }
  bool started() const { return port_ > 0; }

  // Client options for this server: the pinned fingerprint, root's token.
  PveClientOptions TokenOptions() const;
  PveClientOptions PasswordOptions() const;

  // POST /_standin/fault and GET /_standin/state.
  void Fault(const nlohmann::json& fault) const;
  nlohmann::json State() const;
  nlohmann::json VmState(int vmid) const;
  // Every request logged so far.
  std::vector<nlohmann::json> Requests() const;
  const std::string& state_dir() const { return dir_.path(); }
  // A test that sends requests PVE must refuse (to see how its 400 reads) calls this:
  // the conformance check then leaves out the requests the stand-in answered 400.
  void AllowRefusedRequests() { allow_refused_ = true; }

 private:
  std::string Https(const std::string& method, const std::string& path,
                    const std::string& body) const;
  void CheckConformance() const;

  TempDir dir_;
  std::optional<Process> process_;
  int port_ = 0;
  std::string fingerprint_;
  std::string cert_file_;
  std::string version_;
  bool allow_refused_ = false;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_PVE_STANDIN_H_

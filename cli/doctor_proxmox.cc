#include "cli/doctor_proxmox.h"

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/doctor_guest.h"
#include "core/absl_compat.h"
#include "core/net.h"
#include "proxmox-bridge/pve_client.h"
#include "proxmox-bridge/pve_console.h"
#include "proxmox-bridge/pve_gpu.h"
#include "proxmox-bridge/pve_guest_agent.h"
#include "proxmox-bridge/pve_http.h"
#include "proxmox-bridge/pve_json.h"
#include "proxmox-bridge/pve_vm.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

using json = nlohmann::json;

constexpr absl::Duration kRequestTimeout = absl::Seconds(15);
constexpr char kStoppedReason[] = "VM is stopped; `mosdat functional` starts it";

// A privilege a run needs on /vms/VMID: any one of `any_of`, for `why`.
struct NeededPrivilege {
  std::vector<std::string> any_of;
  std::string why;
  std::string check;  // the doctor check that needs it ("" = none here)
};

std::vector<NeededPrivilege> NeededPrivileges(const VmConfig& vm, int pve_major) {
  std::vector<NeededPrivilege> needed = {
      {{"VM.Audit"}, "to find the VM and read its status", ""},
      {{"VM.PowerMgmt"}, "to start and stop it", ""},
      {{"VM.Console"}, "to open its screen (vncproxy)", "console"},
  };
  if (!vm.snapshot.empty()) {
    needed.push_back({{"VM.Snapshot.Rollback", "VM.Snapshot"},
                      absl::StrCat("to roll back to snapshot \"", vm.snapshot, "\""),
                      ""});
  }
  if (pve_major < 9) {
    needed.push_back({{"VM.Monitor"}, "for the guest agent (Proxmox VE 8)", "guest-agent"});
  } else {
    needed.push_back({{"VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"},
                      "to ask the guest agent for the address",
                      "guest-agent"});
    needed.push_back(
        {{"VM.GuestAgent.Unrestricted"}, "to run commands through the guest agent", ""});
  }
  if (vm.gpu) {
    needed.push_back({{"VM.Config.HWType"}, "to attach the GPU (hostpci)", ""});
  }
  return needed;
}

std::string Login(const ProxmoxConfig& host) {
  return host.token.is_set()
             ? absl::StrCat("API token ", host.user, " (secret from ", host.token.ToString(), ")")
             : absl::StrCat("ticket login as ", host.user, " (password from ",
                            host.password.ToString(), ")");
}

// Runs the checks in order; each returns false when the ones after it cannot run.
class ProxmoxDoctor {
 public:
  ProxmoxDoctor(const VmConfig& vm, const ProxmoxConfig& host, DoctorChecklist& checks)
      : vm_(vm), host_(host), checks_(checks) {
    origin_ = absl::StrCat("https://", host.host, ":", host.port);
    trust_ = {.ca_file = host.ca_file, .fingerprint = host.fingerprint};
  }

  void Run() {
    if (!Reach()) return SkipRest("the Proxmox VE API is not reachable (api)");
    if (!Trust()) return SkipRest("the server's certificate is not trusted (tls)");
    if (!LogIn()) return SkipRest("the login failed (auth)");
    const bool found = FindVm();
    Privileges();
    if (!found) return SkipRest("the VM was not found (vm)");
    if (!Status()) return SkipRest("the VM is locked (status)");
    if (!vm_.snapshot.empty()) Snapshot();
    GuestAndConsole();
    if (vm_.gpu) Gpu();
  }

 private:
  // Every check that applies to this VM, in order.
  std::vector<std::string> Applicable() const {
    std::vector<std::string> names = {"api", "tls", "auth", "vm", "privileges", "status"};
    if (!vm_.snapshot.empty()) names.push_back("snapshot");
    for (const char* name : {"guest-agent", "ip", "ssh", "guest-python", "console"}) {
      names.push_back(name);
    }
    if (vm_.gpu) names.push_back("gpu");
    return names;
  }

  void SkipRest(const std::string& reason) {
    for (const std::string& name : Applicable()) {
      if (checks_.Find(name) == nullptr) checks_.Skip(name, reason);
    }
  }

  bool Reach() {
    PveHttpRequest request{.method = "GET",
                           .host = host_.host,
                           .port = host_.port,
                           .path = "/version",
                           .trust = trust_,
                           .timeout = kRequestTimeout};
    probe_ = PerformPveHttp(request);
    using T = PveHttpResponse::Transport;
    const std::string fix_reach = absl::StrCat(
        "check host and port in [proxmox", host_.name.empty() ? "" : ".hosts." + host_.name,
        "] (the API listens on 8006), that the node is up and pveproxy runs (systemctl status "
        "pveproxy), and that no firewall blocks this machine");
    switch (probe_.transport) {
      case T::kConnectFailed:
      case T::kTimedOut:
      case T::kBroken:
        checks_.Fail("api", absl::StrCat("cannot reach ", origin_, ": ", probe_.error), fix_reach);
        return false;
      case T::kTlsRejected:
        checks_.Pass("api", absl::StrCat(origin_, " answers (TLS refused, see tls)"));
        return true;
      case T::kOk:
        break;
    }
    if (probe_.status != 401 && probe_.status != 200) {
      checks_.Fail("api",
                   absl::StrCat(origin_, "/api2/json/version answers HTTP ", probe_.status, " ",
                                probe_.reason, ": this is not the Proxmox VE API"),
                   fix_reach);
      return false;
    }
    checks_.Pass("api", absl::StrCat(origin_, " answers"));
    return true;
  }

  bool Trust() {
    const std::string& seen = probe_.fingerprint_seen;
    const std::string shown = seen.empty() ? std::string("(none seen)") : seen;
    const std::string table =
        absl::StrCat("[proxmox", host_.name.empty() ? "" : ".hosts." + host_.name, "]");
    if (probe_.transport == PveHttpResponse::Transport::kTlsRejected) {
      if (!host_.fingerprint.empty()) {
        checks_.Fail("tls",
                     absl::StrCat("the server presented SHA-256 ", shown, ", the config pins ",
                                  host_.fingerprint),
                     absl::StrCat("if the node's certificate changed on purpose (check on the "
                                  "node: pvenode cert info), set fingerprint = \"",
                                  seen.empty() ? "AA:BB:..." : seen, "\" in ", table,
                                  "; otherwise do not connect: someone else answers"));
      } else {
        checks_.Fail(
            "tls",
            absl::StrCat("the certificate (SHA-256 ", shown, ") is not trusted by ",
                         host_.ca_file.empty() ? "the system CAs" : "ca_file " + host_.ca_file,
                         ": ", probe_.error),
            absl::StrCat("Proxmox VE's own certificate is self-signed: after checking "
                         "it on the node (pvenode cert info), pin it with fingerprint "
                         "= \"",
                         seen.empty() ? "AA:BB:..." : seen, "\" in ", table,
                         ", or name the CA that signed it in ca_file"));
      }
      return false;
    }
    if (!host_.fingerprint.empty()) {
      checks_.Pass("tls", absl::StrCat("certificate SHA-256 ", shown, " is the pinned one"));
    } else {
      checks_.Pass("tls", absl::StrCat("certificate SHA-256 ", shown, " verified by ",
                                       host_.ca_file.empty() ? "the system CAs"
                                                             : "ca_file " + host_.ca_file));
    }
    return true;
  }

  bool LogIn() {
    PveClientOptions options{.host = host_.host,
                             .port = host_.port,
                             .trust = trust_,
                             .credentials = {.user = host_.user},
                             .request_timeout = kRequestTimeout};
    const SecretRef& ref = host_.token.is_set() ? host_.token : host_.password;
    if (!ref.is_set()) {
      checks_.Fail("auth", "neither token nor password is set",
                   "set token = \"env:NAME\" (an API token's secret) or password = \"env:NAME\"");
      return false;
    }
    absl::StatusOr<std::string> secret = ref.Resolve();
    if (!secret.ok()) {
      checks_.Fail(
          "auth", std::string(secret.status().message()),
          ref.kind() == SecretRef::Kind::kEnv
              ? absl::StrCat("export ", ref.target(), " with the ",
                             host_.token.is_set() ? "token's secret" : "password",
                             " before running mosdat")
              : absl::StrCat("write the ", host_.token.is_set() ? "token's secret" : "password",
                             " to ", ref.target(), " (mode 600)"));
      return false;
    }
    (host_.token.is_set() ? options.credentials.token_secret : options.credentials.password) =
        *secret;
    absl::StatusOr<std::unique_ptr<PveClient>> client = PveClient::Create(std::move(options));
    if (!client.ok()) {
      checks_.Fail("auth", std::string(client.status().message()), "fix [proxmox] user");
      return false;
    }
    client_ = *std::move(client);
    absl::StatusOr<json> version = client_->Get("/version");
    if (!version.ok()) {
      std::string fix;
      if (version.status().code() == absl::StatusCode::kUnauthenticated) {
        fix = host_.token.is_set()
                  ? absl::StrCat(
                        "check that the token exists (pveum user token list ",
                        host_.user.substr(0, host_.user.find('!')), ") and that ", ref.ToString(),
                        " holds its secret; a lost secret cannot be "
                        "read back: create a new token (pveum user token add ",
                        host_.user.substr(0, host_.user.find('!')), " ",
                        host_.user.substr(host_.user.find('!') + 1), ") and store its secret there")
                  : absl::StrCat("check user = \"", host_.user,
                                 "\" (USER@REALM, e.g. "
                                 "root@pam) and the password in ",
                                 ref.ToString());
      } else {
        fix = "see the message; run `mosdat doctor` again when the server answers";
      }
      checks_.Fail("auth", absl::StrCat(Login(host_), ": ", version.status().message()), fix);
      return false;
    }
    version_ = PveString(*version, "version", 64);
    int major = 0;
    if (absl::SimpleAtoi(version_.substr(0, version_.find('.')), &major)) major_ = major;
    checks_.Pass("auth", absl::StrCat(Login(host_), " accepted"));
    if (DoctorCheck* api = checks_.Find("api")) {
      absl::StrAppend(&api->detail, ": Proxmox VE ", version_.empty() ? "(version?)" : version_);
    }
    return true;
  }

  bool FindVm() {
    const std::string name = vm_.pve_name.empty() ? vm_.name : vm_.pve_name;
    absl::StatusOr<PveVm> found = FindPveVm(*client_, vm_.vmid, vm_.vmid > 0 ? "" : name);
    if (!found.ok()) {
      checks_.Fail(
          "vm", std::string(found.status().message()),
          absl::StrCat(vm_.vmid > 0 ? absl::StrCat("check vmid = ", vm_.vmid)
                                    : absl::StrCat("check pve_name (or name) = \"", name, "\""),
                       " in [[vm]] \"", vm_.name,
                       "\" (qm list on the node shows them), and "
                       "that ",
                       host_.user,
                       " has VM.Audit on the VM: a login sees only the VMs "
                       "it may audit"));
      return false;
    }
    pve_vm_ = *found;
    checks_.Pass(
        "vm", absl::StrCat("VM ", pve_vm_.vmid, " \"", pve_vm_.name, "\" on node ", pve_vm_.node));
    return true;
  }

  void Privileges() {
    const int vmid = pve_vm_.vmid > 0 ? pve_vm_.vmid : vm_.vmid;
    const std::string path = vmid > 0 ? absl::StrCat("/vms/", vmid) : "/vms";
    absl::StatusOr<json> answer = client_->Get("/access/permissions", {{"path", path}});
    if (!answer.ok()) {
      checks_.Fail("privileges", std::string(answer.status().message()),
                   "give the login Sys.Audit or read its permissions in the GUI (Datacenter → "
                   "Permissions)");
      return;
    }
    std::set<std::string> held;
    if (answer->is_object()) {
      auto it = answer->find(path);
      if (it != answer->end() && it->is_object()) {
        for (const auto& [priv, value] : it->items()) held.insert(priv);
      }
    }
    std::vector<std::string> missing;
    std::vector<std::string> all;
    for (const NeededPrivilege& need : NeededPrivileges(vm_, major_)) {
      all.push_back(need.any_of.front());
      const bool has = std::any_of(need.any_of.begin(), need.any_of.end(),
                                   [&](const std::string& p) { return held.count(p) > 0; });
      if (has) continue;
      missing.push_back(absl::StrCat(absl::StrJoin(need.any_of, " or "), " (", need.why, ")"));
      if (!need.check.empty()) {
        missing_for_[need.check] = absl::StrCat("needs ", need.any_of.front(), " (privileges)");
      }
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    if (missing.empty()) {
      checks_.Pass("privileges",
                   absl::StrCat(host_.user, " holds on ", path, ": ", absl::StrJoin(all, ", ")));
      return;
    }
    const bool token = host_.token.is_set();
    checks_.Fail(
        "privileges",
        absl::StrCat(host_.user, " lacks on ", path, ": ", absl::StrJoin(missing, "; ")),
        absl::StrCat(
            "on the node: pveum role add MosdatRunner --privs \"", absl::StrJoin(all, " "),
            "\" (or pveum role modify MosdatRunner --privs "
            "\"...\" when it exists), then pveum acl modify ",
            path, " --", token ? "tokens" : "users", " '", host_.user, "' --roles MosdatRunner",
            token ? " (a token with privilege separation needs them on its user too)" : ""));
  }

  bool Status() {
    absl::StatusOr<PveVmStatus> status = GetPveVmStatus(*client_, pve_vm_);
    if (!status.ok()) {
      checks_.Fail("status", std::string(status.status().message()),
                   "run `mosdat doctor` again; check the node in the Proxmox VE GUI");
      return false;
    }
    status_ = *status;
    if (absl::Status locked = RefuseLocked(status_); !locked.ok()) {
      checks_.Fail("status", absl::StrCat(status_.status, ", ", locked.message()),
                   absl::StrCat("wait for the ", status_.lock, " to finish; if nothing runs on VM ",
                                pve_vm_.vmid, " any more, remove the stale lock on node ",
                                pve_vm_.node, ": qm unlock ", pve_vm_.vmid));
      return false;
    }
    running_ = status_.status == "running";
    if (running_) {
      checks_.Pass("status",
                   absl::StrCat("running (up ",
                                absl::FormatDuration(absl::Seconds(status_.uptime_seconds)), ")"));
    } else {
      checks_.Pass("status", absl::StrCat(status_.status.empty() ? "not running" : status_.status,
                                          " (`mosdat functional` starts it)"));
    }
    return true;
  }

  void Snapshot() {
    absl::StatusOr<std::vector<PveSnapshot>> snapshots = ListPveSnapshots(*client_, pve_vm_);
    if (!snapshots.ok()) {
      checks_.Fail("snapshot", std::string(snapshots.status().message()),
                   "run `mosdat doctor` again; check the VM's Snapshots tab");
      return;
    }
    std::vector<std::string> names;
    for (const PveSnapshot& s : *snapshots) {
      if (s.name == "current") continue;
      if (s.name == vm_.snapshot) {
        checks_.Pass("snapshot", absl::StrCat("\"", s.name, "\" exists",
                                              s.vmstate ? " (with RAM: rollback resumes the VM)"
                                                        : " (disk only)"));
        return;
      }
      names.push_back(s.name);
    }
    checks_.Fail(
        "snapshot",
        absl::StrCat("VM ", pve_vm_.vmid, " has no snapshot \"", vm_.snapshot,
                     "\" (it has: ", names.empty() ? "none" : absl::StrJoin(names, ", "), ")"),
        absl::StrCat("with the VM as tests should find it, take the snapshot (qm "
                     "snapshot ",
                     pve_vm_.vmid, " ", vm_.snapshot,
                     ", or Snapshots → Take Snapshot), or set snapshot in [[vm]] \"", vm_.name,
                     "\" to an existing one"));
  }

  void GuestAndConsole() {
    // guest-agent
    bool agent_ok = false;
    if (!running_) {
      checks_.Skip("guest-agent", kStoppedReason);
    } else if (missing_for_.count("guest-agent")) {
      checks_.Skip("guest-agent", missing_for_["guest-agent"]);
    } else if (!status_.agent_enabled) {
      checks_.Fail(
          "guest-agent",
          absl::StrCat("the config of VM ", pve_vm_.vmid, " does not enable the QEMU guest agent"),
          absl::StrCat("qm set ", pve_vm_.vmid,
                       " --agent enabled=1, install "
                       "qemu-guest-agent in the guest, then stop and start the VM"));
    } else if (absl::Status ping = PingGuestAgent(*client_, pve_vm_); !ping.ok()) {
      checks_.Fail("guest-agent", std::string(ping.message()),
                   "install and start the agent in the guest (apt install qemu-guest-agent; "
                   "systemctl enable --now qemu-guest-agent)");
    } else {
      agent_ok = true;
      checks_.Pass("guest-agent", "qemu-ga answers (ping)");
    }

    // ip
    std::string address;
    if (!vm_.ip.empty()) {
      address = vm_.ip;
      checks_.Pass("ip", absl::StrCat(vm_.ip, " (fixed ip in the config)"));
    } else if (!running_) {
      checks_.Skip("ip", "VM is stopped; the guest agent reports its address once it runs");
    } else if (!agent_ok) {
      checks_.Skip("ip", "the address comes from the guest agent (guest-agent)");
    } else {
      absl::StatusOr<std::vector<GuestInterface>> interfaces = GuestInterfaces(*client_, pve_vm_);
      if (!interfaces.ok()) {
        checks_.Fail("ip", std::string(interfaces.status().message()),
                     "run `mosdat doctor` again, or set ip in the [[vm]] table");
      } else {
        address = ChooseGuestAddress(*interfaces, host_.subnets);
        std::vector<std::string> seen;
        for (const GuestInterface& i : *interfaces) {
          seen.push_back(absl::StrCat(i.name, " ", absl::StrJoin(i.ipv4, ",")));
        }
        const std::string subnets =
            host_.subnets.empty()
                ? ""
                : absl::StrCat("; preferred subnets ", absl::StrJoin(host_.subnets, ", "));
        if (address.empty()) {
          checks_.Fail("ip",
                       absl::StrCat("the guest reports no usable address (",
                                    absl::StrJoin(seen, "; "), ")", subnets),
                       "check the guest's network (DHCP, cable in the VM's hardware), or set "
                       "ip in the [[vm]] table");
        } else {
          checks_.Pass("ip", absl::StrCat(address, " from the guest agent", subnets));
        }
      }
    }

    // ssh, guest-python
    if (!running_) {
      checks_.Skip("ssh", kStoppedReason);
      checks_.Skip("guest-python", kStoppedReason);
    } else if (address.empty()) {
      checks_.Skip("ssh", "no address (ip)");
      checks_.Skip("guest-python", "no address (ip)");
    } else {
      CheckGuestOverSsh(vm_, address, checks_);
    }

    // console
    if (!running_) {
      checks_.Skip("console", kStoppedReason);
    } else if (missing_for_.count("console")) {
      checks_.Skip("console", missing_for_["console"]);
    } else {
      Console();
    }
  }

  void Console() {
    const std::string fix = absl::StrCat(
        "the VM needs an emulated display for VNC (Hardware → Display: not \"none\" or "
        "serial)",
        vm_.gpu && vm_.gpu_mode == GpuMode::kPrimary
            ? "; gpu_mode = \"primary\" blanks the console: use \"compute\""
            : "",
        "; check that the node answers vncproxy (qm vncproxy ", pve_vm_.vmid, ")");
    absl::StatusOr<std::unique_ptr<ConsoleHandle>> console = OpenTunnelConsole(*client_, pve_vm_);
    if (!console.ok()) {
      checks_.Fail("console", std::string(console.status().message()), fix);
      return;
    }
    absl::StatusOr<std::pair<std::string, int>> where = ParseHostPort((*console)->address());
    if (!where.ok()) {
      checks_.Fail("console", std::string(where.status().message()), fix);
      return;
    }
    absl::StatusOr<Frame> frame = absl::UnavailableError("not connected");
    {
      absl::StatusOr<std::unique_ptr<VncSession>> session =
          VncSession::Connect({.host = where->first,
                               .port = where->second,
                               .password = (*console)->password(),
                               .connect_timeout = absl::Seconds(20),
                               .reconnect_attempts = 0});
      frame = session.ok() ? (*session)->Capture() : session.status();
    }
    if (!frame.ok()) {
      checks_.Fail("console",
                   absl::StrCat("through vncproxy + vncwebsocket: ", frame.status().message()),
                   fix);
      return;
    }
    checks_.Pass("console", absl::StrCat(frame->width, "x", frame->height,
                                         " frame captured through vncproxy + vncwebsocket"));
  }

  void Gpu() {
    GpuRequest request{.pci_address = host_.gpu_pci_address,
                       .mapping = host_.gpu_mapping,
                       .primary = vm_.gpu_mode == GpuMode::kPrimary};
    if (request.pci_address.empty() && request.mapping.empty()) {
      checks_.Fail("gpu", "gpu = true but no GPU is named",
                   "set gpu_mapping (or, for root@pam, gpu_pci_address) in [proxmox]");
      return;
    }
    absl::StatusOr<std::string> device = CheckGpuAvailable(*client_, pve_vm_, request);
    if (!device.ok()) {
      checks_.Fail("gpu", std::string(device.status().message()),
                   "do what the message says; gpu_pci_address/gpu_mapping in [proxmox] must name "
                   "a GPU on the VM's node that no running VM holds");
      return;
    }
    checks_.Pass("gpu", absl::StrCat(*device, " is on node ", pve_vm_.node,
                                     " and no other running VM holds it"));
  }

  const VmConfig& vm_;
  const ProxmoxConfig& host_;
  DoctorChecklist& checks_;
  std::string origin_;
  TlsTrust trust_;
  PveHttpResponse probe_;
  std::unique_ptr<PveClient> client_;
  std::string version_;
  int major_ = 9;
  PveVm pve_vm_;
  PveVmStatus status_;
  bool running_ = false;
  std::map<std::string, std::string> missing_for_;  // check → the privilege it lacks
};

}  // namespace

DoctorChecklist DoctorProxmoxVm(const Config& config, const VmConfig& vm) {
  const ProxmoxConfig* host = ProxmoxHostFor(config, vm);
  if (host == nullptr) {
    DoctorChecklist checks(vm.name, "proxmox");
    checks.Fail("api",
                vm.proxmox_host.empty()
                    ? std::string("there is no [proxmox] table with a host")
                    : absl::StrCat("there is no [proxmox.hosts.", vm.proxmox_host, "]"),
                "add [proxmox] with host, user, token (or password) and node, or name an "
                "existing host in proxmox = \"NAME\"");
    return checks;
  }
  DoctorChecklist checks(vm.name, absl::StrCat("proxmox ", host->host, ":", host->port,
                                               host->name.empty() ? "" : " (" + host->name + ")"));
  ProxmoxDoctor(vm, *host, checks).Run();
  return checks;
}

}  // namespace mosdat

#include "proxmox-bridge/pve_guest_agent.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "proxmox-bridge/pve_json.h"

namespace mosdat {
namespace {

using json = nlohmann::json;

// A 403 on an agent call names the privilege; say which permission model wants what.
absl::Status ExplainAgentError(absl::Status status) {
  if (status.code() != absl::StatusCode::kPermissionDenied) return status;
  const std::string hint =
      absl::StrContains(status.message(), "VM.GuestAgent")
          ? " Proxmox VE 9 splits guest-agent rights: VM.GuestAgent.Audit for ping and "
            "addresses, VM.GuestAgent.Unrestricted (or FileWrite) for exec and file-write."
          : " Proxmox VE 8 wants VM.Monitor on /vms/VMID for every guest-agent call.";
  return absl::PermissionDeniedError(absl::StrCat(status.message(), hint));
}

// PVE's message when the agent is not (yet) up in the guest: worth waiting for.
bool AgentNotRunning(const absl::Status& status) {
  return absl::StrContains(status.message(), "guest agent is not running") ||
         absl::StrContains(status.message(), "not running") ||
         absl::StrContains(status.message(), "got timeout");
}

bool ParseIpv4(const std::string& text, uint32_t* out) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) return false;
  *out = ntohl(addr.s_addr);
  return true;
}

bool InSubnet(const std::string& address, const std::string& cidr) {
  std::vector<std::string> parts = absl::StrSplit(cidr, '/');
  uint32_t ip = 0, net = 0;
  int bits = 32;
  if (parts.size() > 2 || !ParseIpv4(address, &ip) || !ParseIpv4(parts[0], &net)) return false;
  if (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > 32)) {
    return false;
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (ip & mask) == (net & mask);
}

bool Usable(const std::string& address, bool v6) {
  if (v6) {
    return address != "::1" && !absl::StartsWithIgnoreCase(address, "fe80:");
  }
  uint32_t ip = 0;
  if (!ParseIpv4(address, &ip)) return false;
  const bool loopback = (ip >> 24) == 127;
  const bool link_local = (ip >> 16) == 0xA9FE;  // 169.254/16
  return !loopback && !link_local && ip != 0;
}

}  // namespace

absl::Status PingGuestAgent(PveClient& client, const PveVm& vm) {
  absl::StatusOr<json> answer = client.Post(vm.Path() + "/agent/ping");
  return answer.ok() ? absl::OkStatus() : ExplainAgentError(answer.status());
}

absl::StatusOr<std::vector<GuestInterface>> GuestInterfaces(PveClient& client, const PveVm& vm) {
  absl::StatusOr<json> answer = client.Get(vm.Path() + "/agent/network-get-interfaces");
  if (!answer.ok()) return ExplainAgentError(answer.status());
  const json* result =
      answer->is_object() && answer->contains("result") ? &(*answer)["result"] : nullptr;
  if (result == nullptr || !result->is_array()) {
    return absl::InternalError("the guest agent's interface list is not a list");
  }
  std::vector<GuestInterface> interfaces;
  for (const json& entry : *result) {
    if (!entry.is_object() || interfaces.size() == 256) continue;
    GuestInterface interface;
    interface.name = PveString(entry, "name", 64);
    auto addresses = entry.find("ip-addresses");
    if (addresses != entry.end() && addresses->is_array()) {
      for (const json& a : *addresses) {
        std::string ip = PveString(a, "ip-address", 64);
        if (ip.empty() || interface.ipv4.size() + interface.ipv6.size() == 64) continue;
        const bool v6 = PveString(a, "ip-address-type") == "ipv6";
        (v6 ? interface.ipv6 : interface.ipv4).push_back(std::move(ip));
      }
    }
    interfaces.push_back(std::move(interface));
  }
  return interfaces;
}

std::string ChooseGuestAddress(const std::vector<GuestInterface>& interfaces,
                               const std::vector<std::string>& preferred_subnets) {
  std::string first_v4, first_v6;
  for (const GuestInterface& interface : interfaces) {
    for (const std::string& ip : interface.ipv4) {
      if (!Usable(ip, false)) continue;
      for (const std::string& subnet : preferred_subnets) {
        if (InSubnet(ip, subnet)) return ip;
      }
      if (first_v4.empty()) first_v4 = ip;
    }
    for (const std::string& ip : interface.ipv6) {
      if (first_v6.empty() && Usable(ip, true)) first_v6 = ip;
    }
  }
  return first_v4.empty() ? first_v6 : first_v4;
}

absl::StatusOr<std::string> WaitForGuestAddress(PveClient& client, const PveVm& vm,
                                                const std::vector<std::string>& preferred_subnets,
                                                absl::Time deadline) {
  absl::Duration pause = absl::Milliseconds(100);
  bool agent_answered = false;
  std::string seen;
  for (;;) {
    absl::StatusOr<std::vector<GuestInterface>> interfaces = GuestInterfaces(client, vm);
    if (interfaces.ok()) {
      agent_answered = true;
      std::string address = ChooseGuestAddress(*interfaces, preferred_subnets);
      if (!address.empty()) return address;
      seen.clear();
      for (const GuestInterface& i : *interfaces) {
        for (const std::string& ip : i.ipv4) absl::StrAppend(&seen, seen.empty() ? "" : ", ", ip);
      }
    } else if (!AgentNotRunning(interfaces.status())) {
      return interfaces.status();
    }
    if (absl::Now() + pause > deadline) break;
    absl::SleepFor(pause);  // polling the guest: the pause is the poll interval
    pause = std::min(pause * 2, absl::Seconds(1));
  }
  if (!agent_answered) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the guest agent of VM ", vm.vmid,
        " never answered: install and start "
        "qemu-guest-agent in the guest, and enable it in the VM's options (agent: 1)"));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "VM ", vm.vmid,
      " has no usable IP address yet (the agent reports: ", seen.empty() ? "none" : seen,
      "): check the guest's network and DHCP, or set ip = \"...\" in its [[vm]]"));
}

absl::StatusOr<GuestExecResult> GuestExec(PveClient& client, const PveVm& vm,
                                          const std::vector<std::string>& argv,
                                          absl::Time deadline) {
  if (argv.empty()) return absl::InvalidArgumentError("guest exec needs a command");
  PveParams params;
  for (const std::string& arg : argv) params.emplace_back("command", arg);
  absl::StatusOr<json> started = client.Post(vm.Path() + "/agent/exec", params);
  if (!started.ok()) return ExplainAgentError(started.status());
  const int64_t pid_number = PveInt(*started, "pid", -1);
  if (pid_number < 0) return absl::InternalError("the guest agent's exec answer has no pid");
  const std::string pid = absl::StrCat(pid_number);
  absl::Duration pause = absl::Milliseconds(20);
  for (;;) {
    absl::StatusOr<json> status = client.Get(vm.Path() + "/agent/exec-status", {{"pid", pid}});
    if (!status.ok()) return ExplainAgentError(status.status());
    if (!status->is_object()) return absl::InternalError("exec-status is not an object");
    if (PveTrue(*status, "exited")) {
      GuestExecResult result;
      result.exit_code = static_cast<int>(PveInt(*status, "exitcode", -1));
      result.out = PveString(*status, "out-data", 1 << 20);
      result.err = PveString(*status, "err-data", 1 << 20);
      return result;
    }
    if (absl::Now() + pause > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("\"", argv.front(), "\" in VM ", vm.vmid,
                                                      " via the guest agent did not exit in time"));
    }
    absl::SleepFor(pause);  // polling the guest: the pause is the poll interval
    pause = std::min(pause * 2, absl::Milliseconds(500));
  }
}

absl::Status GuestFileWrite(PveClient& client, const PveVm& vm, const std::string& path,
                            const std::string& content) {
  std::string encoded = absl::Base64Escape(content);
  if (encoded.size() > kGuestFileWriteMaxBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a guest-agent file-write carries at most ", kGuestFileWriteMaxBytes * 3 / 4, " bytes; ",
        path, " would be ", content.size(), " (copy it over SSH instead)"));
  }
  absl::StatusOr<json> answer =
      client.Post(vm.Path() + "/agent/file-write",
                  {{"file", path}, {"content", encoded}, {"encode", PveBool(false)}});
  return answer.ok() ? absl::OkStatus() : ExplainAgentError(answer.status());
}

}  // namespace mosdat

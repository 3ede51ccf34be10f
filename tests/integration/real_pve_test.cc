// The opt-in suite against a REAL Proxmox VE (8.x or 9.x), for the release check the
// stand-in cannot replace. It runs only when MOSDAT_PVE_URL is set:
//   MOSDAT_PVE_URL=https://pve.lab:8006   MOSDAT_PVE_TOKEN_ID=root@pam!mosdat
//   MOSDAT_PVE_TOKEN=env:PVE_SECRET       (a reference: the secret itself stays in PVE_SECRET)
//   MOSDAT_PVE_FINGERPRINT=AA:BB:...      (optional; else the system's CAs)
//   MOSDAT_PVE_NODE=pve  MOSDAT_PVE_VMID=100   (a VM with qemu-guest-agent; it is started
//                                              if stopped, and stopped again afterwards)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "core/net.h"
#include "core/secret_ref.h"
#include "proxmox-bridge/pve_console.h"
#include "proxmox-bridge/pve_guest_agent.h"
#include "proxmox-bridge/pve_vm.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

class RealPveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("MOSDAT_PVE_URL").empty()) {
      GTEST_SKIP() << "opt-in: set MOSDAT_PVE_URL (and the other MOSDAT_PVE_* variables) to "
                      "run against a real Proxmox VE";
    }
    std::smatch m;
    const std::string url = Env("MOSDAT_PVE_URL");
    ASSERT_TRUE(std::regex_match(url, m, std::regex("https://([^:/]+)(?::(\\d+))?/?")))
        << "MOSDAT_PVE_URL must be https://HOST[:PORT]";
    PveClientOptions options{.host = m[1].str(), .port = m[2].matched ? std::stoi(m[2]) : 8006};
    options.trust.fingerprint = Env("MOSDAT_PVE_FINGERPRINT");
    absl::StatusOr<SecretRef> ref = SecretRef::Parse(Env("MOSDAT_PVE_TOKEN"));
    ASSERT_TRUE(ref.ok()) << "MOSDAT_PVE_TOKEN must be env:NAME or file:PATH: " << ref.status();
    absl::StatusOr<std::string> secret = ref->Resolve();
    ASSERT_TRUE(secret.ok()) << secret.status();
    options.credentials = {.user = Env("MOSDAT_PVE_TOKEN_ID"), .token_secret = *secret};
    absl::StatusOr<std::unique_ptr<PveClient>> client = PveClient::Create(std::move(options));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(absl::SimpleAtoi(Env("MOSDAT_PVE_VMID"), &vmid_)) << "MOSDAT_PVE_VMID";
  }

  std::unique_ptr<PveClient> client_;
  int vmid_ = 0;
};

TEST_F(RealPveTest, FindsStartsReachesAndShowsTheVm) {
  absl::StatusOr<nlohmann::json> version = client_->Get("/version");
  ASSERT_TRUE(version.ok()) << version.status();
  absl::StatusOr<PveVm> vm = FindPveVm(*client_, vmid_, "");
  ASSERT_TRUE(vm.ok()) << vm.status();
  if (!Env("MOSDAT_PVE_NODE").empty()) {
    EXPECT_EQ(vm->node, Env("MOSDAT_PVE_NODE"));
  }
  absl::StatusOr<PveVmStatus> status = GetPveVmStatus(*client_, *vm);
  ASSERT_TRUE(status.ok()) << status.status();
  const bool was_running = status->status == "running";
  const PveTaskOptions tasks{.deadline = absl::Now() + absl::Minutes(5)};
  if (!was_running) {
    ASSERT_TRUE(StartPveVm(*client_, *vm, tasks).ok());
  }

  absl::StatusOr<std::string> address =
      WaitForGuestAddress(*client_, *vm, {}, absl::Now() + absl::Minutes(5));
  EXPECT_TRUE(address.ok()) << address.status();
  absl::StatusOr<std::unique_ptr<ConsoleHandle>> console = OpenTunnelConsole(*client_, *vm);
  ASSERT_TRUE(console.ok()) << console.status();
  const std::string where = (*console)->address();
  absl::StatusOr<std::unique_ptr<VncSession>> vnc =
      VncSession::Connect({.host = where.substr(0, where.rfind(':')),
                           .port = std::stoi(where.substr(where.rfind(':') + 1)),
                           .password = (*console)->password()});
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  EXPECT_GT((*vnc)->width(), 0);
  EXPECT_TRUE((*vnc)->Capture().ok());
  vnc->reset();
  console->reset();

  if (!was_running) {
    EXPECT_TRUE(ShutdownPveVm(*client_, *vm, absl::Minutes(1), tasks).ok());
  }
}

}  // namespace
}  // namespace mosdat

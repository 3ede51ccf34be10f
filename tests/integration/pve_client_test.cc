// The Proxmox REST client, lifecycle, guest agent and GPU passthrough against the
// Proxmox VE STAND-IN (tests/pve_standin: PVE cannot run here), whose VMs are real QEMU
// processes with a real qemu-ga. Every request sent is checked against the official
// API schemas when the fixture ends.
#include "proxmox-bridge/pve_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/outcome.h"
#include "proxmox-bridge/pve_gpu.h"
#include "proxmox-bridge/pve_guest_agent.h"
#include "proxmox-bridge/pve_vm.h"
#include "proxmox-bridge/vm_readiness.h"
#include "tests/integration/pve_standin.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using testing::PveStandIn;
using testing::PveStandInConfig;
using json = nlohmann::json;

json TwoVms() {
  return json::array(
      {{{"vmid", 100}, {"node", "pve1"}, {"name", "fedora"}, {"machine", "q35"}, {"disk", true}},
       {{"vmid", 101}, {"node", "pve1"}, {"name", "ubuntu"}}});
}

std::unique_ptr<PveClient> Client(PveClientOptions options) {
  absl::StatusOr<std::unique_ptr<PveClient>> client = PveClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

PveTaskOptions Within(absl::Duration d) { return {.deadline = absl::Now() + d}; }

TEST(PveClientTest, TokenFindsStartsAndStopsARealVm) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  auto client = Client(pve.TokenOptions());
  absl::StatusOr<PveVm> vm = FindPveVm(*client, 0, "fedora");
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_EQ(vm->vmid, 100);
  EXPECT_EQ(vm->node, "pve1");

  ASSERT_TRUE(StartPveVm(*client, *vm, Within(absl::Seconds(60))).ok());
  absl::StatusOr<PveVmStatus> status = GetPveVmStatus(*client, *vm);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status, "running");
  EXPECT_TRUE(pve.VmState(100)["running"].get<bool>());

  // A diskless guest ignores ACPI: the shutdown times out and PVE stops it (forceStop),
  // which PVE reports as a warning, not a failure.
  std::vector<std::string> warnings;
  absl::Status shutdown =
      ShutdownPveVm(*client, *vm, absl::Seconds(1),
                    {.deadline = absl::Now() + absl::Seconds(60), .warnings = &warnings});
  ASSERT_TRUE(shutdown.ok()) << shutdown;
  EXPECT_FALSE(pve.VmState(100)["running"].get<bool>());
  EXPECT_THAT(warnings, ::testing::Contains(HasSubstr("WARNINGS")));
}

TEST(PveClientTest, TicketLoginSendsCsrfOnWritesAndLogsInAgainWhenTheTicketExpires) {
  PveStandIn pve(PveStandInConfig(TwoVms()), "8.4");
  ASSERT_TRUE(pve.started());
  auto client = Client(pve.PasswordOptions());
  absl::StatusOr<PveVm> vm = FindPveVm(*client, 101, "");
  ASSERT_TRUE(vm.ok()) << vm.status();
  pve.Fault({{"expire_tickets", json::object()}});
  ASSERT_TRUE(StartPveVm(*client, *vm, Within(absl::Seconds(60))).ok());
  ASSERT_TRUE(StopPveVm(*client, *vm, Within(absl::Seconds(60))).ok());
  int logins = 0;
  for (const json& request : pve.Requests()) {
    const bool login = request["path"].get<std::string>().ends_with("/access/ticket");
    if (login) ++logins;
    if (request["method"] == "POST" && !login) {
      EXPECT_EQ(request["auth"], "ticket") << request.dump();
    }
  }
  EXPECT_EQ(logins, 2);
}

TEST(PveClientTest, ATicketIsRenewedWhenItIsOlderThanTheRenewalAge) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  PveClientOptions options = pve.PasswordOptions();
  options.ticket_renew_after = absl::ZeroDuration();  // every call finds it too old
  auto client = Client(options);
  ASSERT_TRUE(ListPveVms(*client).ok());
  ASSERT_TRUE(ListPveVms(*client).ok());
  int logins = 0;
  for (const json& request : pve.Requests()) {
    if (request["path"].get<std::string>().ends_with("/access/ticket")) ++logins;
  }
  EXPECT_EQ(logins, 2);
}

TEST(PveClientTest, AuthenticationAndTlsFaultsAreInfrastructureErrorsThatSayWhatToFix) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  PveClientOptions wrong_token = pve.TokenOptions();
  wrong_token.credentials.token_secret = "not-the-secret";
  absl::StatusOr<std::vector<PveVmStatus>> vms = ListPveVms(*Client(wrong_token));
  ASSERT_FALSE(vms.ok());
  EXPECT_EQ(OutcomeOf(vms.status()), Outcome::kInfrastructureError);
  EXPECT_THAT(vms.status().message(), HasSubstr("refused the API token \"root@pam!mosdat\""));
  EXPECT_THAT(vms.status().message(), ::testing::Not(HasSubstr("not-the-secret")));

  PveClientOptions wrong_password = pve.PasswordOptions();
  wrong_password.credentials.password = "nope";
  vms = ListPveVms(*Client(wrong_password));
  ASSERT_FALSE(vms.ok());
  EXPECT_THAT(vms.status().message(), HasSubstr("refused the login of \"root@pam\""));

  PveClientOptions wrong_pin = pve.TokenOptions();
  wrong_pin.trust.fingerprint = std::string(95, 'A');
  for (size_t i = 2; i < wrong_pin.trust.fingerprint.size(); i += 3) {
    wrong_pin.trust.fingerprint[i] = ':';
  }
  vms = ListPveVms(*Client(wrong_pin));
  ASSERT_FALSE(vms.ok());
  EXPECT_EQ(OutcomeOf(vms.status()), Outcome::kInfrastructureError);
  EXPECT_THAT(vms.status().message(), HasSubstr("is not the pinned one"));
  EXPECT_THAT(vms.status().message(), HasSubstr(pve.fingerprint()));

  PveClientOptions no_pin = pve.TokenOptions();
  no_pin.trust.fingerprint.clear();  // the system CAs do not know a self-signed cert
  vms = ListPveVms(*Client(no_pin));
  ASSERT_FALSE(vms.ok());
  EXPECT_THAT(vms.status().message(), HasSubstr("fingerprint = "));
}

TEST(PveClientTest, NodeFaultsFailedTasksAndLocksAreClearErrors) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  auto client = Client(pve.TokenOptions());
  absl::StatusOr<PveVm> vm = FindPveVm(*client, 101, "");
  ASSERT_TRUE(vm.ok()) << vm.status();

  pve.Fault({{"fail_next_task", {{"type", "qmstart"}, {"exitstatus", "start failed: boom"}}}});
  absl::Status start = StartPveVm(*client, *vm, Within(absl::Seconds(60)));
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(OutcomeOf(start), Outcome::kInfrastructureError);
  EXPECT_THAT(start.message(), HasSubstr("start failed: boom"));
  EXPECT_THAT(start.message(), HasSubstr("Task log:"));

  pve.Fault({{"lock", {{"vmid", 101}, {"lock", "backup"}}}});
  absl::Status locked = StartPveVm(*client, *vm, Within(absl::Seconds(60)));
  ASSERT_FALSE(locked.ok());
  EXPECT_THAT(locked.message(), HasSubstr("is locked (backup): a backup is running"));
  EXPECT_THAT(locked.message(), HasSubstr("qm unlock 101"));
  pve.Fault({{"lock", {{"vmid", 101}, {"lock", nullptr}}}});

  pve.Fault({{"node_unreachable", {{"node", "pve1"}, {"unreachable", true}}}});
  absl::StatusOr<PveVmStatus> status = GetPveVmStatus(*client, *vm);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(OutcomeOf(status.status()), Outcome::kInfrastructureError);
  EXPECT_THAT(status.status().message(), HasSubstr("could not reach the node"));
}

TEST(PveClientTest, ARefusedRequestCarriesPvesMessageAndItsPerParameterErrors) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  pve.AllowRefusedRequests();
  auto client = Client(pve.TokenOptions());
  // PVE's snapshot names start with a letter: PVE itself says what is wrong.
  absl::Status refused = CreatePveSnapshot(*client, {.node = "pve1", .vmid = 100}, "1st", "",
                                           Within(absl::Seconds(10)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(OutcomeOf(refused), Outcome::kInfrastructureError);
  EXPECT_THAT(refused.message(), HasSubstr("Parameter verification failed."));
  EXPECT_THAT(refused.message(), HasSubstr("(snapname: "));
  EXPECT_THAT(refused.message(), HasSubstr("POST https://127.0.0.1:"));
}

TEST(PveClientTest, AVmThatMigratedIsFoundOnItsNewNode) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  auto client = Client(pve.TokenOptions());
  pve.Fault({{"migrate", {{"vmid", 101}, {"node", "pve2"}}}});
  absl::StatusOr<PveVm> vm = FindPveVm(*client, 0, "ubuntu");
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_EQ(vm->node, "pve2");
  absl::StatusOr<PveVm> missing = FindPveVm(*client, 0, "windows");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("no VM with name \"windows\""));
}

TEST(PveClientTest, SnapshotsAreTakenListedAndRolledBack) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  auto client = Client(pve.TokenOptions());
  absl::StatusOr<PveVm> vm = FindPveVm(*client, 100, "");
  ASSERT_TRUE(vm.ok()) << vm.status();
  ASSERT_TRUE(
      CreatePveSnapshot(*client, *vm, "clean", "before tests", Within(absl::Seconds(60))).ok());
  absl::StatusOr<std::vector<PveSnapshot>> snapshots = ListPveSnapshots(*client, *vm);
  ASSERT_TRUE(snapshots.ok()) << snapshots.status();
  ASSERT_EQ(snapshots->size(), 1u);
  EXPECT_EQ(snapshots->front().name, "clean");
  EXPECT_TRUE(RollbackPveSnapshot(*client, *vm, "clean", Within(absl::Seconds(60))).ok());
  absl::Status missing = RollbackPveSnapshot(*client, *vm, "golden", Within(absl::Seconds(5)));
  EXPECT_THAT(missing.message(), HasSubstr("has no snapshot \"golden\" (it has: clean)"));
}

TEST(PveClientTest, GuestAgentAnswersPingAddressesExecAndFileWrite) {
  PveStandIn pve(PveStandInConfig(TwoVms()));
  ASSERT_TRUE(pve.started());
  auto client = Client(pve.TokenOptions());
  absl::StatusOr<PveVm> vm = FindPveVm(*client, 101, "");
  ASSERT_TRUE(vm.ok());
  absl::Status ping = PingGuestAgent(*client, *vm);
  EXPECT_FALSE(ping.ok()) << "the VM is stopped: its agent cannot answer";
  ASSERT_TRUE(StartPveVm(*client, *vm, Within(absl::Seconds(60))).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!PingGuestAgent(*client, *vm).ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));  // poll interval: qemu-ga starts with the VM
  }
  EXPECT_TRUE(PingGuestAgent(*client, *vm).ok());
  absl::StatusOr<std::vector<GuestInterface>> interfaces = GuestInterfaces(*client, *vm);
  ASSERT_TRUE(interfaces.ok()) << interfaces.status();
  EXPECT_FALSE(interfaces->empty());

  absl::StatusOr<GuestExecResult> exec =
      GuestExec(*client, *vm, {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
                absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(exec.ok()) << exec.status();
  EXPECT_EQ(exec->exit_code, 3);
  EXPECT_EQ(exec->out, "out\n");
  EXPECT_EQ(exec->err, "err\n");

  testing::TempDir dir;
  ASSERT_TRUE(GuestFileWrite(*client, *vm, dir.File("hello"), "hi\n\x01").ok());
  EXPECT_EQ(ReadFileOrEmpty(dir.File("hello")), "hi\n\x01");
  absl::Status too_big = GuestFileWrite(*client, *vm, dir.File("big"), std::string(50000, 'x'));
  EXPECT_THAT(too_big.message(), HasSubstr("at most"));

  // DHCP that never answers: only loopback addresses, so no address is chosen.
  pve.Fault({{"no_ip", {{"vmid", 101}, {"enabled", true}}}});
  absl::StatusOr<std::string> address =
      WaitForGuestAddress(*client, *vm, {}, absl::Now() + absl::Milliseconds(800));
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(OutcomeOf(address.status()), Outcome::kInfrastructureError);
  EXPECT_THAT(address.status().message(), HasSubstr("has no usable IP address yet"));
  ASSERT_TRUE(StopPveVm(*client, *vm, Within(absl::Seconds(60))).ok());
}

TEST(GuestAddressTest, LoopbackAndLinkLocalAreSkippedAndAPreferredSubnetWins) {
  std::vector<GuestInterface> interfaces = {{"lo", {"127.0.0.1"}, {"::1"}},
                                            {"eth0", {"169.254.3.4", "10.0.0.5"}, {"fe80::1"}},
                                            {"eth1", {"192.168.13.80"}, {"2001:db8::5"}}};
  EXPECT_EQ(ChooseGuestAddress(interfaces, {}), "10.0.0.5");
  EXPECT_EQ(ChooseGuestAddress(interfaces, {"192.168.13.0/24"}), "192.168.13.80");
  EXPECT_EQ(ChooseGuestAddress({{"lo", {"127.0.0.1"}, {}}, {"e", {}, {"2001:db8::5"}}}, {}),
            "2001:db8::5");
  EXPECT_EQ(ChooseGuestAddress({{"lo", {"127.0.0.1"}, {"::1"}}}, {}), "");
}

class GuestAgentPermissionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GuestAgentPermissionTest, AMissingPrivilegeIsNamedForThePermissionModel) {
  json config = PveStandInConfig(TwoVms());
  config["tokens"]["mosdat@pve!restricted"] = {
      {"secret", "aaaa"}, {"privileges", {{"/vms", {"VM.Audit", "VM.PowerMgmt"}}}}};
  PveStandIn pve(config, GetParam());
  ASSERT_TRUE(pve.started());
  PveClientOptions options = pve.TokenOptions();
  options.credentials = {.user = "mosdat@pve!restricted", .token_secret = "aaaa"};
  auto client = Client(options);
  PveVm vm{.node = "pve1", .vmid = 101};
  ASSERT_TRUE(StartPveVm(*client, vm, Within(absl::Seconds(60))).ok());
  absl::Status ping = PingGuestAgent(*client, vm);
  ASSERT_FALSE(ping.ok());
  EXPECT_EQ(OutcomeOf(ping), Outcome::kInfrastructureError);
  if (GetParam() == "8.4") {
    EXPECT_THAT(ping.message(), HasSubstr("VM.Monitor"));
  } else {
    EXPECT_THAT(ping.message(), HasSubstr("VM.GuestAgent"));
  }
  EXPECT_THAT(ping.message(), HasSubstr("mosdat@pve!restricted"));
  ASSERT_TRUE(StopPveVm(*client, vm, Within(absl::Seconds(60))).ok());
}

INSTANTIATE_TEST_SUITE_P(Versions, GuestAgentPermissionTest, ::testing::Values("8.4", "9.1"));

json GpuConfig() {
  json config = PveStandInConfig(
      json::array({{{"vmid", 100}, {"node", "pve1"}, {"name", "fedora"}, {"machine", "q35"}},
                   {{"vmid", 101}, {"node", "pve1"}, {"name", "ubuntu"}},
                   {{"vmid", 102}, {"node", "pve1"}, {"name", "other"}, {"machine", "q35"}}}));
  testing::AddPveStandInGpu(&config);
  return config;
}

TEST(GpuPassthroughTest, ComputeModeIsWrittenWithTheDigestAndRestoredAfterwards) {
  PveStandIn pve(GpuConfig());
  ASSERT_TRUE(pve.started());
  auto root = Client(pve.PasswordOptions());
  PveVm vm{.node = "pve1", .vmid = 100};
  absl::StatusOr<GpuAttachment> gpu = AttachGpu(*root, vm, {.pci_address = "01:00"});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_EQ(gpu->slot, "hostpci0");
  EXPECT_EQ(gpu->value, "host=0000:01:00,pcie=1");
  EXPECT_THAT(gpu->device, HasSubstr("GA102 (compute mode)"));
  EXPECT_EQ(pve.VmState(100)["config"].value("hostpci0", ""), "host=0000:01:00,pcie=1");
  ASSERT_TRUE(RestoreGpu(*root, vm, *gpu).ok());
  EXPECT_FALSE(pve.VmState(100)["config"].contains("hostpci0"));

  // A token uses the mapping.
  auto token = Client(pve.TokenOptions());
  gpu = AttachGpu(*token, vm, {.mapping = "gpu0", .primary = true});
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_EQ(gpu->value, "mapping=gpu0,pcie=1,x-vga=1");
  ASSERT_TRUE(RestoreGpu(*token, vm, *gpu).ok());
}

TEST(GpuPassthroughTest, ImpossibleRequestsAreRefusedBeforeAnyWrite) {
  PveStandIn pve(GpuConfig());
  ASSERT_TRUE(pve.started());
  auto root = Client(pve.PasswordOptions());
  auto token = Client(pve.TokenOptions());
  PveVm fedora{.node = "pve1", .vmid = 100};
  PveVm ubuntu{.node = "pve1", .vmid = 101};
  PveVm other{.node = "pve1", .vmid = 102};

  absl::StatusOr<GpuAttachment> gpu = AttachGpu(*token, fedora, {.pci_address = "0000:01:00"});
  EXPECT_THAT(gpu.status().message(), HasSubstr("only root@pam may pass a raw PCI address"));
  gpu = AttachGpu(*root, ubuntu, {.pci_address = "0000:01:00"});
  EXPECT_THAT(gpu.status().message(), HasSubstr("needs q35"));
  gpu = AttachGpu(*root, fedora, {.pci_address = "0000:02:00"});
  EXPECT_THAT(gpu.status().message(), HasSubstr("has no PCI device 0000:02:00"));
  EXPECT_THAT(gpu.status().message(), HasSubstr("0000:01:00.0 GA102"));
  gpu = AttachGpu(*token, fedora, {.mapping = "gpu9"});
  EXPECT_THAT(gpu.status().message(), HasSubstr("no PCI resource mapping \"gpu9\""));

  // Held by another running VM.
  absl::StatusOr<GpuAttachment> held = AttachGpu(*root, other, {.pci_address = "0000:01:00"});
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(StartPveVm(*root, other, Within(absl::Seconds(60))).ok());
  gpu = AttachGpu(*root, fedora, {.pci_address = "0000:01:00.0"});
  EXPECT_THAT(gpu.status().message(), HasSubstr("is passed through to VM 102"));
  EXPECT_FALSE(pve.VmState(100)["config"].contains("hostpci0"));
  ASSERT_TRUE(StopPveVm(*root, other, Within(absl::Seconds(60))).ok());
}

}  // namespace
}  // namespace mosdat

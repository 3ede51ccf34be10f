// The bridge's whole provider path against the Proxmox VE STAND-IN (PVE cannot run
// here): a real QEMU with a real qemu-ga behind the API, and the stand-in's
// vncwebsocket in front of a real Xvnc desktop, reached through the console tunnel by
// the project's own VNC client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "core/net.h"
#include "core/outcome.h"
#include "proxmox-bridge/bridge.h"
#include "proxmox-bridge/pve_console.h"
#include "tests/integration/pve_standin.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using testing::PveStandIn;
using json = nlohmann::json;

constexpr char kDesktopPassword[] = "xvnc-pw1";

class PveBridgeTest : public ::testing::Test {
 protected:
  virtual std::string Version() const { return "9.1"; }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
        LocalDesktop::Start({.width = 800, .height = 600, .vnc_password = kDesktopPassword});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = *std::move(desktop);
    json config = testing::PveStandInConfig(json::array(
        {testing::PveStandInVm(100, "fedora", desktop_->vnc_address(), kDesktopPassword)}));
    testing::AddPveStandInGpu(&config);
    pve_ = std::make_unique<PveStandIn>(config, Version());
    ASSERT_TRUE(pve_->started());
    bridge_ = std::make_unique<Bridge>(BridgeOptions{.open_console = OpenTunnelConsole});
  }

  PveEndpointSpec Endpoint(bool token = true) const {
    PveEndpointSpec endpoint{
        .host = "127.0.0.1", .port = pve_->port(), .fingerprint = pve_->fingerprint()};
    // The secrets reach the bridge as references, as from a config file.
    if (token) {
      setenv("MOSDAT_TEST_PVE_TOKEN", testing::kPveTokenSecret, 1);
      endpoint.user = testing::kPveTokenId;
      endpoint.token = SecretRef::FromEnv("MOSDAT_TEST_PVE_TOKEN");
    } else {
      setenv("MOSDAT_TEST_PVE_PASSWORD", testing::kPveRootPassword, 1);
      endpoint.user = "root@pam";
      endpoint.password = SecretRef::FromEnv("MOSDAT_TEST_PVE_PASSWORD");
    }
    return endpoint;
  }

  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<PveStandIn> pve_;
  std::unique_ptr<Bridge> bridge_;
};

// The console's loopback address, split (the test fails on a malformed one).
std::pair<std::string, int> HostPort(const std::string& address) {
  absl::StatusOr<std::pair<std::string, int>> parsed = ParseHostPort(address);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.value_or(std::make_pair(std::string(), 0));
}

TEST_F(PveBridgeTest, PreparedVmIsRunningWithAnAddressAndAConsoleThatShowsItsScreen) {
  std::shared_ptr<PveClient> client = *bridge_->Client(Endpoint());
  ASSERT_TRUE(CreatePveSnapshot(*client, {.node = "pve1", .vmid = 100}, "clean", "",
                                {.deadline = absl::Now() + absl::Seconds(60)})
                  .ok());
  absl::StatusOr<PreparedVmInfo> prepared =
      bridge_->Prepare(Endpoint(), {.pve_name = "fedora",
                                    .snapshot = "clean",
                                    .after = AfterJob::kShutdown,
                                    .shutdown_timeout = absl::Seconds(1)});
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_EQ(prepared->vm.vmid, 100);
  EXPECT_FALSE(prepared->address.empty());
  EXPECT_NE(prepared->address.rfind("127.", 0), 0u) << "loopback is never the guest's address";
  ASSERT_TRUE(prepared->console.has_value());
  EXPECT_TRUE(pve_->VmState(100)["running"].get<bool>());
  EXPECT_GT(prepared->timings.start, absl::ZeroDuration());

  auto [host, port] = HostPort(prepared->console->address);
  EXPECT_EQ(host, "127.0.0.1");
  absl::StatusOr<std::unique_ptr<VncSession>> vnc =
      VncSession::Connect({.host = host, .port = port, .password = prepared->console->password});
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  EXPECT_EQ((*vnc)->width(), 800);
  EXPECT_EQ((*vnc)->height(), 600);
  absl::StatusOr<Frame> frame = (*vnc)->CaptureAfterInput(absl::Seconds(10));
  ASSERT_TRUE(frame.ok()) << frame.status();

  // The console socket drops (PVE restarted its proxy): the client reconnects through
  // a fresh vncproxy ticket, with the same password.
  pve_->Fault({{"drop_consoles", json::object()}});
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::StatusOr<Frame> after = absl::UnavailableError("not yet");
  while (absl::Now() < deadline) {
    (void)(*vnc)->Move(10, 10);
    after = (*vnc)->CaptureAfterInput(absl::Seconds(2));
    if (after.ok() && (*vnc)->connected()) break;
    absl::SleepFor(absl::Milliseconds(100));  // poll interval while it reconnects
  }
  EXPECT_TRUE(after.ok()) << after.status();
  vnc->reset();

  EXPECT_EQ(bridge_->open_consoles(), 1);
  ASSERT_TRUE(bridge_->Release(prepared->lease_id).ok());
  EXPECT_EQ(bridge_->open_consoles(), 0);
  EXPECT_EQ(bridge_->leases(), 0);
  EXPECT_FALSE(pve_->VmState(100)["running"].get<bool>()) << "after = shutdown";
}

TEST_F(PveBridgeTest, AVmThatNeverGetsAnAddressFailsAtThatStepAndLeavesNothingAttached) {
  pve_->Fault({{"no_ip", {{"vmid", 100}, {"enabled", true}}}});
  absl::StatusOr<PreparedVmInfo> prepared =
      bridge_->Prepare(Endpoint(false), {.vmid = 100,
                                         .gpu = GpuRequest{.pci_address = "0000:01:00"},
                                         .ready_timeout = absl::Seconds(4),
                                         .shutdown_timeout = absl::Seconds(1)});
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(OutcomeOf(prepared.status()), Outcome::kInfrastructureError);
  EXPECT_THAT(prepared.status().message(), HasSubstr("get the guest's IP address"));
  EXPECT_THAT(prepared.status().message(), HasSubstr("no usable IP address"));
  EXPECT_EQ(bridge_->open_consoles(), 0);
  EXPECT_EQ(bridge_->leases(), 0);
  json vm = pve_->VmState(100);
  EXPECT_FALSE(vm["config"].contains("hostpci0")) << vm.dump();
  EXPECT_FALSE(vm["pending"].contains("hostpci0")) << vm.dump();
}

TEST_F(PveBridgeTest, AGpuIsAttachedForTheJobAndTheConfigRestoredAfterIt) {
  absl::StatusOr<PreparedVmInfo> prepared =
      bridge_->Prepare(Endpoint(false), {.vmid = 100,
                                         .after = AfterJob::kKeep,
                                         .gpu = GpuRequest{.pci_address = "0000:01:00"},
                                         .open_console = false,
                                         .shutdown_timeout = absl::Seconds(1)});
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_TRUE(prepared->gpu.has_value());
  EXPECT_THAT(prepared->gpu->device, HasSubstr("GA102 (compute mode)"));
  EXPECT_EQ(pve_->VmState(100)["config"].value("hostpci0", ""), "host=0000:01:00,pcie=1");
  ASSERT_TRUE(bridge_->Release(prepared->lease_id).ok());
  json vm = pve_->VmState(100);
  EXPECT_FALSE(vm["config"].contains("hostpci0")) << vm.dump();
}

TEST_F(PveBridgeTest, DestroyingTheBridgeReleasesWhatItPrepared) {
  absl::StatusOr<PreparedVmInfo> prepared = bridge_->Prepare(
      Endpoint(),
      {.vmid = 100, .after = AfterJob::kShutdown, .shutdown_timeout = absl::Seconds(1)});
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  auto [host, port] = HostPort(prepared->console->address);
  bridge_.reset();
  EXPECT_FALSE(VncSession::Connect({.host = host,
                                    .port = port,
                                    .password = "x",
                                    .connect_timeout = absl::Seconds(2),
                                    .reconnect_attempts = 0})
                   .ok())
      << "the console port is closed";
  EXPECT_FALSE(pve_->VmState(100)["running"].get<bool>());
}

// The VNC password of a console: vncproxy's `password` (9.1.7 on, or generate-password
// honoured), or the ticket itself; either way the agent sees one stable password.
class PveConsoleVersionTest : public PveBridgeTest,
                              public ::testing::WithParamInterface<std::string> {
 protected:
  std::string Version() const override { return GetParam(); }
};

TEST_P(PveConsoleVersionTest, TheConsoleOpensThroughVncProxyAndVncWebsocket) {
  std::shared_ptr<PveClient> client = *bridge_->Client(Endpoint(false));
  PveVm vm{.node = "pve1", .vmid = 100};
  ASSERT_TRUE(StartPveVm(*client, vm, {.deadline = absl::Now() + absl::Seconds(60)}).ok());
  absl::StatusOr<ConsoleInfo> console = bridge_->OpenConsole(Endpoint(false), vm);
  ASSERT_TRUE(console.ok()) << console.status();
  auto [host, port] = HostPort(console->address);
  absl::StatusOr<std::unique_ptr<VncSession>> vnc =
      VncSession::Connect({.host = host, .port = port, .password = console->password});
  ASSERT_TRUE(vnc.ok()) << vnc.status();
  EXPECT_EQ((*vnc)->width(), 800);
  vnc->reset();
  EXPECT_TRUE(bridge_->CloseConsole(console->id).ok());
  EXPECT_EQ(bridge_->open_consoles(), 0);
  EXPECT_FALSE(bridge_->CloseConsole(console->id).ok());
}

INSTANTIATE_TEST_SUITE_P(Versions, PveConsoleVersionTest, ::testing::Values("8.4", "9.1", "9.1.7"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '.' ? '_' : c;
                           return "pve" + name;
                         });

}  // namespace
}  // namespace mosdat

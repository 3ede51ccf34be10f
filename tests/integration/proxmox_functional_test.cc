// `mosdat functional` on a Proxmox VM, end to end, against the Proxmox VE STAND-IN
// (tests/pve_standin: PVE cannot run here): the embedded coordinator asks the embedded
// bridge to make the VM ready (snapshot rollback, start of a real QEMU, the address
// from a real qemu-ga, the console through vncproxy + vncwebsocket), the agent runs the
// scenario through the console tunnel on the real Xvnc desktop behind the stand-in's
// vncwebsocket, and the VM is shut down after the job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/process.h"
#include "proxmox-bridge/pve_vm.h"
#include "tests/integration/functional_run.h"
#include "tests/integration/pve_standin.h"
#include "vnc-agent/local/local_desktop.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using testing::PveStandIn;
using json = nlohmann::json;

constexpr char kDesktopPassword[] = "xvnc-pw2";

constexpr char kScenario[] = R"(name: toggle-through-the-tunnel
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
    label: window drawn
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 5}
    label: toggle drawn pressed
  - key: ctrl+shift+t
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 140, width: 300, height: 30}}], timeout: 5}
    label: combo label updated
)";

class ProxmoxFunctionalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
        {.app_command = {"/usr/bin/python3",
                         testing::SourcePath("tests/data/apps/fixed_layout.py")},
         .vnc_password = kDesktopPassword});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = *std::move(desktop);
    pve_ = std::make_unique<PveStandIn>(testing::PveStandInConfig(json::array(
        {testing::PveStandInVm(100, "fedora-42", desktop_->vnc_address(), kDesktopPassword)})));
    ASSERT_TRUE(pve_->started());
    auto client = *PveClient::Create(pve_->TokenOptions());
    ASSERT_TRUE(CreatePveSnapshot(*client, {.node = "pve1", .vmid = 100}, "clean", "",
                                  {.deadline = absl::Now() + absl::Seconds(60)})
                    .ok());
    std::ofstream(dir_.File("scenario.yaml")) << kScenario;
  }

  std::string WriteConfig(const std::string& vm_extra) {
    std::ofstream(dir_.File("config.toml"))
        << "[app]\nname = \"fixture\"\nbinary = \"/usr/bin/python3\"\n\n"
        << "[proxmox]\nhost = \"127.0.0.1\"\nport = " << pve_->port()
        << "\nuser = \"root@pam!mosdat\"\ntoken = \"env:MOSDAT_TEST_PVE_TOKEN\"\n"
        << "node = \"pve1\"\nfingerprint = \"" << pve_->fingerprint() << "\"\n\n"
        << "[[vm]]\nname = \"fedora\"\nprovider = \"proxmox\"\npve_name = \"fedora-42\"\n"
        << "user = \"tester\"\nsnapshot = \"clean\"\nafter = \"shutdown\"\n"
        << "shutdown_timeout = 1\n"
        << vm_extra << "\n"
        << "[[test]]\nname = \"toggle\"\nscenario = \"scenario.yaml\"\n";
    return dir_.File("config.toml");
  }

  testing::RunResult Run(const std::string& config, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {testing::BuiltBinary("cli/mosdat"),
                                     "functional",
                                     "--config",
                                     config,
                                     "--test",
                                     "toggle",
                                     "--results",
                                     dir_.File("results")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::RunCommand(argv, {{"MOSDAT_TEST_PVE_TOKEN", testing::kPveTokenSecret}},
                               testing::kRunTimeout);
  }

  // Polls the job's events on disk until a step of `kind` has started (60 s at most).
  bool WaitUntilStepStarts(const std::string& kind) const {
    const std::string needle = "\"kind\":\"" + kind + "\"";
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      std::error_code error;
      for (const auto& entry :
           std::filesystem::recursive_directory_iterator(dir_.File("results"), error)) {
        if (entry.path().filename() == "events.jsonl" &&
            ReadFileOrEmpty(entry.path()).find(needle) != std::string::npos) {
          return true;
        }
      }
      absl::SleepFor(absl::Milliseconds(20));  // poll interval
    }
    return false;
  }

  bool Requested(const std::string& method, const std::string& path_suffix) const {
    for (const json& request : pve_->Requests()) {
      if (request["method"] == method &&
          request["path"].get<std::string>().ends_with(path_suffix)) {
        return true;
      }
    }
    return false;
  }

  std::unique_ptr<LocalDesktop> desktop_;
  std::unique_ptr<PveStandIn> pve_;
  testing::TempDir dir_;
};

TEST_F(ProxmoxFunctionalTest, AScenarioRunsOnAProxmoxVmThroughTheConsoleTunnel) {
  testing::RunResult result = Run(WriteConfig(""));
  ASSERT_EQ(result.exit_code, 0) << "signal " << result.signal << "\n" << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("pass    toggle on fedora"));
  EXPECT_TRUE(Requested("POST", "/snapshot/clean/rollback"));
  EXPECT_TRUE(Requested("POST", "/qemu/100/status/start"));
  EXPECT_TRUE(Requested("POST", "/qemu/100/vncproxy"));
  EXPECT_TRUE(Requested("GET", "/qemu/100/vncwebsocket"));
  // after = "shutdown": the VM is put back once the job ended.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (pve_->VmState(100)["running"].get<bool>() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));  // poll interval: released in the background
  }
  EXPECT_FALSE(pve_->VmState(100)["running"].get<bool>());
  EXPECT_EQ(pve_->State()["consoles"].get<int>(), 0);

  std::string events;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.File("results"))) {
    if (entry.path().filename() == "events.jsonl") events = ReadFileOrEmpty(entry.path());
  }
  EXPECT_THAT(events, HasSubstr("VM fedora (Proxmox VM 100 on node pve1) ready in"));
  EXPECT_THAT(events, HasSubstr("GPU: none attached"));
}

// Every way the rig can fail to give a VM ends the job as an infrastructure error
// (exit 4) that names the step and PVE's reason — never as a test failure.
struct RigFault {
  const char* name;
  const char* fault;  // the stand-in's fault, as JSON
  const char* step;   // the step named in the error
  const char* says;   // and what the error says
};

void PrintTo(const RigFault& fault, std::ostream* out) { *out << fault.name; }

class ProxmoxRigFaultTest : public ProxmoxFunctionalTest,
                            public ::testing::WithParamInterface<RigFault> {};

TEST_P(ProxmoxRigFaultTest, IsAnInfrastructureErrorNamingTheStep) {
  pve_->Fault(json::parse(GetParam().fault));
  // Without retries: the first attempt's error is the subject here (a retry of a fault
  // injected once would pass).
  testing::RunResult result = Run(WriteConfig("ready_timeout = 3"), {"--retries=0"});
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out + result.err, HasSubstr(GetParam().step));
  EXPECT_THAT(result.out + result.err, HasSubstr(GetParam().says));
  EXPECT_EQ(pve_->State()["consoles"].get<int>(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ProxmoxRigFaultTest,
    ::testing::Values(
        RigFault{"NoAddress", R"({"no_ip": {"vmid": 100, "enabled": true}})",
                 "get the guest's IP address", "no usable IP address"},
        RigFault{"NodeUnreachable",
                 R"({"node_unreachable": {"node": "pve1", "unreachable": true}})",
                 "read the VM's status", "could not reach the node"},
        RigFault{"StartFails",
                 R"({"fail_next_task": {"type": "qmstart", "exitstatus": "start failed: no RAM"}})",
                 "start the VM", "start failed: no RAM"},
        RigFault{"RollbackFails",
                 R"({"fail_next_task": {"type": "qmrollback", "exitstatus": "rollback failed"}})",
                 "roll back to snapshot clean", "rollback failed"},
        RigFault{"Locked", R"({"lock": {"vmid": 100, "lock": "backup"}})", "check the VM's lock",
                 "a backup is running"},
        RigFault{"CertificateChanged", R"({"rotate_cert": {}})", "find the VM",
                 "is not the pinned one"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ProxmoxFunctionalTest, AWrongTokenIsAnInfrastructureErrorThatNamesTheToken) {
  testing::RunResult result =
      testing::RunCommand({testing::BuiltBinary("cli/mosdat"), "functional", "--config",
                           WriteConfig(""), "--test", "toggle", "--results", dir_.File("results")},
                          {{"MOSDAT_TEST_PVE_TOKEN", "wrong-secret"}}, testing::kRunTimeout);
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out + result.err, HasSubstr("refused the API token \"root@pam!mosdat\""));
  EXPECT_THAT(result.out + result.err, ::testing::Not(HasSubstr("wrong-secret")));
}

// The console's socket drops mid-scenario (PVE's proxy restarted): the agent's VNC
// client reconnects through the tunnel, which opens a fresh vncproxy session with the
// same local password, and the scenario goes on.
TEST_F(ProxmoxFunctionalTest, AConsoleThatDropsMidScenarioIsReconnectedThroughAFreshTicket) {
  std::ofstream(dir_.File("scenario.yaml")) << R"(name: survives-a-console-drop
steps:
  - wait_for: {all: [screen_stable: {region: {x: 0, y: 0, width: 400, height: 300}, for: 0.3}]}
  - wait: 3
    label: the console drops meanwhile
  - click: {x: 100, y: 40}
    label: press the toggle
  - wait_for: {any: [screen_changes: {region: {x: 20, y: 20, width: 160, height: 40}}], timeout: 10}
    label: toggle drawn pressed
)";
  const std::string config = WriteConfig("");
  std::thread dropper([&] {
    // While the `wait` step runs, cut every console socket once.
    if (WaitUntilStepStarts("wait")) pve_->Fault({{"drop_consoles", json::object()}});
  });
  testing::RunResult result = Run(config);
  dropper.join();
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  int vncproxies = 0;
  for (const json& request : pve_->Requests()) {
    if (request["path"].get<std::string>().ends_with("/vncproxy")) ++vncproxies;
  }
  // One to check the console at Open, one for the agent, one after the drop.
  EXPECT_GE(vncproxies, 3);
}

// Ctrl-C while a job runs on a Proxmox VM: the VM is put back (here: shut down, its
// console closed) before mosdat exits, with 130.
TEST_F(ProxmoxFunctionalTest, AnInterruptedRunPutsTheVmBackBeforeExiting) {
  std::ofstream(dir_.File("scenario.yaml")) << R"(name: long
steps:
  - wait: 60
)";
  Environment env = CurrentEnvironment();
  env["MOSDAT_TEST_PVE_TOKEN"] = testing::kPveTokenSecret;
  absl::StatusOr<Process> mosdat = Process::Spawn(
      {.argv = {testing::BuiltBinary("cli/mosdat"), "functional", "--config", WriteConfig(""),
                "--test", "toggle", "--results", dir_.File("results")},
       .env = env,
       .stdout_path = dir_.File("out"),
       .stderr_path = dir_.File("err")});
  ASSERT_TRUE(mosdat.ok()) << mosdat.status();
  ASSERT_TRUE(WaitUntilStepStarts("wait")) << ReadFileOrEmpty(dir_.File("err"));
  ASSERT_GT(pve_->State().value("consoles", 0), 0);
  mosdat->Signal(SIGINT);
  std::optional<ExitStatus> exited = mosdat->Wait(absl::Seconds(60));
  ASSERT_TRUE(exited.has_value()) << "mosdat did not exit after SIGINT";
  EXPECT_EQ(exited->exit_code, 130) << exited->ToString();
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("err")), HasSubstr("putting the prepared VMs back"));
  EXPECT_FALSE(pve_->VmState(100)["running"].get<bool>());
  EXPECT_EQ(pve_->State()["consoles"].get<int>(), 0);
}

// An authoring session on a Proxmox VM (`mosdat live` over the embedded services): the
// bridge makes the VM ready as for a job (rollback, start, address, console tunnel),
// the session shows and acts on its screen through the tunnel, and closing the session
// puts the VM back per its `after`.
TEST_F(ProxmoxFunctionalTest, AnAuthoringSessionOnAProxmoxVmGoesThroughTheBridge) {
  Environment env = CurrentEnvironment();
  env["MOSDAT_TEST_PVE_TOKEN"] = testing::kPveTokenSecret;
  env["MOSDAT_LIVE_TOKEN"] = "proxmox-authoring-token";
  absl::StatusOr<Process> live = Process::Spawn(
      {.argv = {testing::BuiltBinary("cli/mosdat"), "live", "--config", WriteConfig(""), "--listen",
                "127.0.0.1:0", "--token", "env:MOSDAT_LIVE_TOKEN"},
       .env = env,
       .stdout_path = dir_.File("out"),
       .stderr_path = dir_.File("err")});
  ASSERT_TRUE(live.ok()) << live.status();
  int port = 0;
  for (absl::Time deadline = absl::Now() + absl::Seconds(60);
       port == 0 && absl::Now() < deadline;) {
    const std::string out = ReadFileOrEmpty(dir_.File("out"));
    const size_t at = out.find("http://127.0.0.1:");
    if (at != std::string::npos) port = std::atoi(out.c_str() + at + 17);
    if (port == 0) {
      ASSERT_FALSE(live->Wait(absl::Milliseconds(50)).has_value());
    }
  }
  ASSERT_NE(port, 0) << ReadFileOrEmpty(dir_.File("err"));
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(180, 0);
  const httplib::Headers auth = {{"Authorization", "Bearer proxmox-authoring-token"}};
  auto post = [&](const std::string& path, const json& body) {
    httplib::Result result = client.Post(path, auth, body.dump(), "application/json");
    EXPECT_TRUE(result) << path;
    return result ? std::make_pair(result->status, json::parse(result->body, nullptr, false))
                  : std::make_pair(-1, json());
  };

  httplib::Result vms = client.Get("/api/author/vms", auth);
  ASSERT_TRUE(vms);
  json listed = json::parse(vms->body, nullptr, false);
  ASSERT_EQ(listed["vms"].size(), 1u) << vms->body;
  EXPECT_EQ(listed["vms"][0]["provider"], "proxmox");
  EXPECT_EQ(listed["vms"][0]["available"], true) << vms->body;

  auto [opened_status, opened] = post("/api/author/session", {{"vm", "fedora"}});
  ASSERT_EQ(opened_status, 200) << opened.dump() << ReadFileOrEmpty(dir_.File("err"));
  const std::string session = opened.value("session_id", "");
  EXPECT_EQ(opened["width"], 1280);
  EXPECT_TRUE(Requested("POST", "/snapshot/clean/rollback"));
  EXPECT_TRUE(Requested("POST", "/qemu/100/status/start"));
  EXPECT_TRUE(pve_->VmState(100)["running"].get<bool>());

  // The screen through the tunnel, and a confirmed click on it.
  auto [captured_status, captured] = post("/api/author/capture", {{"session_id", session}});
  EXPECT_EQ(captured_status, 200) << captured.dump();
  EXPECT_EQ(captured["width"], 1280);
  auto [clicked_status, clicked] = post(
      "/api/author/action",
      {{"session_id", session}, {"action", "click"}, {"x", 100}, {"y", 40}, {"confirm", true}});
  EXPECT_EQ(clicked_status, 200) << clicked.dump();

  // Closing the session puts the VM back: after = "shutdown".
  auto [closed_status, closed] = post("/api/author/close", {{"session_id", session}});
  EXPECT_EQ(closed_status, 200) << closed.dump();
  EXPECT_FALSE(pve_->VmState(100)["running"].get<bool>());
  EXPECT_EQ(pve_->State()["consoles"].get<int>(), 0);

  live->Signal(SIGTERM);
  EXPECT_TRUE(live->Wait(absl::Seconds(30)).has_value());
}

// A matrix over two Proxmox servers ([proxmox.hosts.NAME]), each a stand-in with its
// own certificate and a VM in front of its own desktop: one test, a job per VM.
TEST(ProxmoxHostsTest, AMatrixSpansTwoProxmoxHosts) {
  std::vector<std::unique_ptr<LocalDesktop>> desktops;
  std::vector<std::unique_ptr<PveStandIn>> hosts;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop = LocalDesktop::Start(
        {.app_command = {"/usr/bin/python3",
                         testing::SourcePath("tests/data/apps/fixed_layout.py")},
         .vnc_password = kDesktopPassword});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    hosts.push_back(std::make_unique<PveStandIn>(testing::PveStandInConfig(
        json::array({testing::PveStandInVm(100 + i, i == 0 ? "fedora" : "ubuntu",
                                           (*desktop)->vnc_address(), kDesktopPassword)}))));
    ASSERT_TRUE(hosts.back()->started());
    desktops.push_back(*std::move(desktop));
  }
  testing::TempDir dir;
  std::ofstream(dir.File("scenario.yaml")) << kScenario;
  std::ofstream config(dir.File("config.toml"));
  config << "[app]\nname = \"fixture\"\nbinary = \"/usr/bin/python3\"\n\n"
         << "[proxmox]\nuser = \"root@pam!mosdat\"\ntoken = \"env:MOSDAT_TEST_PVE_TOKEN\"\n"
         << "node = \"pve1\"\n";
  const char* names[] = {"lab-a", "lab-b"};
  for (int i = 0; i < 2; ++i) {
    config << "\n[proxmox.hosts." << names[i]
           << "]\nhost = \"127.0.0.1\"\nport = " << hosts[i]->port() << "\nfingerprint = \""
           << hosts[i]->fingerprint() << "\"\n";
  }
  for (int i = 0; i < 2; ++i) {
    config << "\n[[vm]]\nname = \"" << (i == 0 ? "fedora" : "ubuntu") << "\"\nproxmox = \""
           << names[i] << "\"\nuser = \"tester\"\nafter = \"shutdown\"\nshutdown_timeout = 1\n";
  }
  config << "\n[[test]]\nname = \"toggle\"\nscenario = \"scenario.yaml\"\n";
  config.close();
  testing::RunResult result = testing::RunCommand(
      {testing::BuiltBinary("cli/mosdat"), "functional", "--config", dir.File("config.toml"),
       "--test", "toggle", "--results", dir.File("results")},
      {{"MOSDAT_TEST_PVE_TOKEN", testing::kPveTokenSecret}}, testing::kRunTimeout);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("pass    toggle on fedora"));
  EXPECT_THAT(result.out, HasSubstr("pass    toggle on ubuntu"));
  EXPECT_THAT(result.out, HasSubstr("(Proxmox VM 100 on node pve1)"));
  EXPECT_THAT(result.out, HasSubstr("(Proxmox VM 101 on node pve1)"));
}

}  // namespace
}  // namespace mosdat

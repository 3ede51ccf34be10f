// `mosdat doctor` as a user runs it: the built binary against the Proxmox VE STAND-IN
// (real QEMU + qemu-ga behind PVE's API shapes, its console in front of a real Xvnc
// desktop), a real sshd on loopback standing in for the guest's, and the local
// provider's real desktop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proxmox-bridge/pve_guest_agent.h"
#include "proxmox-bridge/pve_vm.h"
#include "tests/integration/pve_standin.h"
#include "tests/integration/sshd_fixture.h"
#include "tests/integration/subprocess.h"
#include "vnc-agent/local/local_desktop.h"

namespace mosdat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using testing::BuiltBinary;
using testing::PveStandIn;
using testing::RunCommand;
using testing::RunResult;
using testing::SshdFixture;
using testing::TempDir;

constexpr char kDesktopPassword[] = "doc-pw1";
constexpr char kRestrictedToken[] = "mosdat@pve!restricted";
constexpr char kRestrictedSecret[] = "rrrr-restricted";
constexpr int kVmid = 100;

// One stand-in, desktop and sshd for the suite: the VM runs (agent answering) and has
// the snapshot "clean". A test that changes the stand-in's state puts it back.
class DoctorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
        LocalDesktop::Start({.width = 640, .height = 480, .vnc_password = kDesktopPassword});
    ASSERT_TRUE(desktop.ok()) << desktop.status();
    desktop_ = desktop->release();
    sshd_ = new SshdFixture();
    absl::Status sshd = sshd_->Start();
    ASSERT_TRUE(sshd.ok()) << sshd << "\n" << sshd_->log();

    json config = testing::PveStandInConfig(json::array(
        {testing::PveStandInVm(kVmid, "fedora", desktop_->vnc_address(), kDesktopPassword)}));
    testing::AddPveStandInGpu(&config);
    config["tokens"][kRestrictedToken] = {{"secret", kRestrictedSecret},
                                          {"privileges", {{"/vms", {"VM.Audit", "VM.PowerMgmt"}}}}};
    pve_ = new PveStandIn(config, "9.1");
    ASSERT_TRUE(pve_->started());

    absl::StatusOr<std::unique_ptr<PveClient>> client = PveClient::Create(pve_->TokenOptions());
    ASSERT_TRUE(client.ok()) << client.status();
    const PveVm vm{.node = "pve1", .vmid = kVmid};
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    ASSERT_TRUE(StartPveVm(**client, vm, {.deadline = deadline}).ok());
    ASSERT_TRUE(CreatePveSnapshot(**client, vm, "clean", "", {.deadline = deadline}).ok());
    // The agent comes up after QEMU: poll until it answers, as a booted guest's would.
    absl::Status ping = PingGuestAgent(**client, vm);
    while (!ping.ok() && absl::Now() < deadline) ping = PingGuestAgent(**client, vm);
    ASSERT_TRUE(ping.ok()) << ping;
  }

  static void TearDownTestSuite() {
    delete pve_;  // checks every request against the official schema
    pve_ = nullptr;
    delete sshd_;
    sshd_ = nullptr;
    delete desktop_;
    desktop_ = nullptr;
  }

  struct Setup {
    std::string user = testing::kPveTokenId;
    std::string secret = testing::kPveTokenSecret;
    std::string fingerprint;  // "" = the stand-in's
    bool pin = true;          // false: no fingerprint, verified by the system CAs
    std::string gpu_mapping;  // set: gpu = true with this [proxmox] gpu_mapping
    std::string snapshot = "clean";
  };

  // A config for the stand-in's VM 100 (fixed ip 127.0.0.1 and the loopback sshd), in
  // a fresh directory; the token secret travels in the environment as env:NAME.
  std::string WriteConfig(const Setup& setup) {
    secret_ = setup.secret;
    const std::string path = dir_.File("mosdat.toml");
    std::ofstream(path) << absl::StrCat(
        "[app]\nname = \"doctor-test\"\nbinary = \"/usr/bin/true\"\n\n"
        "[proxmox]\nhost = \"127.0.0.1\"\nport = ",
        pve_->port(), "\nuser = \"", setup.user,
        "\"\ntoken = \"env:MOSDAT_DOCTOR_TOKEN\"\nnode = \"pve1\"\n",
        setup.pin ? absl::StrCat(
                        "fingerprint = \"",
                        setup.fingerprint.empty() ? pve_->fingerprint() : setup.fingerprint, "\"\n")
                  : std::string(),
        setup.gpu_mapping.empty() ? std::string()
                                  : absl::StrCat("gpu_mapping = \"", setup.gpu_mapping, "\"\n"),
        "\n[[vm]]\nname = \"fedora\"\nprovider = \"proxmox\"\nvmid = ", kVmid,
        "\nip = \"127.0.0.1\"\nssh_port = ", sshd_->port(), "\nuser = \"", sshd_->user(),
        "\"\nssh_key = \"", sshd_->client_key_path(), "\"\nhost_key_fingerprint = \"",
        sshd_->host_key_fingerprint(), "\"\nsnapshot = \"", setup.snapshot, "\"\n",
        setup.gpu_mapping.empty() ? "" : "gpu = true\n");
    return path;
  }

  RunResult Doctor(const std::string& config, bool as_json = false) {
    std::vector<std::string> argv = {BuiltBinary("cli/mosdat"), "doctor", "--config", config};
    if (as_json) argv.push_back("--json");
    return RunCommand(argv, {{"MOSDAT_DOCTOR_TOKEN", secret_}}, std::chrono::seconds(180));
  }

  // The report's check `name` of the only VM (--json).
  static json Check(const json& report, const std::string& name) {
    for (const json& check : report["vms"][0]["checks"]) {
      if (check["name"] == name) return check;
    }
    ADD_FAILURE() << "no check " << name << " in " << report.dump(2);
    return json::object();
  }

  static LocalDesktop* desktop_;
  static SshdFixture* sshd_;
  static PveStandIn* pve_;
  TempDir dir_;
  std::string secret_;
};

LocalDesktop* DoctorTest::desktop_ = nullptr;
SshdFixture* DoctorTest::sshd_ = nullptr;
PveStandIn* DoctorTest::pve_ = nullptr;

TEST_F(DoctorTest, AGoodSetupPassesEveryCheckAndExits0) {
  RunResult result = Doctor(WriteConfig({}));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, Not(HasSubstr("✗")));
  EXPECT_THAT(result.out, Not(HasSubstr("skipped")));
  for (const char* name : {"api", "tls", "auth", "vm", "privileges", "status", "snapshot",
                           "guest-agent", "ip", "ssh", "guest-python", "console"}) {
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("✓ ", name))) << result.out;
  }
  EXPECT_THAT(result.out, HasSubstr("Proxmox VE 9.1.3"));
  EXPECT_THAT(result.out, HasSubstr(pve_->fingerprint()));
  EXPECT_THAT(result.out, HasSubstr("on node pve1"));
  EXPECT_THAT(result.out, HasSubstr("640x480 frame"));
  EXPECT_THAT(result.out, HasSubstr("doctor: every check passed on 1 VM"));
  // References only, never the secret.
  EXPECT_THAT(result.out + result.err, HasSubstr("env:MOSDAT_DOCTOR_TOKEN"));
  EXPECT_THAT(result.out + result.err, Not(HasSubstr(testing::kPveTokenSecret)));
}

TEST_F(DoctorTest, JsonReportHasOneChecklistPerVm) {
  RunResult result = Doctor(WriteConfig({}), /*as_json=*/true);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  json report = json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  EXPECT_EQ(report["ok"], true);
  ASSERT_EQ(report["vms"].size(), 1u);
  EXPECT_EQ(report["vms"][0]["name"], "fedora");
  ASSERT_GE(report["vms"][0]["checks"].size(), 12u);
  for (const json& check : report["vms"][0]["checks"]) {
    EXPECT_TRUE(check["name"].is_string());
    EXPECT_EQ(check["ok"], true) << check.dump();
    EXPECT_TRUE(check["detail"].is_string());
    EXPECT_TRUE(check["fix"].is_string());
    EXPECT_TRUE(check["skipped"].is_boolean());
  }
  EXPECT_THAT(Check(report, "console")["detail"].get<std::string>(), HasSubstr("640x480"));
}

TEST_F(DoctorTest, AWrongTokenFailsAuthWithAFixAndSkipsWhatDependsOnIt) {
  RunResult result = Doctor(WriteConfig({.secret = "not-the-secret"}), /*as_json=*/true);
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  json report = json::parse(result.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << result.out;
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(Check(report, "api")["ok"], true);
  EXPECT_EQ(Check(report, "tls")["ok"], true);
  json auth = Check(report, "auth");
  EXPECT_EQ(auth["ok"], false);
  EXPECT_EQ(auth["skipped"], false);
  EXPECT_THAT(auth["detail"].get<std::string>(), HasSubstr(testing::kPveTokenId));
  EXPECT_THAT(auth["fix"].get<std::string>(), HasSubstr("env:MOSDAT_DOCTOR_TOKEN"));
  for (const char* name : {"vm", "privileges", "status", "snapshot", "guest-agent", "ip", "ssh",
                           "guest-python", "console"}) {
    json check = Check(report, name);
    EXPECT_EQ(check["skipped"], true) << check.dump();
    EXPECT_THAT(check["detail"].get<std::string>(), HasSubstr("(auth)")) << check.dump();
  }
  EXPECT_THAT(result.out, Not(HasSubstr("not-the-secret")));
}

TEST_F(DoctorTest, ARestrictedTokenIsToldWhichPrivilegesItLacks) {
  RunResult result = Doctor(WriteConfig({.user = kRestrictedToken, .secret = kRestrictedSecret}));
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("✗ privileges"));
  EXPECT_THAT(result.out, HasSubstr("VM.Console (to open its screen"));
  EXPECT_THAT(result.out, HasSubstr("VM.Snapshot.Rollback"));
  EXPECT_THAT(result.out, HasSubstr("VM.GuestAgent.Unrestricted"));
  EXPECT_THAT(result.out, HasSubstr("pveum acl modify /vms/100 --tokens 'mosdat@pve!restricted'"));
  // What it may do still passes; what it may not is skipped, not failed again.
  EXPECT_THAT(result.out, HasSubstr("✓ vm"));
  EXPECT_THAT(result.out, HasSubstr("✓ status"));
  EXPECT_THAT(result.out, HasSubstr("- console"));
  EXPECT_THAT(result.out, HasSubstr("needs VM.Console (privileges)"));
}

TEST_F(DoctorTest, ALockedVmFailsStatusWithWhatTheLockMeans) {
  pve_->Fault({{"lock", {{"vmid", kVmid}, {"lock", "backup"}}}});
  RunResult result = Doctor(WriteConfig({}));
  pve_->Fault({{"lock", {{"vmid", kVmid}, {"lock", nullptr}}}});
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("✗ status"));
  EXPECT_THAT(result.out, HasSubstr("a backup is running"));
  EXPECT_THAT(result.out, HasSubstr("qm unlock 100"));
  EXPECT_THAT(result.out, HasSubstr("(status)"));  // the rest is skipped with the reason
}

TEST_F(DoctorTest, AMissingSnapshotFailsAndNamesTheOnesThere) {
  RunResult result = Doctor(WriteConfig({.snapshot = "golden"}));
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("✗ snapshot"));
  EXPECT_THAT(result.out, HasSubstr("no snapshot \"golden\" (it has: clean)"));
  EXPECT_THAT(result.out, HasSubstr("qm snapshot 100 golden"));
  EXPECT_THAT(result.out, HasSubstr("✓ console"));  // independent checks still run
}

TEST_F(DoctorTest, APinMismatchShowsBothFingerprints) {
  const std::string wrong =
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
      "DD:EE:FF";
  RunResult result = Doctor(WriteConfig({.fingerprint = wrong}));
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("✓ api"));
  EXPECT_THAT(result.out, HasSubstr("✗ tls"));
  EXPECT_THAT(result.out, HasSubstr(wrong));
  EXPECT_THAT(result.out, HasSubstr(pve_->fingerprint()));
  EXPECT_THAT(result.out, HasSubstr("- auth"));
}

TEST_F(DoctorTest, WithoutAPinASelfSignedCertificateIsShownWithTheLineThatPinsIt) {
  RunResult result = Doctor(WriteConfig({.pin = false}));
  EXPECT_EQ(result.exit_code, 4) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("✗ tls"));
  EXPECT_THAT(result.out, HasSubstr("not trusted by the system CAs"));
  EXPECT_THAT(result.out, HasSubstr(absl::StrCat("fingerprint = \"", pve_->fingerprint(), "\"")));
}

TEST_F(DoctorTest, AGpuMappingIsCheckedReadOnly) {
  const json before = pve_->VmState(kVmid);
  RunResult good = Doctor(WriteConfig({.gpu_mapping = "gpu0"}));
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_THAT(good.out, HasSubstr("✓ gpu"));
  EXPECT_THAT(good.out, HasSubstr("mapping gpu0"));
  const json after = pve_->VmState(kVmid);  // nothing written
  EXPECT_EQ(after["digest"], before["digest"]);
  EXPECT_TRUE(after["hostpci"].empty()) << after.dump();
  EXPECT_TRUE(after["pending"].empty()) << after.dump();

  RunResult missing = Doctor(WriteConfig({.gpu_mapping = "gpu9"}));
  EXPECT_EQ(missing.exit_code, 4) << missing.out << missing.err;
  EXPECT_THAT(missing.out, HasSubstr("✗ gpu"));
  EXPECT_THAT(missing.out, HasSubstr("no PCI resource mapping \"gpu9\""));
}

TEST_F(DoctorTest, AStoppedVmPassesWithItsGuestChecksSkipped) {
  absl::StatusOr<std::unique_ptr<PveClient>> client = PveClient::Create(pve_->TokenOptions());
  ASSERT_TRUE(client.ok()) << client.status();
  const PveVm vm{.node = "pve1", .vmid = kVmid};
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  ASSERT_TRUE(StopPveVm(**client, vm, {.deadline = deadline}).ok());
  RunResult result = Doctor(WriteConfig({}));
  // Put it back for the other tests: running, the agent answering.
  ASSERT_TRUE(StartPveVm(**client, vm, {.deadline = deadline}).ok());
  absl::Status ping = PingGuestAgent(**client, vm);
  while (!ping.ok() && absl::Now() < deadline) ping = PingGuestAgent(**client, vm);
  ASSERT_TRUE(ping.ok()) << ping;

  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("✓ status        stopped"));
  EXPECT_THAT(result.out, HasSubstr("✓ ip"));  // the fixed one
  for (const char* name : {"guest-agent", "ssh", "guest-python", "console"}) {
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("- ", name))) << result.out;
  }
  EXPECT_THAT(result.out, HasSubstr("skipped: VM is stopped; `mosdat functional` starts it"));
}

TEST_F(DoctorTest, AnUnparsableConfigExits3WithItsPosition) {
  const std::string path = dir_.File("bad.toml");
  std::ofstream(path) << "[app]\nname = \"x\"\nbinary = \"/usr/bin/true\"\n[[vm]]\nnmae = \"a\"\n";
  RunResult result = RunCommand({BuiltBinary("cli/mosdat"), "doctor", "--config", path});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.err, HasSubstr("bad.toml:5:1"));
}

TEST(DoctorLocalTest, TheLocalExamplePasses) {
  RunResult result = RunCommand({BuiltBinary("cli/mosdat"), "doctor", "--config",
                                 testing::SourcePath("examples/local-gtk3.toml")},
                                {}, std::chrono::seconds(120));
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  for (const char* name : {"desktop-programs", "sshd", "python-atspi", "app", "desktop"}) {
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("✓ ", name))) << result.out;
  }
  EXPECT_THAT(result.out, HasSubstr("1280x800 frame captured"));
}

}  // namespace
}  // namespace mosdat

// Tests for the TOML config parser: the shipped examples, defaults, verdicts, secrets,
// and the exact diagnostic a user gets for each kind of mistake.
#include "core/config_parser.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/diagnostics.h"
#include "gtest/gtest.h"

namespace mosdat {
namespace {

// All diagnostics for `text`, one per line.
std::string Diags(std::string_view text, std::string_view file = "bad.toml") {
  Diagnostics diagnostics;
  ParseConfig(text, file, &diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics.items()) {
    if (!out.empty()) out += "\n";
    out += d.ToString();
  }
  return out;
}

Config ParseOk(std::string_view text, std::string_view file = "dir/ok.toml") {
  Diagnostics diagnostics;
  Config config = ParseConfig(text, file, &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  return config;
}

constexpr std::string_view kApp = "[app]\nname = \"x\"\n";  // lines 1-2

std::string WithApp(std::string_view rest) { return std::string(kApp) + std::string(rest); }

// [proxmox] on lines 3-7 after kApp.
constexpr std::string_view kProxmox =
    "[proxmox]\nhost = \"pve\"\nuser = \"root@pam!m\"\ntoken = \"env:T\"\nnode = \"pve\"\n";

// ---------------------------------------------------------------------------
// Valid files.

TEST(ConfigParserTest, LoadsLocalGtk3Example) {
  absl::StatusOr<Config> config = LoadConfig(MOSDAT_SOURCE_DIR "/examples/local-gtk3.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->app.name, "gtk3-widget-factory");
  EXPECT_EQ(config->app.binary, "/usr/bin/gtk3-widget-factory");
  ASSERT_EQ(config->vms.size(), 1u);
  EXPECT_EQ(config->vms[0].name, "local");
  EXPECT_EQ(config->vms[0].provider, VmProvider::kLocal);
  EXPECT_EQ(config->vms[0].desktop, "openbox");
  EXPECT_FALSE(config->proxmox.has_value());
  ASSERT_GE(config->tests.size(), 1u);
  EXPECT_EQ(config->tests[0].scenario,
            MOSDAT_SOURCE_DIR "/scenarios/gtk3-widget-factory-smoke.yaml");
  EXPECT_EQ(config->source_path, MOSDAT_SOURCE_DIR "/examples/local-gtk3.toml");
}

TEST(ConfigParserTest, LoadsLocalCalculatorExample) {
  absl::StatusOr<Config> config = LoadConfig(MOSDAT_SOURCE_DIR "/examples/local-calculator.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->app.name, "gnome-calculator");
  EXPECT_EQ(config->app.env.at("GSK_RENDERER"), "cairo");
  ASSERT_EQ(config->tests.size(), 2u);
  EXPECT_EQ(config->tests[0].scenario, MOSDAT_SOURCE_DIR "/scenarios/calculator-basic.yaml");
  EXPECT_EQ(config->tests[1].scenario, MOSDAT_SOURCE_DIR "/scenarios/calculator-keyboard.yaml");
  EXPECT_EQ(config->VmsFor(config->tests[0]).size(), 1u);
}

TEST(ConfigParserTest, LoadsProxmoxExample) {
  Diagnostics warnings;
  absl::StatusOr<Config> config =
      LoadConfig(MOSDAT_SOURCE_DIR "/examples/proxmox-fedora.toml", &warnings);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(warnings.warnings().empty()) << warnings.ToStatus();
  EXPECT_TRUE(warnings.empty());  // no errors
  ASSERT_TRUE(config->proxmox.has_value());
  EXPECT_EQ(config->proxmox->token.ToString(), "env:MOSDAT_PVE_TOKEN");
  EXPECT_EQ(config->proxmox->gpu_mapping, "rtx4000");
  EXPECT_EQ(config->proxmox->subnets, std::vector<std::string>{"192.168.13.0/24"});
  EXPECT_TRUE(config->proxmox_hosts.empty());
  ASSERT_TRUE(config->vlm.has_value());
  EXPECT_EQ(config->vlm->api_key.ToString(), "env:MOSDAT_VLM_KEY");
  EXPECT_EQ(config->vlm->coordinates, VlmCoordinates::kNormalized1000);
  ASSERT_EQ(config->vms.size(), 2u);
  EXPECT_EQ(config->vms[0].name, "fedora");
  EXPECT_EQ(config->vms[0].vmid, 100);
  EXPECT_TRUE(config->vms[0].gpu);
  EXPECT_EQ(config->vms[0].snapshot, "clean");
  EXPECT_EQ(config->vms[0].after, VmAfterJob::kRollback);
  EXPECT_EQ(config->vms[0].ready_timeout, 300);
  ASSERT_EQ(config->vms[0].packages.size(), 1u);
  EXPECT_EQ(config->vms[0].packages[0].format, PackageFormat::kRpm);
  EXPECT_EQ(config->vms[1].name, "ubuntu");
  EXPECT_EQ(config->vms[1].provider, VmProvider::kProxmox);
  EXPECT_EQ(config->vms[1].packages[0].format, PackageFormat::kDeb);
  ASSERT_TRUE(config->build.has_value());
  const TestConfig* smoke = config->FindTest("wayland-fake");
  ASSERT_NE(smoke, nullptr);
  EXPECT_EQ(smoke->variant, SmokeVariant::kWaylandFake);
  ASSERT_EQ(config->VmsFor(*smoke).size(), 1u);
  EXPECT_EQ(config->VmsFor(*smoke)[0]->name, "fedora");
}

TEST(ConfigParserTest, LoadsProxmoxUbuntuAndClusterExamples) {
  absl::StatusOr<Config> ubuntu = LoadConfig(MOSDAT_SOURCE_DIR "/examples/proxmox-ubuntu.toml");
  ASSERT_TRUE(ubuntu.ok()) << ubuntu.status();
  ASSERT_TRUE(ubuntu->proxmox.has_value());
  EXPECT_EQ(ubuntu->proxmox->password.ToString(), "env:PROXMOX_PASSWORD");
  EXPECT_FALSE(ubuntu->proxmox->fingerprint.empty());
  ASSERT_EQ(ubuntu->vms.size(), 1u);
  EXPECT_EQ(ubuntu->vms[0].vmid, 0);
  EXPECT_EQ(ubuntu->vms[0].pve_name, "ubuntu-2404-desktop");

  absl::StatusOr<Config> cluster = LoadConfig(MOSDAT_SOURCE_DIR "/examples/proxmox-cluster.toml");
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_FALSE(cluster->proxmox.has_value());
  ASSERT_EQ(cluster->proxmox_hosts.size(), 2u);
  ASSERT_EQ(cluster->vms.size(), 2u);
  EXPECT_EQ(ProxmoxHostFor(*cluster, cluster->vms[0])->name, "pve-a");
  EXPECT_EQ(ProxmoxHostFor(*cluster, cluster->vms[1])->name, "pve-b");
  ASSERT_EQ(cluster->tests.size(), 1u);
  EXPECT_EQ(cluster->VmsFor(cluster->tests[0]).size(), 2u);
}

// Every shipped example loads without errors (they also seed the config fuzzer).
TEST(ConfigParserTest, EveryExampleLoads) {
  size_t examples = 0;
  for (const auto& entry : std::filesystem::directory_iterator(MOSDAT_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".toml") continue;
    ++examples;
    absl::StatusOr<Config> config = LoadConfig(entry.path().string());
    EXPECT_TRUE(config.ok()) << entry.path() << ": " << config.status();
  }
  EXPECT_GE(examples, 5u);
}

TEST(ConfigParserTest, Defaults) {
  Config config = ParseOk(kApp);
  EXPECT_EQ(config.app.name, "x");
  EXPECT_EQ(config.app.timeout, 30);
  EXPECT_TRUE(config.app.args.empty());
  EXPECT_FALSE(config.build.has_value());
  EXPECT_FALSE(config.proxmox.has_value());
  EXPECT_FALSE(config.vlm.has_value());
  EXPECT_TRUE(config.vms.empty());
  EXPECT_TRUE(config.tests.empty());
  EXPECT_EQ(config.report.output_dir, "results");
  EXPECT_TRUE(config.report.junit);
  EXPECT_EQ(config.report.screenshots, ScreenshotPolicy::kAll);
  EXPECT_FALSE(config.cursor.park.has_value());
  EXPECT_FALSE(config.cursor.visible);
  EXPECT_EQ(config.source_path, "dir/ok.toml");

  config =
      ParseOk(WithApp(std::string(kProxmox) + "[vlm]\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n"
                                              "[[vm]]\nname = \"a\"\nvmid = 100\n"
                                              "[[vm]]\nname = \"b\"\nprovider = \"local\"\n"));
  EXPECT_EQ(config.proxmox->port, 8006);
  EXPECT_EQ(config.proxmox->fingerprint, "");
  EXPECT_EQ(config.vlm->coordinates, VlmCoordinates::kAuto);
  EXPECT_EQ(config.vlm->timeout, 60);
  EXPECT_EQ(config.vlm->max_concurrency, 2);
  EXPECT_EQ(config.vlm->retries, 2);
  EXPECT_EQ(config.vlm->cache_dir, ".cache/vlm");
  EXPECT_FALSE(config.vlm->api_key.is_set());
  const VmConfig& vm = config.vms[0];
  EXPECT_EQ(vm.provider, VmProvider::kProxmox);
  EXPECT_EQ(vm.os_type, OsType::kLinux);
  EXPECT_EQ(vm.x11, X11Mode::kOff);
  EXPECT_EQ(vm.ssh_port, 22);
  EXPECT_FALSE(vm.gpu);
  EXPECT_EQ(vm.geometry.width, 1280);
  EXPECT_EQ(vm.geometry.height, 800);
  EXPECT_EQ(vm.location.ToString(), "dir/ok.toml:11:1");
  EXPECT_EQ(config.vms[1].vmid, 0);
}

TEST(ConfigParserTest, ReadsEveryField) {
  Config config = ParseOk(R"(
[app]
name = "demo"
version = "1.2"
binary = "/usr/bin/demo"
args = ["--a", "b"]
process_name = "demo-bin"
timeout = 45
env = { LANG = "C.UTF-8", _X1 = "y" }
[app.exit_codes]
1 = "pass"
139 = "unknown"

[build]
repo = "https://example.com/r.git"
ref = "main"
command = "make package"
workdir = "src"
artifacts = ["out/*.deb"]

[proxmox]
host = "10.0.0.2"
port = 8443
user = "ci@pve!mosdat"
token = "file:secrets/pve"
node = "n1"
gpu_pci_address = "0000:0a:00.1"
gpu_mapping = "gpu-0"
subnets = ["10.0.0.0/24"]
console = "direct"
fingerprint = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"

[vlm]
base_url = "https://v/v1"
fallback_base_urls = ["http://w/v1"]
model = "m1"
verify_model = "m2"
expected_model = "m3"
api_key = "file:/run/key"
coordinates = "pixels"
timeout = 12
max_concurrency = 4
retries = 0
cache_dir = "/tmp/c"

[[vm]]
name = "win11"
vmid = 105
ip = "10.0.0.9"
desktop = "windows"
user = "u"
os_type = "windows"
x11 = "auto"
app_path = "C:/app.exe"
ssh_port = 2222
ssh_key = "keys/id"
host_key_fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
gpu = true
agent = "host-b"
pve_name = "win11-ci"
snapshot = "base"
after = "shutdown"
gpu_mode = "compute"
ready_timeout = 600
shutdown_timeout = 120
[[vm.package]]
format = "msi"
path = "out/app.msi"
install = "msiexec /i app.msi /qn"
[[vm.package]]
format = "appimage"
path = "out/app.AppImage"

[[vm]]
name = "local.1"
provider = "local"
geometry = "1920x1080"

[[test]]
name = "t1"
scenario = "/abs/s.yaml"
vms = ["local.1"]
timeout = 90
tags = ["a", "b"]

[report]
output_dir = "out/results"
junit = false
screenshots = "none"

[cursor]
park = [10, 20]
visible = true
)");
  EXPECT_EQ(config.app.version, "1.2");
  EXPECT_EQ(config.app.args, (std::vector<std::string>{"--a", "b"}));
  EXPECT_EQ(config.app.process_name, "demo-bin");
  EXPECT_EQ(config.app.timeout, 45);
  EXPECT_EQ(config.app.env.size(), 2u);
  EXPECT_EQ(config.app.env.at("_X1"), "y");
  EXPECT_EQ(config.build->repo, "https://example.com/r.git");
  EXPECT_EQ(config.build->ref, "main");
  EXPECT_EQ(config.build->commands, (std::vector<std::string>{"make package"}));
  EXPECT_EQ(config.build->workdir, "src");
  EXPECT_EQ(config.build->artifacts, (std::vector<std::string>{"out/*.deb"}));
  EXPECT_EQ(config.proxmox->host, "10.0.0.2");
  EXPECT_EQ(config.proxmox->port, 8443);
  EXPECT_EQ(config.proxmox->user, "ci@pve!mosdat");
  // Relative "file:" secrets follow the config file's directory.
  EXPECT_EQ(config.proxmox->token.ToString(), "file:dir/secrets/pve");
  EXPECT_EQ(config.proxmox->node, "n1");
  EXPECT_EQ(config.proxmox->gpu_pci_address, "0000:0a:00.1");
  EXPECT_EQ(config.proxmox->gpu_mapping, "gpu-0");
  EXPECT_EQ(config.proxmox->subnets, (std::vector<std::string>{"10.0.0.0/24"}));
  EXPECT_EQ(config.proxmox->console, "direct");
  EXPECT_EQ(config.proxmox->fingerprint,
            "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
            "01:23:45:67:89");
  EXPECT_EQ(config.vlm->base_url, "https://v/v1");
  EXPECT_EQ(config.vlm->fallback_base_urls, (std::vector<std::string>{"http://w/v1"}));
  EXPECT_EQ(config.vlm->model, "m1");
  EXPECT_EQ(config.vlm->verify_model, "m2");
  EXPECT_EQ(config.vlm->expected_model, "m3");
  EXPECT_EQ(config.vlm->api_key.ToString(), "file:/run/key");
  EXPECT_EQ(config.vlm->coordinates, VlmCoordinates::kPixels);
  EXPECT_EQ(config.vlm->timeout, 12.0);  // an integer where a float is allowed
  EXPECT_EQ(config.vlm->max_concurrency, 4);
  EXPECT_EQ(config.vlm->retries, 0);
  EXPECT_EQ(config.vlm->cache_dir, "/tmp/c");
  ASSERT_EQ(config.vms.size(), 2u);
  const VmConfig& win = config.vms[0];
  EXPECT_EQ(win.vmid, 105);
  EXPECT_EQ(win.ip, "10.0.0.9");
  EXPECT_EQ(win.desktop, "windows");
  EXPECT_EQ(win.user, "u");
  EXPECT_EQ(win.os_type, OsType::kWindows);
  EXPECT_EQ(win.x11, X11Mode::kAuto);
  EXPECT_EQ(win.app_path, "C:/app.exe");
  EXPECT_EQ(win.ssh_port, 2222);
  EXPECT_EQ(win.ssh_key, "dir/keys/id");  // relative to the config file
  EXPECT_EQ(win.host_key_fingerprint, "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
  EXPECT_TRUE(win.gpu);
  EXPECT_EQ(win.agent, "host-b");
  EXPECT_EQ(win.pve_name, "win11-ci");
  EXPECT_EQ(win.snapshot, "base");
  EXPECT_EQ(win.after, VmAfterJob::kShutdown);
  EXPECT_EQ(win.gpu_mode, GpuMode::kCompute);
  EXPECT_EQ(win.ready_timeout, 600);
  EXPECT_EQ(win.shutdown_timeout, 120);
  ASSERT_EQ(win.packages.size(), 2u);
  EXPECT_EQ(win.packages[0].format, PackageFormat::kMsi);
  EXPECT_EQ(win.packages[0].path, "out/app.msi");
  EXPECT_EQ(win.packages[0].install, "msiexec /i app.msi /qn");
  EXPECT_EQ(win.packages[1].format, PackageFormat::kAppImage);
  EXPECT_EQ(win.packages[1].install, "");
  EXPECT_EQ(config.vms[1].geometry.width, 1920);
  EXPECT_EQ(config.vms[1].geometry.height, 1080);
  ASSERT_EQ(config.tests.size(), 1u);
  EXPECT_EQ(config.tests[0].scenario, "/abs/s.yaml");
  EXPECT_FALSE(config.tests[0].variant.has_value());
  EXPECT_EQ(config.tests[0].timeout, 90);
  EXPECT_EQ(config.tests[0].tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config.VmsFor(config.tests[0])[0]->name, "local.1");
  EXPECT_EQ(config.report.output_dir, "out/results");
  EXPECT_FALSE(config.report.junit);
  EXPECT_EQ(config.report.screenshots, ScreenshotPolicy::kNone);
  ASSERT_TRUE(config.cursor.park.has_value());
  EXPECT_EQ(config.cursor.park->x, 10);
  EXPECT_EQ(config.cursor.park->y, 20);
  EXPECT_TRUE(config.cursor.visible);
}

TEST(ConfigParserTest, WarningsNeverMakeAFileInvalid) {
  Diagnostics diagnostics;
  ParseConfig(WithApp("[cursor]\nhover_dwell_ms = 100\n"), "w.toml", &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_TRUE(diagnostics.ToStatus().ok());
  ASSERT_EQ(diagnostics.warnings().size(), 1u);
  const Diagnostic& w = diagnostics.warnings()[0];
  EXPECT_EQ(w.key_path, "cursor");
  EXPECT_EQ(w.ToString(),
            "w.toml:3:1: cursor: [cursor] hover_dwell_ms = 100 is read but mOSdat moves the "
            "pointer to its target at once, with no dwell (as profile = \"instant\"); it is "
            "ignored");
  Diagnostics copy;
  copy.Append(diagnostics);
  EXPECT_EQ(copy.warnings().size(), 1u);
  EXPECT_TRUE(copy.empty());
}

TEST(ConfigParserTest, ExitCodeVerdicts) {
  Config config = ParseOk(kApp);
  EXPECT_EQ(config.app.VerdictFor(0), Verdict::kPass);
  EXPECT_EQ(config.app.VerdictFor(124), Verdict::kPass);
  EXPECT_EQ(config.app.VerdictFor(139), Verdict::kFail);
  EXPECT_EQ(config.app.VerdictFor(134), Verdict::kFail);
  EXPECT_EQ(config.app.VerdictFor(6), Verdict::kFail);
  EXPECT_EQ(config.app.VerdictFor(1), Verdict::kUnknown);
  EXPECT_EQ(config.app.VerdictFor(-1), Verdict::kUnknown);

  // File entries override defaults one by one.
  config = ParseOk(WithApp("[app.exit_codes]\n1 = \"pass\"\n124 = \"fail\"\n0 = \"unknown\"\n"));
  EXPECT_EQ(config.app.VerdictFor(1), Verdict::kPass);
  EXPECT_EQ(config.app.VerdictFor(124), Verdict::kFail);
  EXPECT_EQ(config.app.VerdictFor(0), Verdict::kUnknown);
  EXPECT_EQ(config.app.VerdictFor(139), Verdict::kFail);
  EXPECT_EQ(config.app.VerdictFor(2), Verdict::kUnknown);
}

TEST(ConfigParserTest, ScenarioPathsFollowTheConfigFile) {
  const std::string tests = WithApp(
      "[[test]]\nname = \"a\"\nscenario = \"../scenarios/s.yaml\"\n"
      "[[test]]\nname = \"b\"\nscenario = \"s.yaml\"\n");
  Config config = ParseOk(tests, "/etc/mosdat/examples/c.toml");
  EXPECT_EQ(config.tests[0].scenario, "/etc/mosdat/scenarios/s.yaml");
  EXPECT_EQ(config.tests[1].scenario, "/etc/mosdat/examples/s.yaml");
  // A config in the working directory keeps paths as written.
  config = ParseOk(tests, "c.toml");
  EXPECT_EQ(config.tests[0].scenario, "../scenarios/s.yaml");
}

TEST(ConfigParserTest, SecretsResolveButNeverPrint) {
  ASSERT_EQ(setenv("MOSDAT_CONFIG_TEST_TOKEN", "tok-123", 1), 0);
  Config config = ParseOk(WithApp(
      "[proxmox]\nhost = \"pve\"\nuser = \"root@pam!m\"\ntoken = \"env:MOSDAT_CONFIG_TEST_TOKEN\"\n"
      "node = \"pve\"\n"));
  EXPECT_EQ(config.proxmox->token.ToString(), "env:MOSDAT_CONFIG_TEST_TOKEN");
  absl::StatusOr<std::string> token = config.proxmox->token.Resolve();
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "tok-123");
  unsetenv("MOSDAT_CONFIG_TEST_TOKEN");

  // file: secrets relative to the config's directory.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "mosdat_config_parser_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "vlm.key") << "key-456\n";
  std::ofstream(dir / "c.toml") << kApp
                                << "[vlm]\nbase_url = \"http://h\"\nmodel = \"m\"\n"
                                   "api_key = \"file:vlm.key\"\n";
  absl::StatusOr<Config> loaded = LoadConfig((dir / "c.toml").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->vlm->api_key.ToString(), "file:" + (dir / "vlm.key").string());
  absl::StatusOr<std::string> key = loaded->vlm->api_key.Resolve();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, "key-456");
  std::filesystem::remove_all(dir);
}

// Every enum spelling the parser accepts maps back through ToString().
TEST(ConfigParserTest, EnumSpellingsRoundTrip) {
  for (const char* name : {"deb", "rpm", "appimage", "snap", "flatpak", "msi", "exe", "tar"}) {
    Config c = ParseOk(WithApp(std::string("[[vm]]\nname = \"a\"\nprovider = \"local\"\n") +
                               "[[vm.package]]\nformat = \"" + name + "\"\npath = \"p\"\n"));
    EXPECT_EQ(ToString(c.vms[0].packages[0].format), name);
  }
  for (const char* name : {"proxmox", "local"}) {
    Config c = ParseOk(WithApp(std::string(kProxmox) + "[[vm]]\nname = \"a\"\nvmid = 100\n" +
                               "provider = \"" + name + "\"\n"));
    EXPECT_EQ(ToString(c.vms[0].provider), name);
  }
  for (const char* name : {"linux", "windows"}) {
    Config c = ParseOk(WithApp(std::string("[[vm]]\nname = \"a\"\nprovider = \"local\"\n") +
                               "os_type = \"" + name + "\"\n"));
    EXPECT_EQ(ToString(c.vms[0].os_type), name);
  }
  for (const char* name : {"auto", "off"}) {
    Config c = ParseOk(WithApp(std::string("[[vm]]\nname = \"a\"\nprovider = \"local\"\n") +
                               "x11 = \"" + name + "\"\n"));
    EXPECT_EQ(ToString(c.vms[0].x11), name);
  }
  for (const char* name : {"wayland-real", "wayland-fake", "wayland-nodisp", "x11"}) {
    Config c =
        ParseOk(WithApp(std::string("[[test]]\nname = \"t\"\nvariant = \"") + name + "\"\n"));
    EXPECT_EQ(ToString(*c.tests[0].variant), name);
  }
  for (const char* name : {"normalized_1000", "pixels", "auto"}) {
    Config c = ParseOk(WithApp(std::string("[vlm]\nbase_url = \"http://h\"\nmodel = \"m\"\n") +
                               "coordinates = \"" + name + "\"\n"));
    EXPECT_EQ(ToString(c.vlm->coordinates), name);
  }
  for (const char* name : {"all", "failures", "none"}) {
    Config c = ParseOk(WithApp(std::string("[report]\nscreenshots = \"") + name + "\"\n"));
    EXPECT_EQ(ToString(c.report.screenshots), name);
  }
  for (const char* name : {"pass", "fail", "unknown"}) {
    Config c = ParseOk(WithApp(std::string("[app.exit_codes]\n7 = \"") + name + "\"\n"));
    EXPECT_EQ(ToString(c.app.VerdictFor(7)), name);
  }
}

TEST(ConfigParserTest, LoadConfigReportsUnreadableFile) {
  absl::StatusOr<Config> config = LoadConfig("/nonexistent/mosdat.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(config.status().message(),
            "cannot read config file /nonexistent/mosdat.toml: No such file or directory");

  const std::string dir = std::filesystem::temp_directory_path().string();
  config = LoadConfig(dir);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), "cannot read config file " + dir + ": is a directory");
}

TEST(ConfigParserTest, LoadConfigReturnsAllDiagnostics) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "mosdat_config_parser_test_bad.toml";
  std::ofstream(path) << "[app]\nnam = \"x\"\n";
  absl::StatusOr<Config> config = LoadConfig(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), path.string() + ":1:1: app.name: required key is missing\n" +
                                           path.string() +
                                           ":2:1: app.nam: unknown key (did you mean \"name\"?)");
}

TEST(ConfigParserTest, ReportsEveryProblemInFileOrder) {
  EXPECT_EQ(Diags(R"([app]
name = 5
timout = 10

[proxmox]
host = "pve"
user = "root@pam!m"
token = "s3cret"
verify_tls = false

[[vm]]
name = "fedora"
vmid = 100

[[vm]]
name = "fedora"
vmid = 100
provider = "kvm"

[[test]]
name = "smoke"
vms = ["fedora", "ubunt"]
)"),
            "bad.toml:2:8: app.name: expected a string, got integer\n"
            "bad.toml:3:1: app.timout: unknown key (did you mean \"timeout\"?)\n"
            "bad.toml:5:1: proxmox.node: required key is missing\n"
            "bad.toml:8:9: proxmox.token: must be \"env:NAME\" or \"file:PATH\"; literal secrets "
            "are refused so they never land in config files or logs: write token = "
            "\"env:PVE_TOKEN\" and export PVE_TOKEN, or token = \"file:PATH\" naming a file "
            "that holds it\n"
            "bad.toml:9:1: proxmox.verify_tls: TLS verification cannot be disabled; pin the "
            "server's certificate instead with fingerprint = \"AA:BB:...\" (print it with: "
            "openssl s_client -connect pve:8006 </dev/null | openssl x509 -noout -fingerprint "
            "-sha256)\n"
            "bad.toml:16:8: vm[1].name: duplicate VM name \"fedora\" (first defined at line 12)\n"
            "bad.toml:17:8: vm[1].vmid: duplicate vmid 100 (first used by VM \"fedora\" at line "
            "13)\n"
            "bad.toml:18:12: vm[1].provider: must be one of \"proxmox\", \"local\"\n"
            "bad.toml:20:1: test[0]: needs either \"scenario\" (a YAML scenario file), "
            "\"variant\" (a smoke test: \"wayland-real\", \"wayland-fake\", \"wayland-nodisp\", "
            "\"x11\") or \"script\" (the original mOSdat's smoke-test shell script)\n"
            "bad.toml:22:18: test[0].vms[1]: unknown VM \"ubunt\"");
}

// ---------------------------------------------------------------------------
// One malformed input per row, with the exact diagnostics it must produce.

struct BadCase {
  const char* name;
  std::string toml;
  std::string expected;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

class ConfigBadInputTest : public testing::TestWithParam<BadCase> {};

TEST_P(ConfigBadInputTest, ReportsExactDiagnostic) {
  EXPECT_EQ(Diags(GetParam().toml), GetParam().expected);
}

const std::string kLocalVm = "[[vm]]\nname = \"a\"\nprovider = \"local\"\n";    // lines 3-5
const std::string kVlm = "[vlm]\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n";  // lines 3-5

INSTANTIATE_TEST_SUITE_P(
    Config, ConfigBadInputTest,
    testing::Values(
        // --- TOML syntax and structure
        BadCase{"syntax_error", "[app\nname = \"x\"\n",
                "bad.toml:1:5: Error while parsing table header: expected ']', saw '\\n'"},
        BadCase{"duplicate_key", "[app]\nname = \"x\"\nname = \"y\"\n",
                "bad.toml:3:8: Error while parsing key-value pair: cannot redefine existing string "
                "'name'"},
        BadCase{"missing_app", "[report]\njunit = true\n",
                "bad.toml:1:1: app: required table [app] is missing"},
        BadCase{"app_not_table", "app = \"x\"\n",
                "bad.toml:1:7: app: expected a table, got string"},
        BadCase{"proxmox_not_table", "proxmox = [1]\n[app]\nname = \"x\"\n",
                "bad.toml:1:11: proxmox: expected a table, got array"},
        BadCase{"unknown_top_level", "foo = 1\n[app]\nname = \"x\"\n",
                "bad.toml:1:1: foo: unknown key (expected one of: app, build, proxmox, vlm, "
                "defaults, vm, test, functional, report, cursor, verify)"},
        BadCase{"top_level_typo", WithApp("[[vms]]\nname = \"a\"\n"),
                "bad.toml:3:3: vms: unknown key (did you mean \"vm\"?)"},
        // --- [app]
        BadCase{"app_missing_name", "[app]\nversion = \"1\"\n",
                "bad.toml:1:1: app.name: required key is missing"},
        BadCase{"app_name_empty", "[app]\nname = \"\"\n",
                "bad.toml:2:8: app.name: must not be empty"},
        BadCase{"app_unknown_key", WithApp("proces_name = \"x\"\n"),
                "bad.toml:3:1: app.proces_name: unknown key (did you mean \"process_name\"?)"},
        BadCase{"app_version_date", WithApp("version = 2024-01-01\n"),
                "bad.toml:3:11: app.version: expected a string, got date"},
        BadCase{"app_timeout_float", WithApp("timeout = 1.5\n"),
                "bad.toml:3:11: app.timeout: expected an integer, got float"},
        BadCase{"app_timeout_zero", WithApp("timeout = 0\n"),
                "bad.toml:3:11: app.timeout: must be between 1 and 86400"},
        BadCase{"app_args_element", WithApp("args = [\"a\", 1]\n"),
                "bad.toml:3:14: app.args[1]: expected a string, got integer"},
        BadCase{"app_args_string", WithApp("args = \"a b\"\n"),
                "bad.toml:3:8: app.args: expected an array of strings, got string"},
        BadCase{"exit_code_range", WithApp("[app.exit_codes]\n256 = \"fail\"\n"),
                "bad.toml:4:1: app.exit_codes.256: exit code must be an integer from 0 to 255 (or "
                "a list: pass = [0, 124], fail = [139, 134])"},
        BadCase{"exit_code_not_number", WithApp("[app.exit_codes]\nsegv = \"fail\"\n"),
                "bad.toml:4:1: app.exit_codes.segv: exit code must be an integer from 0 to 255 (or "
                "a list: pass = [0, 124], fail = [139, 134])"},
        BadCase{"exit_code_verdict", WithApp("[app.exit_codes]\n139 = \"crash\"\n"),
                "bad.toml:4:7: app.exit_codes.139: must be one of \"pass\", \"fail\", "
                "\"unknown\""},
        BadCase{"env_bad_name", WithApp("[app.env]\n\"MY VAR\" = \"a\"\n"),
                "bad.toml:4:1: app.env.\"MY VAR\": not a valid environment variable name "
                "([A-Za-z_][A-Za-z0-9_]*)"},
        BadCase{"env_value_type", WithApp("[app.env]\nA = 1\n"),
                "bad.toml:4:5: app.env.A: expected a string, got integer"},
        // --- [build]
        BadCase{"build_ref_without_repo", WithApp("[build]\nref = \"main\"\n"),
                "bad.toml:3:1: build.command: required key is missing: the shell command that "
                "builds the packages (or the original's list, commands = [\"...\", ...])\n"
                "bad.toml:4:7: build.ref: \"ref\" needs \"repo\" (the repository to check out)"},
        // --- [proxmox]
        BadCase{"proxmox_verify_ssl", WithApp(std::string(kProxmox) + "verify_ssl = false\n"),
                "bad.toml:8:1: proxmox.verify_ssl: TLS verification cannot be disabled; pin the "
                "server's certificate instead with fingerprint = \"AA:BB:...\" (print it with: "
                "openssl s_client -connect pve:8006 </dev/null | openssl x509 -noout -fingerprint "
                "-sha256)"},
        BadCase{"proxmox_missing_keys", WithApp("[proxmox]\nport = 8006\n"),
                "bad.toml:3:1: proxmox.host: required key is missing\n"
                "bad.toml:3:1: proxmox.user: required key is missing\n"
                "bad.toml:3:1: proxmox.token: required key is missing: the API token secret, e.g. "
                "token = \"env:PVE_TOKEN\" (or log in with user = \"root@pam\" and password = "
                "\"env:PROXMOX_PASSWORD\")\n"
                "bad.toml:3:1: proxmox.node: required key is missing"},
        BadCase{"proxmox_literal_token",
                WithApp("[proxmox]\nhost = \"pve\"\nuser = \"root@pam!m\"\ntoken = "
                        "\"abc123\"\nnode = \"pve\"\n"),
                "bad.toml:6:9: proxmox.token: must be \"env:NAME\" or \"file:PATH\"; literal "
                "secrets are refused so they never land in config files or logs: write token = "
                "\"env:PVE_TOKEN\" and export PVE_TOKEN, or token = \"file:PATH\" naming a file "
                "that holds it"},
        BadCase{"proxmox_bad_env_name",
                WithApp("[proxmox]\nhost = \"pve\"\nuser = \"root@pam!m\"\ntoken = "
                        "\"env:1X\"\nnode = \"pve\"\n"),
                "bad.toml:6:9: proxmox.token: \"env:\" must be followed by an environment "
                "variable name ([A-Za-z_][A-Za-z0-9_]*)"},
        BadCase{"proxmox_port_range", WithApp(std::string(kProxmox) + "port = 70000\n"),
                "bad.toml:8:8: proxmox.port: must be between 1 and 65535"},
        BadCase{"proxmox_host_url",
                WithApp("[proxmox]\nhost = \"https://pve:8006\"\nuser = \"root@pam!m\"\ntoken "
                        "= \"env:T\"\nnode = \"pve\"\n"),
                "bad.toml:4:8: proxmox.host: must be a host name or IP address only, without "
                "scheme, port or path (the port goes in \"port\")"},
        BadCase{"proxmox_user_without_token_id",
                WithApp("[proxmox]\nhost = \"pve\"\nuser = \"root@pam\"\ntoken = "
                        "\"env:T\"\nnode = \"pve\"\n"),
                "bad.toml:5:8: proxmox.user: must be an API token id USER@REALM!TOKENID, e.g. "
                "\"root@pam!mosdat\" (or log in as USER@REALM with password = "
                "\"env:PROXMOX_PASSWORD\" instead of token)"},
        BadCase{"proxmox_pci_address",
                WithApp(std::string(kProxmox) + "gpu_pci_address = \"01:00.0\"\n"),
                "bad.toml:8:19: proxmox.gpu_pci_address: must be a PCI address like "
                "\"0000:01:00\" or \"0000:01:00.0\""},
        BadCase{"proxmox_fingerprint", WithApp(std::string(kProxmox) + "fingerprint = \"AA:BB\"\n"),
                "bad.toml:8:15: proxmox.fingerprint: must be a SHA-256 certificate fingerprint: "
                "32 hex bytes separated by \":\" (print it with: openssl s_client -connect "
                "pve:8006 </dev/null | openssl x509 -noout -fingerprint -sha256)"},
        // --- [vlm]
        BadCase{"vlm_base_url_scheme", WithApp("[vlm]\nbase_url = \"ftp://h\"\nmodel = \"m\"\n"),
                "bad.toml:4:12: vlm.base_url: must start with \"http://\" or \"https://\""},
        BadCase{"vlm_missing_model", WithApp("[vlm]\nbase_url = \"http://h/v1\"\n"),
                "bad.toml:3:1: vlm.model: required key is missing"},
        BadCase{"vlm_coordinates", WithApp(kVlm + "coordinates = \"percent\"\n"),
                "bad.toml:6:15: vlm.coordinates: must be one of \"normalized_1000\", "
                "\"pixels\", \"auto\""},
        BadCase{"vlm_timeout_string", WithApp(kVlm + "timeout = \"60\"\n"),
                "bad.toml:6:11: vlm.timeout: expected a number, got string"},
        BadCase{"vlm_timeout_negative", WithApp(kVlm + "timeout = -0.5\n"),
                "bad.toml:6:11: vlm.timeout: must be greater than 0 and at most 3600"},
        BadCase{"vlm_max_concurrency", WithApp(kVlm + "max_concurrency = 0\n"),
                "bad.toml:6:19: vlm.max_concurrency: must be between 1 and 64"},
        BadCase{"vlm_fallback_url", WithApp(kVlm + "fallback_base_urls = [\"http://a\", \"b\"]\n"),
                "bad.toml:6:35: vlm.fallback_base_urls[1]: must start with \"http://\" or "
                "\"https://\""},
        BadCase{"vlm_api_key_type", WithApp(kVlm + "api_key = 42\n"),
                "bad.toml:6:11: vlm.api_key: expected a string, got integer"},
        // --- [[vm]]
        BadCase{"vm_provider", WithApp("[[vm]]\nname = \"a\"\nprovider = \"qemu\"\n"),
                "bad.toml:5:12: vm[0].provider: must be one of \"proxmox\", \"local\""},
        BadCase{"vm_name_chars", WithApp("[[vm]]\nname = \"my vm\"\nprovider = \"local\"\n"),
                "bad.toml:4:8: vm[0].name: must contain only letters, digits, \"_\", \".\" and "
                "\"-\""},
        BadCase{"vm_missing_name", WithApp("[[vm]]\nprovider = \"local\"\n"),
                "bad.toml:3:1: vm[0].name: required key is missing"},
        BadCase{"vm_duplicate_name", WithApp(kLocalVm + kLocalVm),
                "bad.toml:7:8: vm[1].name: duplicate VM name \"a\" (first defined at line 4)"},
        BadCase{"vm_no_vmid_no_pve_name",
                WithApp(std::string(kProxmox) + "[[vm]]\nname = \"a_b\"\n"),
                "bad.toml:9:8: vm[0].name: VM \"a_b\" has no vmid, so it is looked up in Proxmox "
                "by name, and Proxmox VM names hold only letters, digits, \"-\" and \".\": set "
                "vmid, or pve_name = the VM's name in Proxmox"},
        BadCase{"vm_vmid_low", WithApp(std::string(kProxmox) + "[[vm]]\nname = \"a\"\nvmid = 99\n"),
                "bad.toml:10:8: vm[0].vmid: must be between 100 and 999999999"},
        BadCase{"vm_duplicate_vmid",
                WithApp(std::string(kProxmox) +
                        "[[vm]]\nname = \"a\"\nvmid = 100\n[[vm]]\nname = \"b\"\nvmid = 100\n"),
                "bad.toml:13:8: vm[1].vmid: duplicate vmid 100 (first used by VM \"a\" at line "
                "10)"},
        BadCase{"vm_proxmox_without_section", WithApp("[[vm]]\nname = \"a\"\nvmid = 100\n"),
                "bad.toml:3:1: vm[0].provider: provider \"proxmox\" needs a [proxmox] section"},
        BadCase{"vm_single_table", WithApp("[vm]\nname = \"a\"\n"),
                "bad.toml:3:1: vm: expected an array of tables ([[vm]]), got table"},
        BadCase{
            "vm_package_format",
            WithApp(kLocalVm + "[[vm.package]]\nformat = \"zip\"\npath = \"p\"\n"),
            "bad.toml:7:10: vm[0].package[0].format: must be one of \"deb\", \"rpm\", \"pacman\", "
            "\"appimage\", \"snap\", \"flatpak\", \"msi\", \"exe\", \"tar\""},
        BadCase{"vm_package_unknown_key",
                WithApp(kLocalVm + "[[vm.package]]\nformat = \"deb\"\npath = \"p\"\ncmd = \"x\"\n"),
                "bad.toml:9:1: vm[0].package[0].cmd: unknown key (expected one of: format, path, "
                "install, uninstall, app_path, process_name, file_glob, appid, remote, data_dir, "
                "version)"},
        BadCase{"vm_geometry", WithApp(kLocalVm + "geometry = \"1280*800\"\n"),
                "bad.toml:6:12: vm[0].geometry: must be WIDTHxHEIGHT, e.g. \"1280x800\""},
        BadCase{"vm_host_key_fingerprint",
                WithApp(kLocalVm + "host_key_fingerprint = \"MD5:aa\"\n"),
                "bad.toml:6:24: vm[0].host_key_fingerprint: must be \"SHA256:\" followed by 43 "
                "base64 characters (ssh-keygen -lf)"},
        BadCase{"vm_gpu_local", WithApp(kLocalVm + "gpu = true\n"),
                "bad.toml:6:7: vm[0].gpu: GPU passthrough needs provider = \"proxmox\""},
        BadCase{"vm_gpu_without_pci",
                WithApp(std::string(kProxmox) + "[[vm]]\nname = \"a\"\nvmid = 100\ngpu = true\n"),
                "bad.toml:11:7: vm[0].gpu: GPU passthrough needs [proxmox] gpu_mapping (a PVE PCI "
                "resource mapping) or gpu_pci_address"},
        BadCase{"vm_ssh_port_bool", WithApp(kLocalVm + "ssh_port = true\n"),
                "bad.toml:6:12: vm[0].ssh_port: expected an integer, got boolean"},
        BadCase{"vm_os_type", WithApp(kLocalVm + "os_type = \"macos\"\n"),
                "bad.toml:6:11: vm[0].os_type: must be one of \"linux\", \"windows\""},
        BadCase{"vm_x11", WithApp(kLocalVm + "x11 = \"on\"\n"),
                "bad.toml:6:7: vm[0].x11: must be one of \"auto\", \"off\""},
        BadCase{"vm_quoted_unknown_key", WithApp(kLocalVm + "\"ssh key\" = \"k\"\n"),
                "bad.toml:6:1: vm[0].\"ssh key\": unknown key (did you mean \"ssh_key\"?)"},
        // --- [[test]]
        BadCase{"test_neither", WithApp(kLocalVm + "[[test]]\nname = \"t\"\n"),
                "bad.toml:6:1: test[0]: needs either \"scenario\" (a YAML scenario file), "
                "\"variant\" (a smoke test: \"wayland-real\", \"wayland-fake\", "
                "\"wayland-nodisp\", \"x11\") or \"script\" (the original mOSdat's smoke-test "
                "shell script)"},
        BadCase{"test_both",
                WithApp(kLocalVm +
                        "[[test]]\nname = \"t\"\nscenario = \"s.yaml\"\nvariant = \"x11\"\n"),
                "bad.toml:9:11: test[0].variant: \"scenario\" and \"variant\" are mutually "
                "exclusive; keep one"},
        BadCase{"test_variant",
                WithApp(kLocalVm + "[[test]]\nname = \"t\"\nvariant = \"wayland\"\n"),
                "bad.toml:8:11: test[0].variant: must be one of \"wayland-real\", "
                "\"wayland-fake\", \"wayland-nodisp\", \"x11\""},
        BadCase{"test_unknown_vm",
                WithApp("[[vm]]\nname = \"fedora\"\nprovider = \"local\"\n[[test]]\nname = "
                        "\"t\"\nvariant = \"x11\"\nvms = [\"fedroa\"]\n"),
                "bad.toml:9:8: test[0].vms[0]: unknown VM \"fedroa\" (did you mean \"fedora\"?)"},
        BadCase{"test_vm_twice",
                WithApp(kLocalVm + "[[test]]\nname = \"t\"\nvariant = \"x11\"\nvms = [\"a\", "
                                   "\"a\"]\n"),
                "bad.toml:9:13: test[0].vms[1]: VM \"a\" is listed twice"},
        BadCase{"test_no_vms_defined",
                WithApp("[[test]]\nname = \"t\"\nvariant = \"x11\"\nvms = [\"a\"]\n"),
                "bad.toml:6:8: test[0].vms[0]: unknown VM \"a\" (no [[vm]] is defined)"},
        BadCase{"test_duplicate_name",
                WithApp(kLocalVm + "[[test]]\nname = \"t\"\nvariant = \"x11\"\n[[test]]\nname = "
                                   "\"t\"\nvariant = \"x11\"\n"),
                "bad.toml:10:8: test[1].name: duplicate test name \"t\" (first defined at line 7)"},
        BadCase{"test_timeout_negative",
                WithApp(kLocalVm + "[[test]]\nname = \"t\"\nvariant = \"x11\"\ntimeout = -5\n"),
                "bad.toml:9:11: test[0].timeout: must be between 1 and 86400"},
        BadCase{"test_not_table", "test = [\"smoke\"]\n[app]\nname = \"x\"\n",
                "bad.toml:1:9: test[0]: expected a table, got string"},
        // --- [report] and [cursor]
        BadCase{"report_screenshots", WithApp("[report]\nscreenshots = \"some\"\n"),
                "bad.toml:4:15: report.screenshots: must be one of \"all\", \"failures\", "
                "\"none\""},
        BadCase{"report_junit_string", WithApp("[report]\njunit = \"yes\"\n"),
                "bad.toml:4:9: report.junit: expected a boolean (true or false), got string"},
        BadCase{"report_output_dir_empty", WithApp("[report]\noutput_dir = \"\"\n"),
                "bad.toml:4:14: report.output_dir: must not be empty"},
        BadCase{"cursor_park_size", WithApp("[cursor]\npark = [1, 2, 3]\n"),
                "bad.toml:4:8: cursor.park: must be [x, y]: two non-negative integers"},
        BadCase{"cursor_park_negative", WithApp("[cursor]\npark = [-1, 5]\n"),
                "bad.toml:4:9: cursor.park[0]: must be between 0 and 16384"}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mosdat

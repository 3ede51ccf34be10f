// The typed model of a mOSdat TOML config file (see examples/*.toml for the format).
// Plain structs with their defaults; core/config_parser.h fills them and reports every
// problem with file:line:column. Nothing here depends on the TOML library.
#ifndef MOSDAT_CORE_CONFIG_H_
#define MOSDAT_CORE_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"
#include "core/secret_ref.h"

namespace mosdat {

// Smoke-test verdict derived from the app's exit code.
enum class Verdict { kPass, kFail, kUnknown };

// The seed's interpretation: 0 clean exit and 124 (`timeout` killed an app that stayed
// up) pass; 139 SIGSEGV and 134/6 SIGABRT fail; anything else is unknown.
std::map<int, Verdict> DefaultExitCodes();

// [app]: the application under test.
struct AppConfig {
  std::string name;               // required; shown in reports
  std::string version;            // free-form, e.g. "4.1.0"
  std::string binary;             // executable inside the VM, e.g. "/usr/bin/gtk3-widget-factory"
  std::vector<std::string> args;  // command-line arguments for `binary`
  std::string process_name;       // process to wait for / kill; empty = basename of binary
  int timeout = 30;               // seconds a smoke test lets the app run (> 0)
  std::map<std::string, std::string> env;  // extra environment for the app
  // [app.exit_codes]: exit code (0..255) -> verdict. Entries in the file override the
  // defaults one by one; codes listed nowhere are kUnknown.
  std::map<int, Verdict> exit_codes = DefaultExitCodes();

  Verdict VerdictFor(int exit_code) const;
};

// [build]: how to build the package under test from source.
struct BuildConfig {
  std::string repo;                    // git URL; empty = build the working tree in `workdir`
  std::string ref;                     // branch, tag or commit (needs `repo`)
  std::string command;                 // required; shell command that builds the packages
  std::string workdir;                 // directory the command runs in
  std::vector<std::string> artifacts;  // globs of the produced packages, e.g. "dist/*.deb"
};

// [proxmox]: the Proxmox VE API. TLS is always verified: against the system CAs, or
// against `fingerprint` for self-signed certificates. There is no switch to turn it off.
struct ProxmoxConfig {
  std::string host;             // required; host name or IP, without scheme or port
  int port = 8006;              // API port (1..65535)
  std::string user;             // required; API token user, e.g. "root@pam!mosdat"
  SecretRef token;              // required; the API token secret (env:NAME or file:PATH)
  std::string node;             // required; Proxmox node the VMs live on, e.g. "pve"
  std::string gpu_pci_address;  // GPU for passthrough, e.g. "0000:01:00" or "0000:01:00.0"
  std::string fingerprint;      // pinned SHA-256 of the server certificate, "AA:BB:..:FF"
                                // (32 bytes, upper-case after parsing); empty = system CAs
};

// How a VLM reports coordinates; kAuto lets the gateway detect it per model.
enum class VlmCoordinates { kAuto, kNormalized1000, kPixels };

// [vlm]: an OpenAI-compatible vision-language model endpoint.
struct VlmConfig {
  std::string base_url;                         // required; http(s)://host[:port]/v1
  std::vector<std::string> fallback_base_urls;  // tried in order when base_url fails
  std::string model;                            // required; model used to localize
  std::string verify_model;                     // model for yes/no verify calls; empty = model
  std::string expected_model;                   // preflight checks the server serves it
  SecretRef api_key;                            // optional (env:NAME or file:PATH)
  VlmCoordinates coordinates = VlmCoordinates::kAuto;
  double timeout = 60;                   // seconds per request (> 0)
  int max_concurrency = 2;               // parallel requests (>= 1)
  int retries = 2;                       // extra attempts on transient errors (>= 0)
  std::string cache_dir = ".cache/vlm";  // content-addressed response cache
};

enum class VmProvider { kProxmox, kLocal };
enum class OsType { kLinux, kWindows };
// kAuto injects DISPLAY, XAUTHORITY and the ozone preamble into shell steps.
enum class X11Mode { kOff, kAuto };
enum class PackageFormat { kDeb, kRpm, kAppImage, kSnap, kFlatpak, kMsi, kExe, kTar };

// [[vm.package]]: a package to install into the VM before testing.
struct PackageConfig {
  PackageFormat format = PackageFormat::kDeb;  // required
  std::string path;                            // required; package file (or glob) on this machine
  std::string install;                         // install command; empty = by format (apt, dnf...)
};

// Screen size of a local VM's X server.
struct Geometry {
  int width = 1280;
  int height = 800;
};

// [[vm]]: one machine the app is tested on.
struct VmConfig {
  std::string name;  // required, unique, [A-Za-z0-9_.-]+
  VmProvider provider = VmProvider::kProxmox;
  int vmid = 0;         // Proxmox VM id (>= 100, unique); 0 = none (local)
  std::string ip;       // fixed address; empty = ask the guest agent
  std::string desktop;  // "gnome", "kde", "openbox", ...
  std::string user;     // SSH / desktop user in the guest
  OsType os_type = OsType::kLinux;
  X11Mode x11 = X11Mode::kOff;
  std::string app_path;                 // app binary in this VM, overrides [app].binary
  int ssh_port = 22;                    // 1..65535
  std::string ssh_key;                  // private key file used to log in (relative to the config)
  std::string host_key_fingerprint;     // pinned host key, "SHA256:..." (ssh-keygen -lf)
  bool gpu = false;                     // pass [proxmox].gpu_pci_address through
  Geometry geometry;                    // local provider: "WIDTHxHEIGHT"
  std::string agent;                    // agent/host that owns this VM; empty = any
  std::vector<PackageConfig> packages;  // [[vm.package]] entries, installed in order
  SourceLocation location;              // where the [[vm]] table starts
};

// Legacy smoke-test environments (see the seed's test matrix).
enum class SmokeVariant { kWaylandReal, kWaylandFake, kWaylandNoDisplay, kX11 };

// [[test]]: a scenario or smoke test to run on some VMs.
struct TestConfig {
  std::string name;  // required, unique
  // YAML scenario file. Written relative to the config file; the parser has already
  // joined it with the config's directory, so use it as is.
  std::string scenario;
  std::optional<SmokeVariant> variant;  // smoke test; exactly one of scenario/variant is set
  std::vector<std::string> vms;         // names of [[vm]] entries; empty = all VMs
  std::optional<int> timeout;           // seconds for the whole test; unset = defaults
  std::vector<std::string> tags;        // free-form labels for filtering
  // Extra directories (relative to the config) the scenario's imports and reference
  // images may come from. Without them, only the config's and the scenario's own
  // directory trees are readable: an explicit opt-in for shared fragment folders.
  std::vector<std::string> allow_files_from;
  SourceLocation location;  // where the [[test]] table starts
};

enum class ScreenshotPolicy { kAll, kFailures, kNone };

// [report]: where and how results are written.
struct ReportConfig {
  std::string output_dir = "results";  // relative to the working directory
  bool junit = true;                   // also write JUnit XML
  ScreenshotPolicy screenshots = ScreenshotPolicy::kAll;
};

// A screen position for the pointer.
struct CursorPark {
  int x = 0;
  int y = 0;
};

// [cursor]: keeps the pointer out of verification captures.
struct CursorConfig {
  std::optional<CursorPark> park;  // where the pointer is parked before verification captures
  // false: ask VNC for the Cursor pseudo-encoding so the pointer is not drawn into frames
  // (otherwise pixel diffs break).
  bool visible = false;
};

struct Config {
  AppConfig app;
  std::optional<BuildConfig> build;
  std::optional<ProxmoxConfig> proxmox;
  std::optional<VlmConfig> vlm;
  std::vector<VmConfig> vms;
  std::vector<TestConfig> tests;
  ReportConfig report;
  CursorConfig cursor;
  std::string source_path;  // the file this was parsed from

  const VmConfig* FindVm(std::string_view name) const;
  const TestConfig* FindTest(std::string_view name) const;
  // The VMs a test runs on: its `vms` list, or every VM when the list is empty.
  std::vector<const VmConfig*> VmsFor(const TestConfig& test) const;
};

// Config spellings of the enums ("pass", "proxmox", "normalized_1000", ...).
std::string_view ToString(Verdict value);
std::string_view ToString(VlmCoordinates value);
std::string_view ToString(VmProvider value);
std::string_view ToString(OsType value);
std::string_view ToString(X11Mode value);
std::string_view ToString(PackageFormat value);
std::string_view ToString(SmokeVariant value);
std::string_view ToString(ScreenshotPolicy value);

}  // namespace mosdat

#endif  // MOSDAT_CORE_CONFIG_H_

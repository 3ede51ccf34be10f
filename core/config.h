// The typed model of a mOSdat TOML config file (see examples/*.toml for the format).
// Plain structs with their defaults; core/config_parser.h fills them and reports every
// problem with file:line:column. Nothing here depends on the TOML library.
//
// The original Python mOSdat's spellings (`pass = [0, 124]`, [build].repo_path,
// [[vm.package]].file_glob, [defaults], [functional], [proxmox].password, smoke
// [[test]] scripts...) are read into this same model; see README, "Bringing configs
// of the original mOSdat".
#ifndef MOSDAT_CORE_CONFIG_H_
#define MOSDAT_CORE_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"
#include "core/secret_ref.h"
#include "core/verify_config.h"

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
  // [app.exit_codes]: exit code (0..255) -> verdict; codes listed nowhere are kUnknown.
  // Two spellings, combined in this order: the original's lists (`pass = [0, 124]`,
  // `fail = [139, 134]`) each replace the default codes of that verdict; then single
  // entries (`139 = "fail"`) override code by code. A code in both lists, or given a
  // different verdict by a list and an entry, is an error.
  std::map<int, Verdict> exit_codes = DefaultExitCodes();

  Verdict VerdictFor(int exit_code) const;
};

// [build]: how to build the package under test from source. Nothing builds yet
// (`mosdat build` is planned): the parser warns that the table is ignored.
struct BuildConfig {
  std::string repo;  // git URL; empty = build the working tree in `workdir`
  std::string ref;   // branch, tag or commit (needs `repo`)
  // Required (one or more): shell commands that build the packages, run in order in
  // `workdir`. Ours: `command = "..."`; the original's: `commands = ["...", ...]`.
  std::vector<std::string> commands;
  // Directory the commands run in. The original's `repo_path` (a local clone), relative
  // to the config file.
  std::string workdir;
  std::vector<std::string> artifacts;  // globs of the produced packages, e.g. "dist/*.deb"
  // The original's `dist_dir`: where the packages land, relative to `workdir`;
  // [[vm.package]].file_glob is matched there. Empty = not given.
  std::string dist_dir;
  // The original's `checkout = true`: `git fetch --tags && git checkout <[app].version>`
  // in `workdir` before building.
  bool checkout_app_version = false;
  // [build.env]: variables added to the commands' environment (ours over the inherited).
  std::map<std::string, std::string> env;
  int timeout = 3600;       // seconds for all the commands together
  SourceLocation location;  // where the [build] table starts
};

// [proxmox]: the Proxmox VE API. TLS is always verified: against the system CAs, a CA
// bundle (`ca_file`), or a pinned certificate (`fingerprint`) for self-signed ones.
// There is no switch to turn it off. It logs in with an API token (`token`) or, as the
// original mOSdat did, with a password (`password`: a ticket login); exactly one of
// them is set.
//
// One server: [proxmox] with `host`. Several: named hosts [proxmox.hosts.NAME], each
// with the same keys; keys a host does not set come from [proxmox] (which may then hold
// only shared keys such as user, token and fingerprint). `token`/`password` and
// `ca_file`/`fingerprint` are inherited as pairs: a host that sets one key of a pair
// inherits neither.
struct ProxmoxConfig {
  std::string name;  // "" for [proxmox] itself; NAME for [proxmox.hosts.NAME]
  std::string host;  // required; host name or IP, without scheme or port
  int port = 8006;   // API port (1..65535)
  // Required. With `token`: the API token id USER@REALM!TOKENID, e.g. "root@pam!mosdat";
  // with `password`: the user USER@REALM, e.g. "root@pam".
  std::string user;
  SecretRef token;              // the API token secret (env:NAME or file:PATH)
  SecretRef password;           // the user's password (env:NAME or file:PATH), for a ticket login
  std::string node;             // required; Proxmox node the VMs live on, e.g. "pve"
  std::string gpu_pci_address;  // GPU for passthrough, e.g. "0000:01:00" or "0000:01:00.0"
  // A PVE PCI resource mapping for the GPU (Datacenter > Resource Mappings), passed as
  // hostpci mapping=NAME. Only root@pam may pass a raw PCI address (host=...), so an API
  // token needs the mapping.
  std::string gpu_mapping;
  std::string fingerprint;  // pinned SHA-256 of the server certificate, "AA:BB:..:FF"
                            // (32 bytes, upper-case after parsing); empty = not pinned
  // A PEM CA bundle the server certificate is verified against instead of the system
  // CAs (resolved against the config's directory). Not together with `fingerprint`.
  std::string ca_file;
  // IPv4 networks in CIDR form, e.g. "192.168.13.0/24": of the addresses the guest
  // agent reports, one inside these is preferred.
  std::vector<std::string> subnets;
  // How a VM's screen is reached: "tunnel" (through the API: vncproxy + vncwebsocket)
  // or "direct".
  std::string console = "tunnel";
  // How many of this host's VMs run jobs at once (the coordinator's scheduler waits for
  // a free one); 0 = no limit.
  int max_concurrent_vms = 0;
};

// The max_tokens the vlm-gateway asks every answer for (part of its cache keys).
inline constexpr int kVlmMaxTokens = 4096;

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
  // The original's floor on max_tokens for reasoning models (0 = none). The gateway
  // always asks for kVlmMaxTokens, which meets any floor up to that.
  int max_tokens_floor = 0;
};

enum class VmProvider { kProxmox, kLocal };
enum class OsType { kLinux, kWindows };
// kAuto injects DISPLAY, XAUTHORITY and the ozone preamble into shell steps.
enum class X11Mode { kOff, kAuto };
enum class PackageFormat { kDeb, kRpm, kPacman, kAppImage, kSnap, kFlatpak, kMsi, kExe, kTar };

// [[vm.package]]: a package the VM installs before its jobs when a run has packages
// (core/package_install.h plans it). Which file it takes is `path`, `file_glob`, or
// (flatpak, snap) `appid` and `remote` from a store.
struct PackageConfig {
  PackageFormat format = PackageFormat::kDeb;  // required
  std::string path;                            // package file (or glob) on this machine
  std::string install;  // install command; empty = by format (apt, dnf...). The original's
                        // placeholders {file}, {app_name} and {version} are kept as written.
  // The original's keys.
  std::string uninstall;     // command that removes the package
  std::string app_path;      // the app as this package installs it (may hold {file})
  std::string process_name;  // the app's process as this package runs it
  std::string file_glob;     // package file name pattern, matched in [build].dist_dir
  std::string appid;         // flatpak/snap id, e.g. "chat.rocket.RocketChat"
  std::string remote;        // flatpak remote, e.g. "flathub"
  std::string data_dir;      // the app's data directory in the VM
  std::string version;       // per-package version (the original's {version}); "" = [app]
};

// Screen size of a local VM's X server.
struct Geometry {
  int width = 1280;
  int height = 800;
};

// [[vm]] after: what happens to a Proxmox VM after each job.
enum class VmAfterJob { kKeep, kShutdown, kRollback };
// [[vm]] gpu_mode: kCompute keeps the emulated display (the VNC console works);
// kPrimary makes the GPU the VM's display (x-vga=1), which blanks the VNC console.
enum class GpuMode { kCompute, kPrimary };

// [[vm]]: one machine the app is tested on.
struct VmConfig {
  std::string name;  // required, unique, [A-Za-z0-9_.-]+
  VmProvider provider = VmProvider::kProxmox;
  // Proxmox VM id (>= 100, unique per host); 0 = none: a proxmox VM is then looked up
  // by `pve_name`, or else by `name`.
  int vmid = 0;
  std::string ip;       // fixed address; empty = ask the guest agent
  std::string desktop;  // "gnome", "kde", "openbox", ...
  std::string user;     // SSH / desktop user in the guest; default [defaults].user
  OsType os_type = OsType::kLinux;
  X11Mode x11 = X11Mode::kOff;
  std::string app_path;                 // app binary in this VM, overrides [app].binary
  int ssh_port = 22;                    // 1..65535
  std::string ssh_key;                  // private key file used to log in (relative to the config)
  std::string host_key_fingerprint;     // pinned host key, "SHA256:..." (ssh-keygen -lf)
  bool gpu = false;                     // pass the host's GPU through (gpu_mapping)
  Geometry geometry;                    // local provider: "WIDTHxHEIGHT"
  std::string agent;                    // agent/host that owns this VM; empty = any
  std::vector<PackageConfig> packages;  // [[vm.package]] entries, installed in order
  // The original's VM password (env:NAME or file:PATH). Logins are by SSH key; the
  // parser warns that it is ignored.
  SecretRef password;
  // Proxmox only (a local VM warns that they are ignored).
  std::string proxmox_host;  // `proxmox = "NAME"`: a [proxmox.hosts.NAME]; "" = [proxmox]
  std::string pve_name;      // the VM's name in Proxmox when it differs from `name`
  // A snapshot ([A-Za-z][A-Za-z0-9_-]+, at most 40 characters) the VM is rolled back to
  // before each job; "" = none.
  std::string snapshot;
  VmAfterJob after = VmAfterJob::kKeep;  // kRollback needs `snapshot`
  GpuMode gpu_mode = GpuMode::kCompute;  // with gpu = true
  double ready_timeout = 300;            // seconds: start, guest agent, address, console
  double shutdown_timeout = 60;          // seconds for a clean shutdown
  SourceLocation location;               // where the [[vm]] table starts
};

// [defaults]: values for every [[vm]] that does not set its own (the original's table).
struct DefaultsConfig {
  std::string user;  // [[vm]].user
};

// [functional]: the original's functional-test settings.
struct FunctionalConfig {
  bool enabled = false;  // the original's switch; functional tests run whenever asked
  // Where `--test NAME` looks for NAME.yaml when no [[test]] is named NAME (relative to
  // the config file): <tests_dir>/<vm>/NAME.yaml, <tests_dir>/linux/NAME.yaml (Linux
  // VMs), <tests_dir>/NAME.yaml. Empty = the original's shared/scenarios/functional,
  // next to the config or one level up (see core/test_resolution.h).
  std::string tests_dir;
  std::string workspace_url;  // the scenarios' {{ workspace_url }}
  SecretRef test_user;        // credentials for the app under test (env:NAME or file:PATH)
  SecretRef test_password;
};

// Legacy smoke-test environments (see the seed's test matrix).
enum class SmokeVariant { kWaylandReal, kWaylandFake, kWaylandNoDisplay, kX11 };

// [[test]]: a scenario or smoke test to run on some VMs.
struct TestConfig {
  std::string name;  // required, unique
  // YAML scenario file. Written relative to the config file; the parser has already
  // joined it with the config's directory, so use it as is.
  std::string scenario;
  std::optional<SmokeVariant> variant;  // smoke test
  // The original's smoke test: a shell script (as written; the original looked it up in
  // its shared/scenarios/smoke-linux folder) and whether it needs the GPU. Exactly one
  // of scenario, variant and script is set.
  std::string script;
  bool gpu = false;
  std::vector<std::string> vms;   // names of [[vm]] entries; empty = all VMs
  std::optional<int> timeout;     // seconds for the whole test; unset = defaults
  std::vector<std::string> tags;  // free-form labels for filtering
  // Extra directories (relative to the config) the scenario's imports and reference
  // images may come from. Without them, only the config's and the scenario's own
  // directory trees are readable: an explicit opt-in for shared fragment folders.
  std::vector<std::string> allow_files_from;
  SourceLocation location;  // where the [[test]] table starts

  // A smoke test (`variant` or `script`), which nothing runs yet.
  bool IsSmoke() const { return variant.has_value() || !script.empty(); }
  // For messages: `variant = "x11"` or `script = "test-x11.sh"`.
  std::string SmokeSpelling() const;
};

enum class ScreenshotPolicy { kAll, kFailures, kNone };

// [report]: where and how results are written.
struct ReportConfig {
  std::string output_dir = "results";  // relative to the working directory
  bool junit = true;                   // also write JUnit XML
  ScreenshotPolicy screenshots = ScreenshotPolicy::kAll;
  // The original's report keys; results do not show them yet (the parser warns).
  std::string title;
  std::vector<std::string> critical_tests;  // test names that must pass everywhere
  std::string critical_description;
  std::map<std::string, std::string> known_issues;  // e.g. "snap+gpu" -> explanation
};

// A screen position for the pointer.
struct CursorPark {
  int x = 0;
  int y = 0;
};

// How the pointer travels to a target (the original's [cursor].profile).
enum class CursorProfile { kInstant, kLinear, kBezier };

// [cursor]: keeps the pointer out of verification captures.
struct CursorConfig {
  std::optional<CursorPark> park;  // where the pointer is parked before verification captures
  // false: ask VNC for the Cursor pseudo-encoding so the pointer is not drawn into frames
  // (otherwise pixel diffs break).
  bool visible = false;
  // The original's pointer motion. mOSdat moves the pointer to its target at once
  // (kInstant, no dwell); anything else is read and warned about.
  CursorProfile profile = CursorProfile::kInstant;
  int duration_ms = 0;        // 0..5000
  int hover_dwell_ms = 0;     // >= 0
  std::string seed = "auto";  // the original's motion randomness
};

struct Config {
  AppConfig app;
  std::optional<BuildConfig> build;
  // [proxmox] when it names a server (`host`): the host of proxmox VMs that name none.
  std::optional<ProxmoxConfig> proxmox;
  // [proxmox.hosts.NAME], in file order, with the keys inherited from [proxmox] filled in.
  std::vector<ProxmoxConfig> proxmox_hosts;
  std::optional<VlmConfig> vlm;
  DefaultsConfig defaults;
  std::vector<VmConfig> vms;
  std::vector<TestConfig> tests;
  FunctionalConfig functional;
  ReportConfig report;
  CursorConfig cursor;
  std::optional<VerifyConfig> verify;  // [verify] (core/verify_config.h)
  std::string source_path;             // the file this was parsed from

  const VmConfig* FindVm(std::string_view name) const;
  const TestConfig* FindTest(std::string_view name) const;
  // The VMs a test runs on: its `vms` list, or every VM when the list is empty.
  std::vector<const VmConfig*> VmsFor(const TestConfig& test) const;
};

// The Proxmox server of a proxmox VM: the named host when vm.proxmox_host is set, else
// [proxmox]; nullptr when there is none (or the VM is not a proxmox VM).
const ProxmoxConfig* ProxmoxHostFor(const Config& config, const VmConfig& vm);

// Config spellings of the enums ("pass", "proxmox", "normalized_1000", ...).
std::string_view ToString(Verdict value);
std::string_view ToString(VlmCoordinates value);
std::string_view ToString(VmProvider value);
std::string_view ToString(OsType value);
std::string_view ToString(X11Mode value);
std::string_view ToString(PackageFormat value);
std::string_view ToString(SmokeVariant value);
std::string_view ToString(ScreenshotPolicy value);
std::string_view ToString(CursorProfile value);
std::string_view ToString(VmAfterJob value);
std::string_view ToString(GpuMode value);

}  // namespace mosdat

#endif  // MOSDAT_CORE_CONFIG_H_

// Configs written the original Python mOSdat's way (its key names and shapes, written
// here for these tests) load into the one typed model: what is honoured lands in the
// model, what this version cannot honour yet is accepted with a warning that says so,
// and the safety refusals say exactly what to write instead.
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_parser.h"
#include "core/diagnostics.h"
#include "gtest/gtest.h"

namespace mosdat {
namespace {

// "line:column" (1-based) of the first occurrence of `needle` in `text`.
std::string Pos(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << needle;
  if (at == std::string_view::npos) return "?";
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
  const size_t line_start = text.rfind('\n', at);
  const int column =
      static_cast<int>(at - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
  return std::to_string(line) + ":" + std::to_string(column);
}

struct Parsed {
  Config config;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

Parsed Parse(std::string_view text, std::string_view file = "/etc/mosdat/examples/chat.toml") {
  Parsed out;
  Diagnostics diagnostics;
  out.config = ParseConfig(text, file, &diagnostics);
  for (const Diagnostic& d : diagnostics.items()) out.errors.push_back(d.ToString());
  for (const Diagnostic& d : diagnostics.warnings()) out.warnings.push_back(d.ToString());
  return out;
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

constexpr std::string_view kFile = "/etc/mosdat/examples/chat.toml";

std::string At(std::string_view text, std::string_view needle) {
  return std::string(kFile) + ":" + Pos(text, needle);
}

// ---------------------------------------------------------------------------
// A whole config in the original's dialect: every key it read.

constexpr std::string_view kOriginal = R"(# chat client, tested the original mOSdat's way
[app]
name = "chatapp"
version = "2.3.0"
binary = "/opt/ChatApp/chatapp"
args = ["--no-sandbox"]
process_name = "chatapp"
timeout = 12

[app.exit_codes]
pass = [0, 124, 143]
fail = [139, 134, 1]

[build]
repo_path = "/home/qa/src/chatapp"
commands = ["npm ci", "npm run dist -- --linux deb rpm"]
dist_dir = "out"
checkout = true

[proxmox]
host = "10.1.2.3"
port = 8006
user = "root@pam"
node = "lab"
gpu_pci_address = "0000:02:00"

[defaults]
user = "qa"

[[vm]]
name = "debian12"
vmid = 120
ip = "10.1.2.20"
desktop = "GNOME Wayland"
x11 = "auto"

[[vm.package]]
format = "deb"
install = "sudo apt install -y /tmp/{file}"
uninstall = "sudo apt remove -y {app_name} || true"
app_path = "/opt/ChatApp/chatapp"
file_glob = "chatapp-*.deb"

[[vm.package]]
format = "flatpak"
appid = "org.example.ChatApp"
remote = "flathub"
install = "flatpak install --user -y flathub org.example.ChatApp//{version}"
uninstall = "flatpak uninstall --user -y org.example.ChatApp || true"
app_path = "flatpak run org.example.ChatApp"
process_name = "chatapp"
data_dir = "~/.var/app/org.example.ChatApp"
version = "stable"

[[vm]]
name = "win11"
vmid = 121
ip = "10.1.2.21"
desktop = "Windows 11"
os_type = "windows"
user = "tester"
password = "env:WIN11_PASSWORD"

[[vm.package]]
format = "exe"
install = "Start-Process -Wait C:\\tmp\\{file} /S"
file_glob = "chatapp-*-setup.exe"

[vlm]
base_url = "https://vlm.example.net/v1"
model = "ui-model"
verify_model = "ui-model"
expected_model = "ui-model"
api_key = "file:~/.keys/vlm"
max_tokens_floor = 1024

[functional]
enabled = true
tests_dir = "../scenarios/functional"
workspace_url = "chat.example.net"

[report]
title = "ChatApp - test report"
critical_tests = ["wayland-fake"]
critical_description = "The Wayland fallback must work everywhere."

[report.known_issues]
"snap+gpu" = "the snap sandbox hides the GPU"

[cursor]
profile = "bezier"
duration_ms = 800
hover_dwell_ms = 200
seed = "auto"

[[test]]
name = "wayland-fake"
gpu = false
script = "test-wayland-fake.sh"

[[test]]
name = "x11-gpu"
gpu = true
script = "test-x11-gpu.sh"
)";

TEST(OriginalConfigTest, EveryKeyOfTheOriginalLoadsIntoTheModel) {
  ASSERT_EQ(setenv("HOME", "/home/qa", 1), 0);
  Parsed parsed = Parse(kOriginal);
  ASSERT_TRUE(parsed.errors.empty()) << Lines(parsed.errors);
  const Config& c = parsed.config;

  EXPECT_EQ(c.app.name, "chatapp");
  EXPECT_EQ(c.app.version, "2.3.0");
  EXPECT_EQ(c.app.args, (std::vector<std::string>{"--no-sandbox"}));
  EXPECT_EQ(c.app.timeout, 12);
  // The lists replace the defaults of their verdict: 6 (a default fail) is not listed.
  EXPECT_EQ(c.app.exit_codes, (std::map<int, Verdict>{{0, Verdict::kPass},
                                                      {124, Verdict::kPass},
                                                      {143, Verdict::kPass},
                                                      {139, Verdict::kFail},
                                                      {134, Verdict::kFail},
                                                      {1, Verdict::kFail}}));
  EXPECT_EQ(c.app.VerdictFor(6), Verdict::kUnknown);

  ASSERT_TRUE(c.build.has_value());
  EXPECT_EQ(c.build->workdir, "/home/qa/src/chatapp");
  EXPECT_EQ(c.build->commands,
            (std::vector<std::string>{"npm ci", "npm run dist -- --linux deb rpm"}));
  EXPECT_EQ(c.build->dist_dir, "out");
  EXPECT_TRUE(c.build->checkout_app_version);
  EXPECT_TRUE(c.build->repo.empty());

  ASSERT_TRUE(c.proxmox.has_value());
  EXPECT_EQ(c.proxmox->user, "root@pam");
  EXPECT_FALSE(c.proxmox->token.is_set());
  // No token and no password: the original's environment variable.
  EXPECT_EQ(c.proxmox->password.ToString(), "env:PROXMOX_PASSWORD");
  EXPECT_EQ(c.proxmox->node, "lab");

  EXPECT_EQ(c.defaults.user, "qa");
  ASSERT_EQ(c.vms.size(), 2u);
  const VmConfig& debian = c.vms[0];
  EXPECT_EQ(debian.user, "qa");  // from [defaults]
  EXPECT_EQ(debian.desktop, "GNOME Wayland");
  EXPECT_EQ(debian.x11, X11Mode::kAuto);
  ASSERT_EQ(debian.packages.size(), 2u);
  const PackageConfig& deb = debian.packages[0];
  EXPECT_EQ(deb.format, PackageFormat::kDeb);
  EXPECT_EQ(deb.path, "");
  EXPECT_EQ(deb.file_glob, "chatapp-*.deb");
  EXPECT_EQ(deb.install, "sudo apt install -y /tmp/{file}");
  EXPECT_EQ(deb.uninstall, "sudo apt remove -y {app_name} || true");
  EXPECT_EQ(deb.app_path, "/opt/ChatApp/chatapp");
  const PackageConfig& flatpak = debian.packages[1];
  EXPECT_EQ(flatpak.format, PackageFormat::kFlatpak);
  EXPECT_EQ(flatpak.appid, "org.example.ChatApp");
  EXPECT_EQ(flatpak.remote, "flathub");
  EXPECT_EQ(flatpak.process_name, "chatapp");
  EXPECT_EQ(flatpak.data_dir, "~/.var/app/org.example.ChatApp");  // a path in the VM
  EXPECT_EQ(flatpak.version, "stable");
  const VmConfig& win = c.vms[1];
  EXPECT_EQ(win.user, "tester");  // its own wins over [defaults]
  EXPECT_EQ(win.os_type, OsType::kWindows);
  EXPECT_EQ(win.password.ToString(), "env:WIN11_PASSWORD");
  EXPECT_EQ(win.packages[0].install, "Start-Process -Wait C:\\tmp\\{file} /S");

  ASSERT_TRUE(c.vlm.has_value());
  EXPECT_EQ(c.vlm->api_key.ToString(), "file:/home/qa/.keys/vlm");  // ~ is $HOME
  EXPECT_EQ(c.vlm->max_tokens_floor, 1024);
  EXPECT_EQ(c.vlm->expected_model, "ui-model");

  EXPECT_TRUE(c.functional.enabled);
  EXPECT_EQ(c.functional.tests_dir, "/etc/mosdat/scenarios/functional");  // from the config
  EXPECT_EQ(c.functional.workspace_url, "chat.example.net");

  EXPECT_EQ(c.report.title, "ChatApp - test report");
  EXPECT_EQ(c.report.critical_tests, (std::vector<std::string>{"wayland-fake"}));
  EXPECT_EQ(c.report.critical_description, "The Wayland fallback must work everywhere.");
  EXPECT_EQ(c.report.known_issues.at("snap+gpu"), "the snap sandbox hides the GPU");

  EXPECT_EQ(c.cursor.profile, CursorProfile::kBezier);
  EXPECT_EQ(c.cursor.duration_ms, 800);
  EXPECT_EQ(c.cursor.hover_dwell_ms, 200);
  EXPECT_EQ(c.cursor.seed, "auto");

  ASSERT_EQ(c.tests.size(), 2u);
  EXPECT_EQ(c.tests[0].script, "test-wayland-fake.sh");
  EXPECT_FALSE(c.tests[0].gpu);
  EXPECT_TRUE(c.tests[0].IsSmoke());
  EXPECT_EQ(c.tests[0].SmokeSpelling(), "script = \"test-wayland-fake.sh\"");
  EXPECT_TRUE(c.tests[1].gpu);
  EXPECT_TRUE(c.tests[1].scenario.empty());
}

// Every key this version cannot honour yet is named in a warning that says so, at its
// place in the file; nothing is dropped silently.
TEST(OriginalConfigTest, WhatCannotBeHonouredYetIsWarnedAboutExactly) {
  ASSERT_EQ(setenv("HOME", "/home/qa", 1), 0);
  Parsed parsed = Parse(kOriginal);
  ASSERT_TRUE(parsed.errors.empty()) << Lines(parsed.errors);
  const std::string t(kOriginal);
  EXPECT_EQ(
      Lines(parsed.warnings),
      Lines({
          At(t, "[proxmox]") +
              ": proxmox.password: [proxmox] has no token and no password; as the original mOSdat "
              "did, "
              "the password of \"root@pam\" is read from the environment variable "
              "PROXMOX_PASSWORD (write password = \"env:PROXMOX_PASSWORD\" to say so)",
          At(t, "[proxmox]") +
              ": proxmox.fingerprint: the original mOSdat never checked the Proxmox server's "
              "certificate; "
              "mOSdat always does, against this machine's CAs, so a self-signed certificate "
              "(Proxmox's default) is refused: pin it in [proxmox] with fingerprint = "
              "\"AA:BB:...\" (print it with: openssl s_client -connect 10.1.2.3:8006 </dev/null "
              "| openssl x509 -noout -fingerprint -sha256)",
          At(t, "\"env:WIN11_PASSWORD\"") +
              ": vm[1].password: [[vm]] password is read but mOSdat logs in to VMs with an SSH key "
              "(ssh_key), never a password; it is ignored",
          At(t, "true\ntests_dir") +
              ": functional.enabled: [functional].enabled is read but has no effect: mOSdat runs "
              "functional tests whenever they are asked for",
          At(t, "[report]") +
              ": report: [report] title, critical_tests, critical_description and known_issues "
              "are read but mOSdat's results (events.jsonl, junit.xml) do not show them yet; "
              "they are ignored",
          At(t, "[cursor]") +
              ": cursor: [cursor] profile = \"bezier\", duration_ms = 800, hover_dwell_ms = 200 "
              "and seed = \"auto\" are read but mOSdat moves the pointer to its target at once, "
              "with no dwell (as profile = \"instant\"); they are ignored",
      }));
}

// ---------------------------------------------------------------------------
// [app.exit_codes]: the two spellings and how they combine.

constexpr std::string_view kApp = "[app]\nname = \"x\"\n";  // lines 1-2

std::string WithApp(std::string_view rest) { return std::string(kApp) + std::string(rest); }

TEST(OriginalConfigTest, ExitCodeListsReplaceTheirVerdictsDefaultsThenEntriesOverride) {
  // Only `pass`: the default fail codes stay.
  Parsed only_pass = Parse(WithApp("[app.exit_codes]\npass = [0]\n"));
  ASSERT_TRUE(only_pass.errors.empty()) << Lines(only_pass.errors);
  EXPECT_EQ(only_pass.config.app.VerdictFor(0), Verdict::kPass);
  EXPECT_EQ(only_pass.config.app.VerdictFor(124), Verdict::kUnknown);  // replaced
  EXPECT_EQ(only_pass.config.app.VerdictFor(139), Verdict::kFail);
  EXPECT_EQ(only_pass.config.app.VerdictFor(6), Verdict::kFail);

  // A default fail code may move to the pass list; an entry overrides a code of neither.
  Parsed both = Parse(WithApp("[app.exit_codes]\n2 = \"pass\"\nfail = [134]\npass = [0, 139]\n"));
  ASSERT_TRUE(both.errors.empty()) << Lines(both.errors);
  EXPECT_EQ(
      both.config.app.exit_codes,
      (std::map<int, Verdict>{
          {0, Verdict::kPass}, {139, Verdict::kPass}, {134, Verdict::kFail}, {2, Verdict::kPass}}));

  // An entry that agrees with a list is fine; an empty list removes that verdict's codes.
  Parsed agree = Parse(WithApp("[app.exit_codes]\npass = [0]\n0 = \"pass\"\nfail = []\n"));
  ASSERT_TRUE(agree.errors.empty()) << Lines(agree.errors);
  EXPECT_EQ(agree.config.app.exit_codes, (std::map<int, Verdict>{{0, Verdict::kPass}}));
}

TEST(OriginalConfigTest, ExitCodeContradictionsAreErrorsAtTheirPlace) {
  const std::string in_both = WithApp("[app.exit_codes]\npass = [0, 124]\nfail = [139, 124]\n");
  EXPECT_EQ(Lines(Parse(in_both, kFile).errors),
            Lines({std::string(kFile) + ":5:14" +
                   ": app.exit_codes.fail[1]: exit code 124 is also in app.exit_codes.pass (line "
                   "4); keep it in one list"}));

  const std::string entry = WithApp("[app.exit_codes]\nfail = [139]\n139 = \"pass\"\n");
  EXPECT_EQ(Lines(Parse(entry, kFile).errors),
            Lines({At(entry, "\"pass\"") +
                   ": app.exit_codes.139: exit code 139 is \"pass\" here but listed in "
                   "app.exit_codes.fail (line 4); keep one"}));

  const std::string types =
      WithApp("[app.exit_codes]\npass = 0\nfail = [\"139\", 300]\nsegv = \"fail\"\n");
  EXPECT_EQ(
      Lines(Parse(types, kFile).errors),
      Lines({At(types, "0\nfail") +
                 ": app.exit_codes.pass: expected an array of exit codes (integers from 0 "
                 "to 255), got integer",
             At(types, "\"139\"") + ": app.exit_codes.fail[0]: expected an integer, got string",
             At(types, "300") + ": app.exit_codes.fail[1]: must be between 0 and 255",
             At(types, "segv") +
                 ": app.exit_codes.segv: exit code must be an integer from 0 to 255 (or a "
                 "list: pass = [0, 124], fail = [139, 134])"}));
}

// ---------------------------------------------------------------------------
// [build]

TEST(OriginalConfigTest, BuildKeysMapOntoTheModel) {
  // Ours: one command, no checkout.
  Parsed ours = Parse(WithApp("[build]\ncommand = \"make\"\nworkdir = \"src\"\n"));
  ASSERT_TRUE(ours.errors.empty()) << Lines(ours.errors);
  EXPECT_EQ(ours.config.build->commands, (std::vector<std::string>{"make"}));
  EXPECT_EQ(ours.config.build->workdir, "src");
  EXPECT_FALSE(ours.config.build->checkout_app_version);

  // The original's: repo_path relative to the config, checkout on unless turned off.
  Parsed original = Parse(WithApp("[build]\nrepo_path = \"../app\"\ncommands = [\"make\"]\n"));
  ASSERT_TRUE(original.errors.empty()) << Lines(original.errors);
  EXPECT_EQ(original.config.build->workdir, "/etc/mosdat/app");
  EXPECT_TRUE(original.config.build->checkout_app_version);
  EXPECT_EQ(original.config.build->dist_dir, "");
  Parsed off =
      Parse(WithApp("[build]\nrepo_path = \"/r\"\ncommands = [\"make\"]\ncheckout = false\n"));
  ASSERT_TRUE(off.errors.empty()) << Lines(off.errors);
  EXPECT_FALSE(off.config.build->checkout_app_version);
}

TEST(OriginalConfigTest, BuildMixupsAreErrors) {
  const std::string text = WithApp(
      "[build]\nrepo = \"https://example.net/r.git\"\nref = \"v1\"\ncommand = \"make\"\n"
      "commands = [\"make\", \"\"]\nworkdir = \"w\"\nrepo_path = \"/r\"\ncheckout = true\n");
  EXPECT_EQ(Lines(Parse(text, kFile).errors),
            Lines({At(text, "[\"make\"") +
                       ": build.commands: \"command\" and \"commands\" are two spellings of the "
                       "same thing; keep one",
                   At(text, "\"/r\"") +
                       ": build.repo_path: \"workdir\" and the original's \"repo_path\" both name "
                       "the directory the commands run in; keep one",
                   At(text, "true") +
                       ": build.checkout: checkout = true checks out [app].version, and \"ref\" "
                       "names another revision; keep one"}));

  const std::string empty = WithApp("[build]\ncommands = []\n");
  EXPECT_EQ(Lines(Parse(empty, kFile).errors),
            Lines({At(empty, "[]") + ": build.commands: must list at least one command"}));
  const std::string none = WithApp("[build]\nrepo_path = \"/r\"\n");
  EXPECT_EQ(Lines(Parse(none, kFile).errors),
            Lines({At(none, "[build]") +
                   ": build.command: required key is missing: the shell command that builds the "
                   "packages (or the original's list, commands = [\"...\", ...])"}));
}

// ---------------------------------------------------------------------------
// [proxmox]: a password login, and the refusals with what to write instead.

constexpr std::string_view kPveHead = "[proxmox]\nhost = \"pve.lab\"\nnode = \"pve\"\n";  // 3-5

TEST(OriginalConfigTest, ProxmoxPasswordLogin) {
  Parsed explicit_env =
      Parse(WithApp(std::string(kPveHead) +
                    "user = \"root@pam\"\npassword = \"env:PVE_PASSWORD\"\nfingerprint = "
                    "\"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                    "AB:CD:EF:01:23:45:67:89\"\n"));
  ASSERT_TRUE(explicit_env.errors.empty()) << Lines(explicit_env.errors);
  EXPECT_TRUE(explicit_env.warnings.empty()) << Lines(explicit_env.warnings);  // pinned: quiet
  EXPECT_EQ(explicit_env.config.proxmox->password.ToString(), "env:PVE_PASSWORD");
  EXPECT_FALSE(explicit_env.config.proxmox->token.is_set());

  // Ours, unchanged: a token, no warning.
  Parsed token = Parse(
      WithApp(std::string(kPveHead) + "user = \"root@pam!ci\"\ntoken = \"file:/run/pve-token\"\n"));
  ASSERT_TRUE(token.errors.empty()) << Lines(token.errors);
  EXPECT_TRUE(token.warnings.empty()) << Lines(token.warnings);
  EXPECT_FALSE(token.config.proxmox->password.is_set());
}

TEST(OriginalConfigTest, ProxmoxRefusalsSayWhatToWrite) {
  const std::string literal =
      WithApp(std::string(kPveHead) + "user = \"root@pam\"\npassword = \"hunter2\"\n");
  Parsed parsed = Parse(literal, kFile);
  EXPECT_EQ(Lines(parsed.errors),
            Lines({At(literal, "\"hunter2\"") +
                   ": proxmox.password: must be \"env:NAME\" or \"file:PATH\"; literal secrets "
                   "are refused so they never land in config files or logs: write password = "
                   "\"env:PROXMOX_PASSWORD\" and export PROXMOX_PASSWORD, or password = "
                   "\"file:PATH\" naming a file that holds it"}));
  EXPECT_EQ(Lines(parsed.errors).find("hunter2"), std::string::npos);  // never echoed

  const std::string insecure = WithApp(std::string(kPveHead) +
                                       "port = 8443\nuser = \"root@pam!ci\"\ntoken = "
                                       "\"env:PVE_TOKEN\"\nverify_ssl = false\n");
  EXPECT_EQ(Lines(Parse(insecure, kFile).errors),
            Lines({At(insecure, "verify_ssl") +
                   ": proxmox.verify_ssl: TLS verification cannot be disabled; pin the server's "
                   "certificate instead with fingerprint = \"AA:BB:...\" (print it with: openssl "
                   "s_client -connect pve.lab:8443 </dev/null | openssl x509 -noout -fingerprint "
                   "-sha256)"}));

  const std::string both = WithApp(
      std::string(kPveHead) + "user = \"root@pam\"\ntoken = \"env:T\"\npassword = \"env:P\"\n");
  Parsed both_parsed = Parse(both, kFile);
  ASSERT_FALSE(both_parsed.errors.empty());
  EXPECT_EQ(both_parsed.errors[0],
            At(both, "\"env:P\"") +
                ": proxmox.password: \"token\" (an API token) and \"password\" (a ticket login, "
                "as the original mOSdat logged in) are two ways to log in; keep one");

  const std::string token_id_with_password =
      WithApp(std::string(kPveHead) + "user = \"root@pam!ci\"\npassword = \"env:P\"\n");
  EXPECT_EQ(Lines(Parse(token_id_with_password, kFile).errors),
            Lines({At(token_id_with_password, "\"root@pam!ci\"") +
                   ": proxmox.user: a password logs in as USER@REALM, e.g. \"root@pam\"; "
                   "USER@REALM!TOKENID is an API token id: write token = \"env:PVE_TOKEN\" "
                   "instead of the password"}));
}

// ---------------------------------------------------------------------------
// [[vm]], [[vm.package]], [defaults]

const std::string kVmHead = "[[vm]]\nname = \"a\"\nprovider = \"local\"\n";  // lines 3-5

TEST(OriginalConfigTest, PackageSourcesAndTheirMistakes) {
  const std::string ok = WithApp(kVmHead +
                                 "[[vm.package]]\nformat = \"snap\"\nappid = \"chatapp\"\n"
                                 "[[vm.package]]\nformat = \"rpm\"\npath = \"dist/x.rpm\"\n");
  Parsed parsed = Parse(ok);
  ASSERT_TRUE(parsed.errors.empty()) << Lines(parsed.errors);
  EXPECT_EQ(parsed.config.vms[0].packages[0].appid, "chatapp");
  EXPECT_EQ(parsed.config.vms[0].packages[1].path, "dist/x.rpm");

  const std::string bad = WithApp(
      kVmHead +
      "[[vm.package]]\nformat = \"deb\"\ninstall = \"sudo apt install -y /tmp/{file}\"\n"
      "[[vm.package]]\nformat = \"appimage\"\npath = \"a.AppImage\"\nfile_glob = \"*.AppImage\"\n"
      "[[vm.package]]\nformat = \"rpm\"\nfile_glob = \"x-*.rpm\"\nappid = \"x\"\n"
      "[[vm.package]]\nformat = \"flatpak\"\nremote = \"flathub\"\n");
  EXPECT_EQ(
      Lines(Parse(bad, kFile).errors),
      Lines({At(bad, "\"*.AppImage\"") +
                 ": vm[0].package[1].file_glob: \"path\" and \"file_glob\" both say which package "
                 "file to install; keep one",
             At(bad, "\"x\"\n[[vm.package]]") +
                 ": vm[0].package[2].appid: \"appid\" is for flatpak and snap packages, not rpm",
             At(bad, "\"flathub\"") +
                 ": vm[0].package[3].remote: \"remote\" needs \"appid\" (the app's id there)"}));
}

TEST(OriginalConfigTest, DefaultsUserAndVmPasswords) {
  Parsed parsed = Parse(WithApp("[defaults]\nuser = \"qa\"\n" + kVmHead +
                                "[[vm]]\nname = \"b\"\nprovider = \"local\"\nuser = \"me\"\n"));
  ASSERT_TRUE(parsed.errors.empty()) << Lines(parsed.errors);
  EXPECT_EQ(parsed.config.vms[0].user, "qa");
  EXPECT_EQ(parsed.config.vms[1].user, "me");

  const std::string literal = WithApp(kVmHead + "password = \"s3cret\"\n");
  EXPECT_EQ(Lines(Parse(literal, kFile).errors),
            Lines({At(literal, "\"s3cret\"") +
                   ": vm[0].password: must be \"env:NAME\" or \"file:PATH\"; literal secrets are "
                   "refused so they never land in config files or logs: write password = "
                   "\"env:MOSDAT_VM_PASSWORD\" and export MOSDAT_VM_PASSWORD, or password = "
                   "\"file:PATH\" naming a file that holds it"}));

  const std::string unknown = WithApp("[defaults]\nuser = \"qa\"\npassword = \"x\"\n");
  EXPECT_EQ(Lines(Parse(unknown, kFile).errors),
            Lines({At(unknown, "password") +
                   ": defaults.password: unknown key (expected one of: user)"}));
}

// ---------------------------------------------------------------------------
// [functional], [report], [cursor], [vlm], smoke [[test]]s, [holo2]

TEST(OriginalConfigTest, FunctionalCredentialsAreReferencesNeverLiterals) {
  Parsed refs =
      Parse(WithApp("[functional]\ntest_user = \"env:FUNCTIONAL_TEST_USER\"\n"
                    "test_password = \"file:secrets/chat-password\"\n"));
  ASSERT_TRUE(refs.errors.empty()) << Lines(refs.errors);
  EXPECT_EQ(refs.config.functional.test_user.ToString(), "env:FUNCTIONAL_TEST_USER");
  EXPECT_EQ(refs.config.functional.test_password.ToString(),
            "file:/etc/mosdat/examples/secrets/chat-password");
  EXPECT_EQ(refs.config.functional.tests_dir, "");  // unset: the original's default folders
  const std::string text(
      WithApp("[functional]\ntest_user = \"env:FUNCTIONAL_TEST_USER\"\n"
              "test_password = \"file:secrets/chat-password\"\n"));
  EXPECT_EQ(Lines(Parse(text, kFile).warnings), "");  // they reach scenarios now

  const std::string literal = WithApp("[functional]\ntest_password = \"pa55\"\n");
  EXPECT_EQ(Lines(Parse(literal, kFile).errors),
            Lines({At(literal, "\"pa55\"") +
                   ": functional.test_password: must be \"env:NAME\" or \"file:PATH\"; literal "
                   "secrets are refused so they never land in config files or logs: write "
                   "test_password = \"env:FUNCTIONAL_TEST_PASSWORD\" and export "
                   "FUNCTIONAL_TEST_PASSWORD, or test_password = \"file:PATH\" naming a file that "
                   "holds it"}));
}

TEST(OriginalConfigTest, ReportAndCursorKeys) {
  const std::string report =
      WithApp("[report]\nknown_issues = { a = 1 }\ncritical_tests = \"x\"\n");
  EXPECT_EQ(Lines(Parse(report, kFile).errors),
            Lines({At(report, "1 }") + ": report.known_issues.a: expected a string, got integer",
                   std::string(kFile) + ":5:18" +
                       ": report.critical_tests: expected an array of strings, got string"}));

  // "instant" is what mOSdat does: honoured, no warning.
  Parsed instant =
      Parse(WithApp("[cursor]\nprofile = \"instant\"\nduration_ms = 0\nseed = \"7\"\n"));
  ASSERT_TRUE(instant.errors.empty()) << Lines(instant.errors);
  EXPECT_TRUE(instant.warnings.empty()) << Lines(instant.warnings);
  EXPECT_EQ(instant.config.cursor.seed, "7");

  const std::string linear = WithApp("[cursor]\nprofile = \"linear\"\n");
  EXPECT_EQ(Lines(Parse(linear, kFile).warnings),
            Lines({At(linear, "[cursor]") +
                   ": cursor: [cursor] profile = \"linear\" is read but mOSdat moves the pointer "
                   "to its target at once, with no dwell (as profile = \"instant\"); it is "
                   "ignored"}));

  const std::string bad =
      WithApp("[cursor]\nprofile = \"wobbly\"\nduration_ms = 5001\nhover_dwell_ms = -1\n");
  EXPECT_EQ(Lines(Parse(bad, kFile).errors),
            Lines({At(bad, "\"wobbly\"") +
                       ": cursor.profile: must be one of \"instant\", \"linear\", \"bezier\"",
                   At(bad, "5001") + ": cursor.duration_ms: must be between 0 and 5000",
                   At(bad, "-1") + ": cursor.hover_dwell_ms: must be between 0 and 60000"}));
}

TEST(OriginalConfigTest, VlmMaxTokensFloor) {
  const std::string high =
      WithApp("[vlm]\nbase_url = \"http://h/v1\"\nmodel = \"m\"\nmax_tokens_floor = 8192\n");
  Parsed parsed = Parse(high, kFile);
  ASSERT_TRUE(parsed.errors.empty()) << Lines(parsed.errors);
  EXPECT_EQ(Lines(parsed.warnings),
            Lines({At(high, "8192") + ": vlm.max_tokens_floor: [vlm].max_tokens_floor = 8192 is "
                                      "read but mOSdat asks every model "
                                      "for 4096 tokens; a floor above that is not honoured"}));
  const std::string literal =
      WithApp("[vlm]\nbase_url = \"http://h/v1\"\nmodel = \"m\"\napi_key = \"sk-123\"\n");
  EXPECT_EQ(Lines(Parse(literal, kFile).errors),
            Lines({At(literal, "\"sk-123\"") +
                   ": vlm.api_key: must be \"env:NAME\" or \"file:PATH\"; literal secrets are "
                   "refused so they never land in config files or logs: write api_key = "
                   "\"env:VLM_API_KEY\" and export VLM_API_KEY, or api_key = \"file:PATH\" naming "
                   "a file that holds it"}));
}

TEST(OriginalConfigTest, SmokeScriptTests) {
  const std::string bad = WithApp(kVmHead +
                                  "[[test]]\nname = \"t\"\nscenario = \"s.yaml\"\nscript = "
                                  "\"test-x11.sh\"\n[[test]]\nname = \"u\"\nscenario = "
                                  "\"s.yaml\"\ngpu = true\n");
  EXPECT_EQ(Lines(Parse(bad, kFile).errors),
            Lines({At(bad, "\"test-x11.sh\"") +
                       ": test[0].script: \"scenario\" and \"script\" are mutually exclusive; keep "
                       "one",
                   At(bad, "true") +
                       ": test[1].gpu: \"gpu\" marks the original mOSdat's smoke-test scripts "
                       "that need the GPU; GPU passthrough is set per VM: [[vm]] gpu = true"}));
}

TEST(OriginalConfigTest, OldVlmTableNameSaysWhatToRename) {
  const std::string text = WithApp("[holo2]\nbase_url = \"http://h/v1\"\n");
  EXPECT_EQ(Lines(Parse(text, kFile).errors),
            Lines({At(text, "holo2") +
                   ": holo2: [holo2] is the original mOSdat's old name for [vlm]; rename the "
                   "table to [vlm] (base_url, model)"}));
}

TEST(OriginalConfigTest, HomeDirectoryInPaths) {
  ASSERT_EQ(setenv("HOME", "/home/qa", 1), 0);
  Parsed parsed = Parse(WithApp(kVmHead + "ssh_key = \"~/.ssh/id_ed25519\"\n"));
  ASSERT_TRUE(parsed.errors.empty()) << Lines(parsed.errors);
  EXPECT_EQ(parsed.config.vms[0].ssh_key, "/home/qa/.ssh/id_ed25519");
}

}  // namespace
}  // namespace mosdat

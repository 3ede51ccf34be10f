// The deploy phase's plan: which built file each [[vm.package]] of a VM installs, and
// the shell commands that put it into the VM and check it landed. Pure data, no SSH and
// no gRPC: the agent's executor (vnc-agent/steps/package_deployer.h) runs a plan over
// the VM's SSH session; the CLI can print one.
//
// What the plan does per format when the package has no `install` command of its own
// (privileged commands get `sudo -n` unless options.sudo is false; sudo never prompts):
//   deb      apt-get install -y --allow-downgrades FILE   (or dpkg -i FILE without apt)
//   rpm      dnf install -y FILE | zypper install | yum install      (first one present)
//   pacman   pacman -U --noconfirm FILE                 (.pkg.tar.zst, .pkg.tar.xz)
//   snap     snap install --dangerous FILE, or snap install APPID from the store
//   flatpak  flatpak install --user -y --bundle FILE, or REMOTE APPID from a remote
//   appimage copied to `app_path` (or kept where uploaded) and made executable
//   tar      unpacked into a new directory beside <tar_root>/<app name>/, which then
//            replaces it: a failed unpack leaves the installed version as it was
// msi and exe install only in Windows VMs, which this plan does not drive yet.
//
// The original mOSdat's keys keep their meaning: the file goes to /tmp/<file name>; a
// package's own `install` runs as written (it brings its own sudo) with {file} (that
// file name), {app_name} and {version} filled in; `uninstall` (same placeholders) runs
// before the install to remove what a previous run left, and may fail (nothing may be
// installed yet). File names reach the VM with every character outside
// [A-Za-z0-9._+-] replaced by '_' (and no leading '-'), and every command quotes them.
//
// Verification after the install: deb/rpm/pacman are queried in the package database
// (dpkg-query / rpm -q / pacman -Q, the name read from the file itself) and their installed version
// must be the file's; the app binary (package app_path, else [[vm]].app_path, else
// [app].binary) must be executable; the installed version must equal the package's
// `version` (else [app].version) or extend it with -, +, ~ or . (4.1.0 matches 4.1.0-1).
#ifndef MOSDAT_CORE_PACKAGE_INSTALL_H_
#define MOSDAT_CORE_PACKAGE_INSTALL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/shell_quote.h"
#include "core/verify_config.h"

namespace mosdat {

// A file the build produced (or `mosdat test --package` was given).
struct PackageArtifact {
  std::string path;  // on this machine
  PackageFormat format = PackageFormat::kDeb;
  std::string sha256;  // lowercase hex of the file's contents
};

// The format a file name says (.deb, .rpm, .AppImage, .snap, .flatpak, .msi, .exe,
// .tar, .tar.gz, .tgz, .tar.xz, .tar.bz2, .tar.zst; case-insensitive); nullopt if none.
std::optional<PackageFormat> FormatOfFileName(const std::string& name);

// The name a file gets in the VM: its base name with characters outside
// [A-Za-z0-9._+-] replaced by '_' and a leading '-' replaced by '_'.
std::string RemoteFileName(const std::string& local_path);

// One shell command of a plan, run by the VM user's login shell.
struct PlannedCommand {
  std::string step;         // what it does, for events and errors: "install", "verify-binary"...
  std::string command;      // shell text
  bool may_fail = false;    // a non-zero exit is reported, not fatal (removing what is not there)
  bool as_written = false;  // the config's own `install`/`uninstall`: run exactly as written
};

// One way to install: used when `tool` exists in the VM (`command -v`). An empty tool
// is the package's own `install` command, run without probing.
struct InstallerChoice {
  std::string tool;
  PlannedCommand install;
};

struct PackageInstallPlan {
  std::string label;  // "package 2 (deb)": the [[vm.package]] entry, 1-based
  PackageFormat format = PackageFormat::kDeb;
  // The file to upload; all three empty for a store install (snap/flatpak appid).
  std::string local_path;
  std::string sha256;
  std::string remote_path;
  bool privileged = false;  // some command runs through `sudo -n`: sudo must not ask
  // Must exist in the VM before anything changes (e.g. sha256sum, dpkg-query).
  std::vector<std::string> required_tools;
  std::optional<PlannedCommand> remove;
  std::vector<InstallerChoice> installers;  // the first whose tool exists; never empty
  std::vector<PlannedCommand> verify;
  std::optional<PlannedCommand> cleanup;  // removes the uploaded file; may fail
  // After a failed install: removes the package if it was left half-installed (deb,
  // rpm), so the VM is not left with a broken package; one that is still installed
  // whole (the install failed before replacing it) is kept.
  std::optional<PlannedCommand> undo;
  // Lists the installed package's files for the [verify] checks on the installed copy:
  // first the absolute directory the package's own paths are relative to ("/" for deb
  // and rpm, whose "opt/App/app" is /opt/App/app; the unpack directory for tar), then
  // every regular file, an absolute path per line. Unset where the installed files
  // cannot be listed (AppImage, snap, flatpak, a tar the config installs its own way).
  // Runs before cleanup: it may read the uploaded file.
  std::optional<PlannedCommand> list_files;
};

// The plan as root runs it: the planner's `sudo -n ` dropped (root needs none, and a VM
// logged into as root may have no sudo at all). Commands from the config stay as written.
PackageInstallPlan AsRoot(PackageInstallPlan plan);

struct DeployPlan {
  std::string vm;
  std::vector<PackageInstallPlan> packages;  // in [[vm.package]] order
  // [verify] checks run on the installed copy after every package is installed (the
  // files each list_files names, read back from the VM); empty = none.
  VerifyConfig contents;
};

struct PackagePlanOptions {
  bool sudo = true;                 // false when the SSH user is root
  std::string remote_dir = "/tmp";  // where uploads go (the original's /tmp)
  std::string tar_root = "/opt";    // tar packages unpack into <tar_root>/<app name>/
};

// Plans every [[vm.package]] of `vm`, matching each to one of `artifacts`: same format,
// and its `path` (the artifact's path, or its end after a '/'), or its `file_glob`
// (matched against the artifact's file name), or else the original's default glob
// "<app name>-*.<format>" (then any artifact of that format if exactly one exists).
// ConfigError (core/outcome.h) naming the VM and the package when: the VM's OS does not
// take the format, no artifact matches, several do (a file_glob must pick one), or the
// package has no way to install (neither a file nor an appid). Unimplemented for
// Windows VMs (msi/exe installs are not supported yet).
absl::StatusOr<DeployPlan> PlanPackageInstall(const VmConfig& vm, const AppConfig& app,
                                              const std::vector<PackageArtifact>& artifacts,
                                              const PackagePlanOptions& options = {});

}  // namespace mosdat

#endif  // MOSDAT_CORE_PACKAGE_INSTALL_H_

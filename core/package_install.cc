#include "core/package_install.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/absl_compat.h"
#include "core/outcome.h"

namespace mosdat {
namespace {

constexpr char kSudo[] = "sudo -n ";

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool HasGlobCharacters(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

bool GlobMatches(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), FNM_PATHNAME) == 0;
}

// `path` = "dist/x.deb" matches "/home/u/app/dist/x.deb"; with glob characters it is a
// pattern over the whole path or its end after any '/'.
bool PathMatches(const std::string& wanted, const std::string& artifact) {
  if (wanted == artifact) return true;
  const bool glob = HasGlobCharacters(wanted);
  if (glob && GlobMatches(wanted, artifact)) return true;
  for (size_t slash = artifact.find('/'); slash != std::string::npos;
       slash = artifact.find('/', slash + 1)) {
    const std::string tail = artifact.substr(slash + 1);
    if (glob ? GlobMatches(wanted, tail) : wanted == tail) return true;
  }
  return false;
}

// A path for the shell: "~/x" keeps meaning the user's home.
std::string ShellPath(const std::string& path) {
  if (absl::StartsWith(path, "~/")) return absl::StrCat("\"$HOME\"/", ShellQuote(path.substr(2)));
  return ShellQuote(path);
}

std::string Expand(const std::string& text, const std::string& file, const AppConfig& app,
                   const std::string& version) {
  return absl::StrReplaceAll(text,
                             {{"{file}", file}, {"{app_name}", app.name}, {"{version}", version}});
}

bool IsWindowsFormat(PackageFormat format) {
  return format == PackageFormat::kMsi || format == PackageFormat::kExe;
}

struct Context {
  const VmConfig& vm;
  const AppConfig& app;
  const PackagePlanOptions& options;
  std::string Where(const std::string& label) const {
    return absl::StrCat("VM ", vm.name, ", ", label);
  }
};

absl::StatusOr<const PackageArtifact*> PickArtifact(const Context& ctx,
                                                    const PackageConfig& package,
                                                    const std::string& label,
                                                    const std::vector<PackageArtifact>& artifacts) {
  std::vector<const PackageArtifact*> same_format;
  for (const PackageArtifact& artifact : artifacts) {
    if (artifact.format == package.format) same_format.push_back(&artifact);
  }
  std::string rule;
  std::vector<const PackageArtifact*> matches;
  if (!package.path.empty()) {
    rule = absl::StrCat("path \"", package.path, "\"");
    for (const PackageArtifact* a : same_format) {
      if (PathMatches(package.path, a->path)) matches.push_back(a);
    }
  } else {
    const std::string glob =
        !package.file_glob.empty()
            ? package.file_glob
            : absl::StrCat(ctx.app.name, "-*.", Absl(ToString(package.format)));
    rule = absl::StrCat("file_glob \"", glob, "\"");
    for (const PackageArtifact* a : same_format) {
      if (GlobMatches(glob, BaseName(a->path))) matches.push_back(a);
    }
    // Without a glob of its own, a lone file of the right format is the one.
    if (matches.empty() && package.file_glob.empty() && same_format.size() == 1) {
      matches = same_format;
    }
  }
  auto names = [](const std::vector<const PackageArtifact*>& list) {
    std::vector<std::string> out;
    for (const PackageArtifact* a : list) out.push_back(a->path);
    return list.empty() ? std::string("none") : absl::StrJoin(out, ", ");
  };
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) {
    return ConfigError(absl::StrCat(
        ctx.Where(label), ": no ", Absl(ToString(package.format)), " file matches ", rule, "; the ",
        Absl(ToString(package.format)), " files at hand are: ", names(same_format)));
  }
  return ConfigError(absl::StrCat(ctx.Where(label), ": ", matches.size(), " files match ", rule,
                                  " (", names(matches), "); make it pick one"));
}

// The app's binary as this package installs it, or "" when nothing says.
std::string BinaryOf(const Context& ctx, const PackageConfig& package, const std::string& file,
                     const std::string& version) {
  if (!package.app_path.empty()) return Expand(package.app_path, file, ctx.app, version);
  if (!ctx.vm.app_path.empty()) return ctx.vm.app_path;
  return ctx.app.binary;
}

PlannedCommand VerifyBinary(const std::string& binary) {
  if (binary.find('/') == std::string::npos) {  // a command name, found on PATH
    return {"verify-binary",
            absl::StrCat("command -v ", ShellQuote(binary), " >/dev/null || { echo ",
                         ShellQuote(absl::StrCat(binary, " is not on PATH")), " >&2; exit 1; }")};
  }
  return {"verify-binary",
          absl::StrCat(
              "test -f ", ShellPath(binary), " && test -x ", ShellPath(binary), " || { echo ",
              ShellQuote(absl::StrCat(binary, " is not an executable file")), " >&2; exit 1; }")};
}

// Shell text that prints `root`, then each line of `list` (a shell expansion, e.g.
// "$files") that names a regular file, not a link; lines are paths, so none is split.
std::string RegularFilesOf(const std::string& root, const std::string& list) {
  return absl::StrCat("printf '%s\\n' ", root, "; printf '%s\\n' \"", list,
                      "\" | while IFS= read -r f; do if [ -f \"$f\" ] && [ ! -L \"$f\" ]; ",
                      "then printf '%s\\n' \"$f\"; fi; done; exit 0");
}

// Shell text that fails unless $have equals `want` or extends it with - + ~ or '.'.
std::string VersionCase(const std::string& want) {
  const std::string w = ShellQuote(want);
  return absl::StrCat("case \"$have\" in ", w, "|", w, "[-+~.]*) ;; *) echo \"installed version ",
                      "$have, expected \"", w, " >&2; exit 1;; esac");
}

void PlanDeb(const std::string& sudo, const std::string& file, const std::string& want_version,
             PackageInstallPlan* plan) {
  plan->installers.push_back(
      {"apt-get",
       // A fresh VM's unattended upgrades hold dpkg's lock for minutes: wait for it.
       {"install", absl::StrCat(sudo, "env DEBIAN_FRONTEND=noninteractive apt-get install -y ",
                                "-o DPkg::Lock::Timeout=300 --allow-downgrades ", file)}});
  plan->installers.push_back({"dpkg", {"install", absl::StrCat(sudo, "dpkg -i ", file)}});
  plan->undo = PlannedCommand{
      "undo",
      absl::StrCat("name=$(dpkg-deb -f ", file, " Package) || exit 1; ",
                   "if [ \"$(dpkg-query -W -f='${Status}' \"$name\" 2>/dev/null)\" = "
                   "'install ok installed' ] || ! dpkg-query -W \"$name\" >/dev/null 2>&1; "
                   "then echo \"$name: nothing half-installed\"; exit 0; fi; ",
                   sudo, "dpkg --purge \"$name\""),
      /*may_fail=*/true};
  plan->required_tools.push_back("dpkg-deb");
  plan->required_tools.push_back("dpkg-query");
  plan->list_files = PlannedCommand{
      "list-files", absl::StrCat("name=$(dpkg-deb -f ", file, " Package) && files=$(dpkg-query -L ",
                                 "\"$name\") || exit 1; ", RegularFilesOf("/", "$files"))};
  // The name and version come from the file itself: what must now be installed.
  plan->verify.push_back(
      {"verify-installed",
       absl::StrCat("name=$(dpkg-deb -f ", file, " Package) && want=$(dpkg-deb -f ", file,
                    " Version) && status=$(dpkg-query -W -f='${Status}' \"$name\") && "
                    "have=$(dpkg-query -W -f='${Version}' \"$name\") || exit 1; "
                    "if [ \"$status\" != 'install ok installed' ]; then echo \"package $name: "
                    "$status\" >&2; exit 1; fi; if [ \"$have\" != \"$want\" ]; then echo "
                    "\"package $name is at version $have, the file has $want\" >&2; exit 1; fi")});
  if (!want_version.empty()) {
    plan->verify.push_back(
        {"verify-version",
         absl::StrCat("have=$(dpkg-query -W -f='${Version}' \"$(dpkg-deb -f ", file,
                      " Package)\") || exit 1; ", VersionCase(want_version))});
  }
}

void PlanRpm(const std::string& sudo, const std::string& file, const std::string& want_version,
             PackageInstallPlan* plan) {
  plan->installers.push_back({"dnf", {"install", absl::StrCat(sudo, "dnf install -y ", file)}});
  plan->installers.push_back(
      {"zypper",
       {"install",
        absl::StrCat(sudo, "zypper --non-interactive install --allow-unsigned-rpm ", file)}});
  plan->installers.push_back({"yum", {"install", absl::StrCat(sudo, "yum install -y ", file)}});
  // rpm installs a package whole or not at all, but a failed scriptlet can leave it
  // registered: then it goes.
  plan->undo = PlannedCommand{
      "undo",
      absl::StrCat("name=$(rpm -qp --qf '%{NAME}' ", file, ") || exit 1; ",
                   "if ! rpm -q \"$name\" >/dev/null 2>&1 || rpm -V \"$name\" >/dev/null 2>&1; "
                   "then echo \"$name: nothing half-installed\"; exit 0; fi; ",
                   sudo, "rpm -e --nodeps --noscripts \"$name\""),
      /*may_fail=*/true};
  plan->required_tools.push_back("rpm");
  plan->list_files =
      PlannedCommand{"list-files", absl::StrCat("name=$(rpm -qp --qf '%{NAME}' ", file,
                                                ") && files=$(rpm -ql \"$name\") || exit 1; ",
                                                RegularFilesOf("/", "$files"))};
  plan->verify.push_back(
      {"verify-installed",
       absl::StrCat("name=$(rpm -qp --qf '%{NAME}' ", file,
                    ") && want=$(rpm -qp --qf '%{VERSION}-%{RELEASE}' ", file,
                    ") && have=$(rpm -q --qf '%{VERSION}-%{RELEASE}' \"$name\") || exit 1; "
                    "if [ \"$have\" != \"$want\" ]; then echo \"package $name is at version "
                    "$have, the file has $want\" >&2; exit 1; fi")});
  if (!want_version.empty()) {
    plan->verify.push_back(
        {"verify-version", absl::StrCat("have=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "
                                        "\"$(rpm -qp --qf '%{NAME}' ",
                                        file, ")\") || exit 1; ", VersionCase(want_version))});
  }
}

void PlanPacman(const std::string& sudo, const std::string& file, const std::string& want_version,
                PackageInstallPlan* plan) {
  // pacman installs a package whole or not at all: nothing to undo.
  plan->installers.push_back(
      {"pacman", {"install", absl::StrCat(sudo, "pacman -U --noconfirm ", file)}});
  plan->required_tools.push_back("pacman");
  plan->list_files = PlannedCommand{
      "list-files", absl::StrCat("name=$(pacman -Qqp ", file, ") && files=$(pacman -Qlq ",
                                 "\"$name\") || exit 1; ", RegularFilesOf("/", "$files"))};
  // `pacman -Q NAME` and `pacman -Qp FILE` both print "name version".
  plan->verify.push_back(
      {"verify-installed",
       absl::StrCat("name=$(pacman -Qqp ", file, ") && want=$(pacman -Qp ", file,
                    ") && have=$(pacman -Q \"$name\") || exit 1; if [ \"$have\" != \"$want\" ]; "
                    "then echo \"installed: $have; the file has: $want\" >&2; exit 1; fi")});
  if (!want_version.empty()) {
    plan->verify.push_back(
        {"verify-version",
         absl::StrCat("have=$(pacman -Q \"$(pacman -Qqp ", file,
                      ")\") || exit 1; have=${have#* }; ", VersionCase(want_version))});
  }
}

using FormatPlanner = void (*)(const std::string& sudo, const std::string& file,
                               const std::string& want_version, PackageInstallPlan* plan);

// A package manager's format: the planner's install, or with the config's own install
// command (already in `plan`) only the planner's checks, which read the package database.
void PlanManaged(FormatPlanner planner, const std::string& sudo, const std::string& file,
                 const std::string& want_version, PackageInstallPlan* plan) {
  if (plan->installers.empty()) {
    planner(sudo, file, want_version, plan);
    return;
  }
  PackageInstallPlan defaults;
  planner(sudo, file, want_version, &defaults);
  plan->required_tools.insert(plan->required_tools.end(), defaults.required_tools.begin(),
                              defaults.required_tools.end());
  plan->verify = defaults.verify;
  plan->list_files = defaults.list_files;
}

absl::StatusOr<PackageInstallPlan> PlanOne(const Context& ctx, const PackageConfig& package,
                                           int index,
                                           const std::vector<PackageArtifact>& artifacts) {
  PackageInstallPlan plan;
  plan.format = package.format;
  plan.label = absl::StrCat("package ", index + 1, " (", Absl(ToString(package.format)), ")");
  const std::string format_name(ToString(package.format));
  if (IsWindowsFormat(package.format)) {
    return ConfigError(absl::StrCat(ctx.Where(plan.label), ": ", format_name,
                                    " packages install only in Windows VMs, and ", ctx.vm.name,
                                    " is a Linux VM (os_type)"));
  }
  const bool from_store =
      (package.format == PackageFormat::kSnap || package.format == PackageFormat::kFlatpak) &&
      package.path.empty() && package.file_glob.empty() && !package.appid.empty();
  const std::string version = package.version.empty() ? ctx.app.version : package.version;

  std::string file_name;  // the original's {file}
  std::string file;       // the uploaded file, quoted
  if (!from_store) {
    absl::StatusOr<const PackageArtifact*> artifact =
        PickArtifact(ctx, package, plan.label, artifacts);
    if (!artifact.ok()) return artifact.status();
    plan.local_path = (*artifact)->path;
    plan.sha256 = (*artifact)->sha256;
    file_name = RemoteFileName(plan.local_path);
    std::string dir = ctx.options.remote_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    plan.remote_path = dir == "/" ? "/" + file_name : absl::StrCat(dir, "/", file_name);
    file = ShellQuote(plan.remote_path);
    plan.required_tools.push_back("sha256sum");
    plan.cleanup = PlannedCommand{"cleanup", absl::StrCat("rm -f -- ", file), true};
  }

  const bool use_sudo = ctx.options.sudo;
  const std::string sudo = use_sudo ? kSudo : "";
  bool privileged = true;
  const std::string binary = BinaryOf(ctx, package, file_name, version);

  if (!package.uninstall.empty()) {
    plan.remove = PlannedCommand{"remove", Expand(package.uninstall, file_name, ctx.app, version),
                                 /*may_fail=*/true, /*as_written=*/true};
  }
  if (!package.install.empty()) {
    // The package's own command, as the original ran it (with its own sudo, if any).
    privileged = false;
    plan.installers.push_back(
        {"", {"install", Expand(package.install, file_name, ctx.app, version), false, true}});
  }

  const std::string& want_version = version;
  switch (package.format) {
    case PackageFormat::kDeb:
      PlanManaged(PlanDeb, sudo, file, want_version, &plan);
      break;
    case PackageFormat::kRpm:
      PlanManaged(PlanRpm, sudo, file, want_version, &plan);
      break;
    case PackageFormat::kPacman:
      PlanManaged(PlanPacman, sudo, file, want_version, &plan);
      break;
    case PackageFormat::kSnap:
      if (plan.installers.empty()) {
        plan.installers.push_back(
            {"snap",
             {"install", from_store ? absl::StrCat(sudo, "snap install ", ShellQuote(package.appid))
                                    : absl::StrCat(sudo, "snap install --dangerous ", file)}});
      }
      if (!package.appid.empty()) {
        plan.verify.push_back(
            {"verify-installed", absl::StrCat("snap list ", ShellQuote(package.appid))});
      }
      break;
    case PackageFormat::kFlatpak:
      // Per user: no root needed, and the desktop session sees the app.
      if (plan.installers.empty()) {
        privileged = false;
        plan.installers.push_back(
            {"flatpak",
             {"install",
              from_store
                  ? absl::StrCat("flatpak install --user -y --noninteractive ",
                                 package.remote.empty() ? "" : ShellQuote(package.remote) + " ",
                                 ShellQuote(package.appid))
                  : absl::StrCat("flatpak install --user -y --noninteractive --bundle ", file)}});
      }
      if (!package.appid.empty()) {
        plan.verify.push_back(
            {"verify-installed", absl::StrCat("flatpak info ", ShellQuote(package.appid))});
      }
      break;
    case PackageFormat::kAppImage:
      // The uploaded file may be the app itself: only a copy made below frees it.
      plan.cleanup.reset();
      if (plan.installers.empty()) {
        const std::string target = package.app_path.empty() ? plan.remote_path : binary;
        if (target == plan.remote_path) {
          privileged = false;
          plan.installers.push_back({"chmod", {"install", absl::StrCat("chmod 0755 -- ", file)}});
        } else {
          // Into the user's home or next to the upload needs no root; elsewhere it may.
          const std::string remote_dir = DirName(plan.remote_path);
          privileged = !(absl::StartsWith(target, "~/") ||
                         absl::StartsWith(target, absl::StrCat(remote_dir, "/")));
          const std::string s = privileged ? sudo : "";
          const std::string t = ShellPath(target);
          plan.installers.push_back(
              {"cp",
               {"install",
                absl::StrCat(s, "mkdir -p -- ", ShellPath(DirName(target)), " && ", s, "cp -f -- ",
                             file, " ", t, " && ", s, "chmod 0755 -- ", t)}});
          plan.cleanup = PlannedCommand{"cleanup", absl::StrCat("rm -f -- ", file), true};
        }
      }
      break;
    case PackageFormat::kTar: {
      const std::string dir_name = RemoteFileName(ctx.app.name.empty() ? "app" : ctx.app.name);
      const std::string base = absl::StrCat(ctx.options.tar_root, "/", dir_name);
      const std::string dir = ShellPath(base);
      const std::string fresh = ShellPath(base + ".mosdat-new");
      const std::string old = ShellPath(base + ".mosdat-old");
      plan.required_tools.push_back("tar");
      if (plan.installers.empty()) {
        // Unpacked beside the installed version, which it then replaces: files of an
        // older version do not linger, and a failed unpack leaves that version whole.
        plan.installers.push_back(
            {"tar",
             {"install",
              absl::StrCat(sudo, "rm -rf -- ", fresh, " ", old, " && ", sudo, "mkdir -p -- ", fresh,
                           " && ", sudo, "tar -xf ", file, " -C ", fresh, " && { [ ! -e ", dir,
                           " ] || ", sudo, "mv -- ", dir, " ", old, "; } && ", sudo, "mv -- ",
                           fresh, " ", dir, " && ", sudo, "rm -rf -- ", old)}});
        plan.undo = PlannedCommand{
            "undo",
            absl::StrCat(sudo, "rm -rf -- ", fresh, "; if [ ! -e ", dir, " ] && [ -e ", old,
                         " ]; then ", sudo, "mv -- ", old, " ", dir, "; fi"),
            /*may_fail=*/true};
        plan.list_files = PlannedCommand{
            "list-files",
            absl::StrCat("cd ", dir, " && root=$(pwd -P) && files=$(find \"$root\" -type f) || ",
                         "exit 1; ", RegularFilesOf("\"$root\"", "$files"))};
      }
      break;
    }
    case PackageFormat::kMsi:
    case PackageFormat::kExe:
      break;  // refused above
  }
  if (!binary.empty()) plan.verify.push_back(VerifyBinary(binary));
  plan.privileged = privileged && use_sudo;
  if (plan.privileged) plan.required_tools.insert(plan.required_tools.begin(), "sudo");
  return plan;
}

}  // namespace

std::optional<PackageFormat> FormatOfFileName(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(BaseName(name));
  // Arch packages before tarballs: ".pkg.tar.zst" also ends in ".tar.zst".
  static const std::pair<const char*, PackageFormat> kSuffixes[] = {
      {".pkg.tar.zst", PackageFormat::kPacman},
      {".pkg.tar.xz", PackageFormat::kPacman},
      {".deb", PackageFormat::kDeb},
      {".rpm", PackageFormat::kRpm},
      {".appimage", PackageFormat::kAppImage},
      {".snap", PackageFormat::kSnap},
      {".flatpak", PackageFormat::kFlatpak},
      {".msi", PackageFormat::kMsi},
      {".exe", PackageFormat::kExe},
      {".tar", PackageFormat::kTar},
      {".tar.gz", PackageFormat::kTar},
      {".tgz", PackageFormat::kTar},
      {".tar.xz", PackageFormat::kTar},
      {".tar.bz2", PackageFormat::kTar},
      {".tar.zst", PackageFormat::kTar},
  };
  for (const auto& [suffix, format] : kSuffixes) {
    if (lower.size() > std::string_view(suffix).size() && absl::EndsWith(lower, suffix)) {
      return format;
    }
  }
  return std::nullopt;
}

std::string RemoteFileName(const std::string& local_path) {
  std::string name = BaseName(local_path);
  for (char& c : name) {
    const bool safe = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                      c == '+' || c == '-';
    if (!safe) c = '_';
  }
  if (name.empty() || name == "." || name == "..") name = "package";
  if (name.front() == '-') name.front() = '_';
  return name;
}

PackageInstallPlan AsRoot(PackageInstallPlan plan) {
  if (!plan.privileged) return plan;
  auto drop_sudo = [](PlannedCommand& command) {
    if (!command.as_written) command.command = absl::StrReplaceAll(command.command, {{kSudo, ""}});
  };
  if (plan.remove) drop_sudo(*plan.remove);
  for (InstallerChoice& choice : plan.installers) drop_sudo(choice.install);
  for (PlannedCommand& command : plan.verify) drop_sudo(command);
  if (plan.cleanup) drop_sudo(*plan.cleanup);
  if (plan.undo) drop_sudo(*plan.undo);
  if (plan.list_files) drop_sudo(*plan.list_files);
  std::erase(plan.required_tools, "sudo");
  plan.privileged = false;
  return plan;
}

absl::StatusOr<DeployPlan> PlanPackageInstall(const VmConfig& vm, const AppConfig& app,
                                              const std::vector<PackageArtifact>& artifacts,
                                              const PackagePlanOptions& options) {
  if (vm.os_type == OsType::kWindows && !vm.packages.empty()) {
    for (size_t i = 0; i < vm.packages.size(); ++i) {
      if (!IsWindowsFormat(vm.packages[i].format)) {
        return ConfigError(absl::StrCat("VM ", vm.name, ", package ", i + 1, " (",
                                        Absl(ToString(vm.packages[i].format)),
                                        "): this format installs only in Linux VMs, and ", vm.name,
                                        " is a Windows VM (os_type)"));
      }
    }
    return absl::UnimplementedError(
        absl::StrCat("VM ", vm.name,
                     ": installing [[vm.package]] in Windows VMs (msi, exe) is "
                     "not supported yet; install the app in the VM's snapshot instead"));
  }
  Context ctx{vm, app, options};
  DeployPlan plan;
  plan.vm = vm.name;
  for (size_t i = 0; i < vm.packages.size(); ++i) {
    absl::StatusOr<PackageInstallPlan> one =
        PlanOne(ctx, vm.packages[i], static_cast<int>(i), artifacts);
    if (!one.ok()) return one.status();
    plan.packages.push_back(*std::move(one));
  }
  return plan;
}

}  // namespace mosdat

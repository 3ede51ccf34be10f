#include "vnc-agent/steps/package_deployer.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/absl_compat.h"
#include "core/artifact_checks.h"
#include "core/outcome.h"
#include "vnc-agent/steps/installed_files.h"

namespace mosdat {
namespace {

constexpr size_t kTailBytes = 2000;

std::string Tail(const std::string& text) {
  if (text.size() <= kTailBytes) return text;
  return absl::StrCat("...", text.substr(text.size() - kTailBytes));
}

// sudo's own words when it would have had to ask for a password (no terminal here).
bool SudoWantedPassword(const SshExecResult& result) {
  const std::string& err = result.err;
  return absl::StrContains(err, "sudo: a password is required") ||
         absl::StrContains(err, "sudo: a terminal is required") ||
         absl::StrContains(err, "sudo: no tty present");
}

class Deployer {
 public:
  Deployer(SshSession& ssh, const DeployPlan& plan, const EmitEvent& emit,
           const DeployOptions& options)
      : ssh_(ssh), plan_(plan), emit_(emit), options_(options) {}

  absl::Status Run() {
    std::vector<PackageInstallPlan> installed;  // as run (AsRoot for a root login)
    for (const PackageInstallPlan& package : plan_.packages) {
      absl::StatusOr<PackageInstallPlan> done = Deploy(package);
      if (!done.ok()) return done.status();
      installed.push_back(*std::move(done));
    }
    if (!plan_.contents.empty()) {
      if (absl::Status status = CheckContents(installed); !status.ok()) return status;
    }
    // Last: a listing may read the uploaded files.
    for (const PackageInstallPlan& package : installed) {
      if (package.cleanup.has_value()) {
        if (absl::Status status = RunCommand(package, *package.cleanup); !status.ok()) {
          return status;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string Where(const PackageInstallPlan& package, const std::string& step) const {
    return absl::StrCat("VM ", plan_.vm, ", ", package.label, ", step ", step);
  }

  absl::Status Step(const PackageInstallPlan& package, const std::string& step,
                    const std::string& description,
                    const std::function<absl::Status(CommandOutput*)>& body) {
    return Step(package.label, step, description, body);
  }

  // One step: events around `body`, which fills the output and returns the step's status.
  absl::Status Step(const std::string& label, const std::string& step,
                    const std::string& description,
                    const std::function<absl::Status(CommandOutput*)>& body) {
    Event started = Event::Of(EventType::kStepStarted);
    started.step_index = -1;
    started.step_kind = "deploy";
    started.label = absl::StrCat(label, ": ", step);
    started.description = description;
    if (absl::Status sent = emit_(started); !sent.ok()) return sent;
    const absl::Time begin = absl::Now();
    CommandOutput output;
    absl::Status status = body(&output);
    Event finished = started;
    finished.type = EventType::kStepFinished;
    finished.duration_seconds = absl::ToDoubleSeconds(absl::Now() - begin);
    finished.status = status.ok() ? StepStatus::kPassed : StepStatusOf(OutcomeOf(status));
    if (!status.ok()) finished.reason = std::string(status.message());
    if (output.exit_code != -1 || !output.out.empty() || !output.err.empty() || output.timed_out) {
      finished.output = std::move(output);
    }
    if (absl::Status sent = emit_(std::move(finished)); !sent.ok() && status.ok()) return sent;
    return status;
  }

  // Runs a planned command; a failure (unless tolerated) is an infrastructure error
  // with the output's tail.
  absl::Status RunCommand(const PackageInstallPlan& package, const PlannedCommand& command) {
    return Step(package, command.step, command.command, [&](CommandOutput* output) {
      absl::StatusOr<SshExecResult> result = ssh_.Exec(command.command, options_.command_timeout);
      if (!result.ok()) {
        return InfrastructureError(
            absl::StrCat(Where(package, command.step), ": ", result.status().message()));
      }
      *output = {result->exit_code, Tail(result->out), Tail(result->err), result->timed_out};
      if (result->exit_code == 0) return absl::OkStatus();
      if (command.may_fail) {
        // Tolerated, e.g. removing a package that is not installed yet.
        output->err = absl::StrCat(output->err, "\n(exit ", result->exit_code, " tolerated)");
        return absl::OkStatus();
      }
      if (SudoWantedPassword(*result)) {
        return InfrastructureError(absl::StrCat(
            Where(package, command.step), ": sudo asked for a password (mOSdat never types one); ",
            "allow the VM user passwordless sudo (NOPASSWD) or log in as root: ",
            Tail(result->err)));
      }
      const std::string how =
          result->timed_out
              ? absl::StrCat("timed out after ", absl::FormatDuration(options_.command_timeout))
              : absl::StrCat("failed with exit code ", result->exit_code);
      return InfrastructureError(absl::StrCat(
          Where(package, command.step), ": `", command.command, "` ", how, ": ", Tail(result->err),
          result->out.empty() ? "" : "\nstdout: ", Tail(result->out)));
    });
  }

  // Which tools the VM has, and whether the login user is root (`as_root`).
  absl::Status Probe(const PackageInstallPlan& package, const InstallerChoice** chosen,
                     bool* as_root) {
    std::vector<std::string> tools = package.required_tools;
    for (const InstallerChoice& choice : package.installers) {
      if (!choice.tool.empty()) tools.push_back(choice.tool);
    }
    std::string script = "for t in";
    for (const std::string& tool : tools) absl::StrAppend(&script, " ", ShellQuote(tool));
    absl::StrAppend(&script, "; do command -v \"$t\" >/dev/null 2>&1 && echo \"$t\"; done; ",
                    "echo \"uid=$(id -u)\"");
    return Step(package, "probe", script, [&](CommandOutput* output) -> absl::Status {
      absl::StatusOr<SshExecResult> result = ssh_.Exec(script, options_.probe_timeout);
      if (!result.ok()) {
        return InfrastructureError(
            absl::StrCat(Where(package, "probe"), ": ", result.status().message()));
      }
      *output = {result->exit_code, Tail(result->out), Tail(result->err), result->timed_out};
      if (result->exit_code != 0) {
        return InfrastructureError(
            absl::StrCat(Where(package, "probe"), ": the shell failed: ", Tail(result->err)));
      }
      std::vector<std::string> present = absl::StrSplit(result->out, '\n', absl::SkipWhitespace());
      auto has = [&](const std::string& tool) {
        return std::find(present.begin(), present.end(), tool) != present.end();
      };
      // Root runs what the plan would sudo directly: it may have no sudo at all.
      *as_root = has("uid=0");
      std::vector<std::string> managers;
      for (const InstallerChoice& choice : package.installers) {
        if (choice.tool.empty() || has(choice.tool)) {
          *chosen = &choice;
          break;
        }
        managers.push_back(choice.tool);
      }
      if (*chosen == nullptr) {
        return ConfigError(absl::StrCat(Where(package, "probe"), ": the VM has none of ",
                                        absl::StrJoin(managers, ", "), ", which a ",
                                        Absl(ToString(package.format)),
                                        " package needs: is it the right package for this VM?"));
      }
      std::vector<std::string> missing;
      for (const std::string& tool : package.required_tools) {
        if (!has(tool) && !(*as_root && tool == "sudo")) missing.push_back(tool);
      }
      if (!missing.empty()) {
        return InfrastructureError(absl::StrCat(Where(package, "probe"), ": the VM lacks ",
                                                absl::StrJoin(missing, ", "),
                                                " (not found by `command -v`)"));
      }
      return absl::OkStatus();
    });
  }

  absl::Status CheckSudo(const PackageInstallPlan& package) {
    const std::string command = "sudo -n true";
    return Step(package, "sudo", command, [&](CommandOutput* output) -> absl::Status {
      absl::StatusOr<SshExecResult> result = ssh_.Exec(command, options_.probe_timeout);
      if (!result.ok()) {
        return InfrastructureError(
            absl::StrCat(Where(package, "sudo"), ": ", result.status().message()));
      }
      *output = {result->exit_code, Tail(result->out), Tail(result->err), result->timed_out};
      if (result->exit_code == 0) return absl::OkStatus();
      return InfrastructureError(absl::StrCat(
          Where(package, "sudo"), ": `sudo -n true` failed: sudo would ask for a password, and ",
          "mOSdat never types one; allow the VM user passwordless sudo (NOPASSWD) or log in as "
          "root: ",
          Tail(result->err)));
    });
  }

  absl::Status Upload(const PackageInstallPlan& package) {
    const std::string description = absl::StrCat(package.local_path, " -> ", package.remote_path);
    absl::Status uploaded = Step(package, "upload", description, [&](CommandOutput*) {
      struct stat info;
      if (stat(package.local_path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return InfrastructureError(absl::StrCat(Where(package, "upload"), ": cannot read ",
                                                package.local_path, ": not a regular file"));
      }
      if (info.st_size > options_.max_upload_bytes) {
        return InfrastructureError(absl::StrCat(Where(package, "upload"), ": ", package.local_path,
                                                " has ", info.st_size, " bytes, more than the ",
                                                options_.max_upload_bytes, " this agent uploads"));
      }
      if (absl::Status status = ssh_.UploadFile(package.remote_path, package.local_path, 0644);
          !status.ok()) {
        return InfrastructureError(absl::StrCat(Where(package, "upload"), ": ", status.message()));
      }
      return absl::OkStatus();
    });
    if (!uploaded.ok()) return uploaded;

    const std::string command = absl::StrCat("sha256sum -- ", ShellQuote(package.remote_path));
    return Step(package, "checksum", command, [&](CommandOutput* output) -> absl::Status {
      absl::StatusOr<SshExecResult> result = ssh_.Exec(command, options_.probe_timeout);
      if (!result.ok()) {
        return InfrastructureError(
            absl::StrCat(Where(package, "checksum"), ": ", result.status().message()));
      }
      *output = {result->exit_code, Tail(result->out), Tail(result->err), result->timed_out};
      const std::string got = result->out.substr(0, result->out.find(' '));
      if (result->exit_code == 0 && got == package.sha256) return absl::OkStatus();
      return InfrastructureError(
          absl::StrCat(Where(package, "checksum"), ": the uploaded file's SHA-256 is ",
                       result->exit_code == 0 ? got : "unknown (" + Tail(result->err) + ")",
                       ", expected ", package.sha256));
    });
  }

  // The [verify] checks on the installed copy: each package's listing, the files the
  // checks read (over SFTP), then one event per check. A check that fails (or an
  // installed app.asar or ELF file that cannot be read) is a test failure: the package
  // as built lacks what it should have.
  absl::Status CheckContents(const std::vector<PackageInstallPlan>& installed) {
    const std::string label = "contents";
    std::map<std::string, std::string> files;
    std::vector<std::string> unlisted;
    for (const PackageInstallPlan& package : installed) {
      if (!package.list_files.has_value()) {
        unlisted.push_back(package.label);
        continue;
      }
      std::vector<ListedFile> wanted;
      absl::Status listed = Step(
          package, "list-files", package.list_files->command,
          [&](CommandOutput* output) -> absl::Status {
            absl::StatusOr<SshExecResult> result =
                ssh_.Exec(package.list_files->command, options_.command_timeout);
            if (!result.ok()) {
              return InfrastructureError(
                  absl::StrCat(Where(package, "list-files"), ": ", result.status().message()));
            }
            *output = {result->exit_code, Tail(result->out), Tail(result->err), result->timed_out};
            if (result->exit_code != 0 || result->truncated) {
              return InfrastructureError(
                  absl::StrCat(Where(package, "list-files"), ": cannot list the installed files: ",
                               result->truncated ? "the listing is too long" : Tail(result->err)));
            }
            absl::StatusOr<std::vector<ListedFile>> found =
                WantedInListing(result->out, plan_.contents);
            if (!found.ok()) {
              return InfrastructureError(
                  absl::StrCat(Where(package, "list-files"), ": ", found.status().message()));
            }
            wanted = *std::move(found);
            return absl::OkStatus();
          });
      if (!listed.ok()) return listed;
      std::string names;
      for (const ListedFile& file : wanted) absl::StrAppend(&names, file.remote_path, "\n");
      absl::Status read = Step(package, "read-files", names, [&](CommandOutput*) -> absl::Status {
        absl::Status status = ReadListedFiles(ssh_, wanted, options_.max_checked_bytes, &files);
        if (!status.ok()) {
          return InfrastructureError(
              absl::StrCat(Where(package, "read-files"), ": ", status.message()));
        }
        return absl::OkStatus();
      });
      if (!read.ok()) return read;
    }
    if (!unlisted.empty() && unlisted.size() == installed.size()) {
      // Nothing to look at: said, and not passed off as checked.
      return Step(label, "checks", "", [&](CommandOutput* output) -> absl::Status {
        output->err = absl::StrCat(
            "the installed files of ", absl::StrJoin(unlisted, ", "),
            " cannot be listed (AppImage, snap, flatpak, or the config's own install of a "
            "tar): check the built file with `mosdat preflight --package` instead");
        return TestFailure(absl::StrCat("VM ", plan_.vm, ": [verify] cannot check the installed ",
                                        "copy: ", output->err));
      });
    }
    absl::StatusOr<std::vector<ArtifactCheck>> checks =
        RunArtifactChecksOnFiles(plan_.contents, std::move(files));
    if (!checks.ok()) {
      return Step(label, "checks", "", [&](CommandOutput*) {
        return TestFailure(
            absl::StrCat("VM ", plan_.vm, ": the installed copy: ", checks.status().message()));
      });
    }
    std::vector<std::string> failed;
    for (const ArtifactCheck& check : *checks) {
      absl::Status status = Step(label, check.name, check.detail, [&](CommandOutput* output) {
        output->out = check.detail;
        if (check.result == ArtifactCheck::Result::kFailed) {
          return TestFailure(absl::StrCat(check.name, ": ", check.detail));
        }
        return absl::OkStatus();
      });
      if (!status.ok()) failed.push_back(std::string(status.message()));
    }
    if (failed.empty()) return absl::OkStatus();
    return TestFailure(absl::StrCat("VM ", plan_.vm, ": the installed copy fails ", failed.size(),
                                    " of ", checks->size(),
                                    " [verify] checks: ", absl::StrJoin(failed, "; ")));
  }

  // Installs one package; returns the plan as run, whose cleanup is still to do.
  absl::StatusOr<PackageInstallPlan> Deploy(const PackageInstallPlan& planned) {
    if (planned.installers.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(planned, "probe"), ": the plan has no install command"));
    }
    const InstallerChoice* chosen = nullptr;
    bool as_root = false;
    if (absl::Status status = Probe(planned, &chosen, &as_root); !status.ok()) return status;
    const PackageInstallPlan package = as_root ? AsRoot(planned) : planned;
    const InstallerChoice* installer = &package.installers[chosen - planned.installers.data()];
    if (package.privileged) {
      if (absl::Status status = CheckSudo(package); !status.ok()) return status;
    }
    if (!package.local_path.empty()) {
      if (package.sha256.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            Where(package, "upload"), ": the plan has no SHA-256 for ", package.local_path));
      }
      if (absl::Status status = Upload(package); !status.ok()) return status;
    }
    if (package.remove.has_value()) {
      if (absl::Status status = RunCommand(package, *package.remove); !status.ok()) return status;
    }
    if (absl::Status status = RunCommand(package, installer->install); !status.ok()) {
      if (!package.undo.has_value()) return status;
      // Not left with a half-installed package: what the VM had whole stays.
      absl::Status undone = RunCommand(package, *package.undo);
      return absl::Status(
          status.code(),
          absl::StrCat(status.message(),
                       undone.ok() ? "\n(a package left half-installed was removed: undo)"
                                   : absl::StrCat("\n(undo failed too: ", undone.message(),
                                                  "; restore the VM's snapshot)")));
    }
    for (const PlannedCommand& verify : package.verify) {
      if (absl::Status status = RunCommand(package, verify); !status.ok()) return status;
    }
    return package;
  }

  SshSession& ssh_;
  const DeployPlan& plan_;
  const EmitEvent& emit_;
  const DeployOptions& options_;
};

}  // namespace

absl::Status DeployPackages(SshSession& ssh, const DeployPlan& plan, const EmitEvent& emit,
                            const DeployOptions& options) {
  return Deployer(ssh, plan, emit, options).Run();
}

}  // namespace mosdat

// Runs a deploy plan (core/package_install.h) in a VM over its SSH session: for each
// package, in order,
//   probe     `command -v` for the tools the plan needs and picks the first installer
//             present (a deb VM without apt-get uses dpkg; an rpm VM dnf/zypper/yum);
//             `id -u`: a root login runs the plan without its sudo (AsRoot)
//   sudo      `sudo -n true` when the plan runs anything through sudo: a sudo that would
//             ask for a password is an error saying so, never a prompt
//   upload    the file over SFTP, then `sha256sum` in the VM against the plan's hash
//   remove    the package's `uninstall` (a failure is reported and tolerated) or the
//             tar directory's removal
//   install   the chosen installer's command; when it fails, `undo` removes a package
//             it left half-installed (deb, rpm), keeping one still installed whole
//   verify-*  each verification command
//   contents  when the plan has [verify] checks (DeployPlan::contents), after every
//             package is installed: each package's installed files are listed, those
//             the checks read are fetched over SFTP, and every check is a step;
//             a failed check is a test failure (TestFailure): the package lacks what
//             it should have
//   cleanup   removes the uploaded files (tolerated to fail), last; after a failure
//             the files stay in the VM, for a look
// Every step emits a kStepStarted and a kStepFinished event (step_kind "deploy", label
// "package 1 (deb): install", description = the command, output = its output tails),
// with step_index -1: they precede the scenario's steps and are not part of it.
//
// Errors name the VM, the package and the step, with the tail of the command's output:
// InfrastructureError (core/outcome.h: exit 4) when the rig fails (upload, checksum,
// sudo asking for a password, an install or verification that fails); ConfigError when
// the VM has none of the package managers the package's format needs (the config pairs
// the package with the wrong VM). The first failure stops the deploy.
//
// Uploads stream from the file (SshSession::UploadFile); files larger than
// DeployOptions::max_upload_bytes are refused before anything is sent.
#ifndef MOSDAT_VNC_AGENT_STEPS_PACKAGE_DEPLOYER_H_
#define MOSDAT_VNC_AGENT_STEPS_PACKAGE_DEPLOYER_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/events.h"
#include "core/package_install.h"
#include "vnc-agent/guest/ssh_session.h"

namespace mosdat {

using EmitEvent = std::function<absl::Status(Event)>;  // as in job_executor.h

struct DeployOptions {
  absl::Duration command_timeout = absl::Minutes(10);  // each install/remove/verify
  absl::Duration probe_timeout = absl::Seconds(30);    // probes, sudo check, sha256sum
  int64_t max_upload_bytes = int64_t{4} << 30;         // 4 GiB: a sanity bound
  // What the [verify] checks of the installed copy may read from the VM in all.
  uint64_t max_checked_bytes = uint64_t{2} << 30;
};

// Installs every package of `plan` through `ssh`, emitting one start and one finish
// event per step. OK when all are installed and verified. A failing `emit` stops the
// deploy and is returned.
absl::Status DeployPackages(SshSession& ssh, const DeployPlan& plan, const EmitEvent& emit,
                            const DeployOptions& options = {});

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_PACKAGE_DEPLOYER_H_

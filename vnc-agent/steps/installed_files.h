// The files of an installed package that the [verify] checks read (core/artifact_checks.h),
// fetched from the VM: a package's listing (PackageInstallPlan::list_files: its root
// directory, then one absolute path per line) names the files, and those the checks want
// (WantedByChecks, on the path relative to the root) are read over SFTP.
//
// The VM is untrusted: paths outside the root or with ".." are ignored, and the bytes
// read are bounded in all.
#ifndef MOSDAT_VNC_AGENT_STEPS_INSTALLED_FILES_H_
#define MOSDAT_VNC_AGENT_STEPS_INSTALLED_FILES_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/verify_config.h"
#include "vnc-agent/guest/ssh_session.h"

namespace mosdat {

// One wanted file of a listing.
struct ListedFile {
  std::string remote_path;    // absolute, as listed
  std::string relative_path;  // to the listing's root, normalized: "opt/App/resources/app.asar"
};

// The files of `listing` that `verify` reads. InvalidArgument when the listing does not
// start with an absolute root directory.
absl::StatusOr<std::vector<ListedFile>> WantedInListing(std::string_view listing,
                                                        const VerifyConfig& verify);

// Reads `files` over SFTP into relative path -> contents, adding to `*read`. Stops with
// FailedPrecondition once more than `max_bytes` would be held in all (counting what
// `*read` already holds); NotFound/PermissionDenied name the file.
absl::Status ReadListedFiles(SshSession& ssh, const std::vector<ListedFile>& files,
                             uint64_t max_bytes, std::map<std::string, std::string>* read);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_INSTALLED_FILES_H_

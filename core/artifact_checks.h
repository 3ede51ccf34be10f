// The [verify] checks (core/verify_config.h) on a built package or an installed app:
// the app.asar holds the configured symbols and files (and those files their strings),
// the ELF binaries export their symbols and hold their strings.
//
// Used by `mosdat preflight --package` on a local artifact, and callable by the agent on
// files it read inside a VM (RunArtifactChecksOnFiles: bytes in, results out). No gRPC.
#ifndef MOSDAT_CORE_ARTIFACT_CHECKS_H_
#define MOSDAT_CORE_ARTIFACT_CHECKS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/artifact_files.h"
#include "core/verify_config.h"

namespace mosdat {

struct ArtifactCheck {
  enum class Result { kPassed, kFailed, kSkipped };
  std::string name;  // "app.asar contains isTelephonyEnabled"
  Result result = Result::kFailed;
  std::string detail;  // where it was found, or what is missing and where it looked
};

std::string_view ToString(ArtifactCheck::Result result);

// Whether the checks of `verify` read `path` (normalized): the app.asar (the configured
// one, or any file named app.asar), what is in its `.unpacked` directory, and the
// configured binaries. What OpenArtifact keeps of an archive.
bool WantedByChecks(const VerifyConfig& verify, std::string_view path);

// Runs every check of `verify` on `files`, in config order: symbols, asar files, binaries.
// A missing file or string is a failed check; an app.asar or ELF file that is corrupt
// (or a package that cannot be read) is an error status naming it: the checks cannot
// say anything about an artifact they cannot read.
absl::StatusOr<std::vector<ArtifactCheck>> RunArtifactChecks(const VerifyConfig& verify,
                                                             const ArtifactFiles& files);

// The same on files read elsewhere (by the agent, in a VM): path -> contents, paths as
// on the machine ("/opt/App/resources/app.asar", with the files of its `.unpacked`
// directory the asar marks unpacked, and each [[verify.binary]] path).
absl::StatusOr<std::vector<ArtifactCheck>> RunArtifactChecksOnFiles(
    const VerifyConfig& verify, std::map<std::string, std::string> files);

// True when every check passed or was skipped.
bool AllPassed(const std::vector<ArtifactCheck>& checks);

}  // namespace mosdat

#endif  // MOSDAT_CORE_ARTIFACT_CHECKS_H_

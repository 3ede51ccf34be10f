#include "vnc-agent/steps/installed_files.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/artifact_checks.h"
#include "core/artifact_files.h"

namespace mosdat {

absl::StatusOr<std::vector<ListedFile>> WantedInListing(std::string_view listing,
                                                        const VerifyConfig& verify) {
  std::vector<absl::string_view> lines = absl::StrSplit(Absl(listing), '\n', absl::SkipEmpty());
  if (lines.empty() || !absl::StartsWith(lines.front(), "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file listing does not start with the install directory: \"",
                     lines.empty() ? absl::string_view() : lines.front().substr(0, 200), "\""));
  }
  std::string root(lines.front());
  if (!absl::EndsWith(root, "/")) root += '/';
  std::vector<ListedFile> wanted;
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view path = lines[i];
    if (!absl::StartsWith(path, root)) continue;  // not the package's: ignored
    std::optional<std::string> relative = NormalizeArtifactPath(Std(path.substr(root.size())));
    if (!relative || !WantedByChecks(verify, *relative)) continue;
    wanted.push_back({std::string(path), *std::move(relative)});
  }
  return wanted;
}

absl::Status ReadListedFiles(SshSession& ssh, const std::vector<ListedFile>& files,
                             uint64_t max_bytes, std::map<std::string, std::string>* read) {
  uint64_t held = 0;
  for (const auto& [path, contents] : *read) held += contents.size();
  for (const ListedFile& file : files) {
    if (held >= max_bytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("the files the checks read hold more than ", max_bytes, " bytes"));
    }
    absl::StatusOr<std::string> contents = ssh.Download(file.remote_path, max_bytes - held);
    if (!contents.ok()) return contents.status();
    held += contents->size();
    (*read)[file.relative_path] = *std::move(contents);
  }
  return absl::OkStatus();
}

}  // namespace mosdat

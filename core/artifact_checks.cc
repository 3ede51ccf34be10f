#include "core/artifact_checks.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"
#include "core/asar_archive.h"
#include "core/elf_inspect.h"

namespace mosdat {
namespace {

using Result = ArtifactCheck::Result;

constexpr std::string_view kAsarName = "app.asar";

bool IsAsarName(std::string_view path) {
  return path == kAsarName || path.ends_with(absl::StrCat("/", Absl(kAsarName)));
}

// Where the app.asar is: the configured path, else the one file named app.asar. An
// explanation when there is none (or several).
absl::StatusOr<std::string> FindAsar(const VerifyConfig& verify, const ArtifactFiles& files) {
  if (!verify.asar.empty()) {
    std::optional<std::string> path = NormalizeArtifactPath(verify.asar);
    if (!path) {
      return absl::NotFoundError(
          absl::StrCat("[verify] asar = \"", verify.asar, "\" is not a path inside the package"));
    }
    const std::vector<std::string> paths = files.Paths();
    if (std::binary_search(paths.begin(), paths.end(), *path)) return *path;
    if (files.single_file()) return paths.front();  // a plain app.asar: it is the one
    return absl::NotFoundError(absl::StrCat(files.name(), " has no ", *path, " ([verify] asar)"));
  }
  std::vector<std::string> found;
  for (const std::string& path : files.Paths()) {
    if (IsAsarName(path) || (files.single_file() && path.ends_with(".asar"))) {
      found.push_back(path);
    }
  }
  if (found.empty()) return absl::NotFoundError(absl::StrCat(files.name(), " has no app.asar"));
  if (found.size() > 1) {
    return absl::NotFoundError(absl::StrCat(files.name(), " has ", found.size(),
                                            " files named app.asar (", absl::StrJoin(found, ", "),
                                            "); set [verify] asar to the one to check"));
  }
  return found.front();
}

// What a check reports when the app.asar is missing (each asar check fails with it).
struct AsarState {
  std::optional<AsarArchive> archive;
  std::string missing;  // why there is no archive
};

absl::StatusOr<AsarState> LoadAsar(const VerifyConfig& verify, const ArtifactFiles& files) {
  AsarState state;
  absl::StatusOr<std::string> path = FindAsar(verify, files);
  if (!path.ok()) {
    if (!absl::IsNotFound(path.status())) return path.status();
    state.missing = std::string(path.status().message());
    return state;
  }
  absl::StatusOr<std::string> bytes = files.Read(*path);
  if (!bytes.ok()) return bytes.status();
  const std::string unpacked_root = *path + ".unpacked/";
  const ArtifactFiles* source = &files;
  AsarArchive::UnpackedReader unpacked = [source, unpacked_root](
                                             const std::string& relative,
                                             uint64_t size) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> data = source->Read(unpacked_root + relative);
    if (data.ok() && data->size() != size) {
      return absl::InvalidArgumentError(absl::StrCat(unpacked_root, relative, ": is ", data->size(),
                                                     " bytes but the asar's header says ", size));
    }
    return data;
  };
  absl::StatusOr<AsarArchive> archive = AsarArchive::FromBytes(
      *std::move(bytes), absl::StrCat(files.name(), ": ", *path), std::move(unpacked));
  if (!archive.ok()) return archive.status();
  state.archive = *std::move(archive);
  return state;
}

// Reads a file of the archive; a file the index lists but cannot be read (a missing
// unpacked file) is a failed check, corruption an error.
absl::StatusOr<std::optional<std::string>> ReadAsarFile(const AsarArchive& archive,
                                                        const std::string& path, std::string* why) {
  absl::StatusOr<std::string> data = archive.Read(path);
  if (data.ok()) return std::optional<std::string>(*std::move(data));
  if (absl::IsNotFound(data.status()) || absl::IsFailedPrecondition(data.status())) {
    *why = std::string(data.status().message());
    return std::optional<std::string>();
  }
  return data.status();
}

absl::Status CheckSymbols(const VerifyConfig& verify, const AsarState& asar,
                          std::vector<ArtifactCheck>* out) {
  if (verify.symbols.empty()) return absl::OkStatus();
  std::vector<std::vector<std::string>> found(verify.symbols.size());
  if (asar.archive) {
    for (const AsarEntry& entry : asar.archive->entries()) {
      if (entry.kind != AsarEntry::Kind::kFile) continue;
      std::string why;
      absl::StatusOr<std::optional<std::string>> data =
          ReadAsarFile(*asar.archive, entry.path, &why);
      if (!data.ok()) return data.status();
      if (!data->has_value()) continue;
      for (size_t i = 0; i < verify.symbols.size(); ++i) {
        if ((*data)->find(verify.symbols[i]) != std::string::npos) {
          found[i].push_back(entry.path);
        }
      }
    }
  }
  for (size_t i = 0; i < verify.symbols.size(); ++i) {
    ArtifactCheck check{.name = absl::StrCat("app.asar contains ", verify.symbols[i])};
    if (!asar.archive) {
      check.detail = asar.missing;
    } else if (found[i].empty()) {
      check.detail =
          absl::StrCat("\"", verify.symbols[i], "\" is in no file of ", asar.archive->name());
    } else {
      check.result = Result::kPassed;
      const size_t shown = std::min<size_t>(found[i].size(), 3);
      check.detail = absl::StrCat(
          "in ",
          absl::StrJoin(found[i].begin(), found[i].begin() + static_cast<ptrdiff_t>(shown), ", "),
          found[i].size() > shown ? absl::StrCat(" and ", found[i].size() - shown, " more") : "");
    }
    out->push_back(std::move(check));
  }
  return absl::OkStatus();
}

absl::Status CheckAsarFiles(const VerifyConfig& verify, const AsarState& asar,
                            std::vector<ArtifactCheck>* out) {
  for (const AsarFileCheck& file : verify.asar_files) {
    ArtifactCheck check{.name = absl::StrCat("app.asar has ", file.path)};
    if (!file.strings.empty()) {
      absl::StrAppend(&check.name, " containing ", absl::StrJoin(file.strings, ", "));
    }
    if (!asar.archive) {
      check.detail = asar.missing;
      out->push_back(std::move(check));
      continue;
    }
    std::string why;
    absl::StatusOr<std::optional<std::string>> data = ReadAsarFile(*asar.archive, file.path, &why);
    if (!data.ok()) {
      if (!absl::IsInvalidArgument(data.status()) || asar.archive->Find(file.path) == nullptr) {
        return data.status();
      }
      why = std::string(data.status().message());  // a directory, not a file
    }
    if (!why.empty()) {
      check.detail = why;
      out->push_back(std::move(check));
      continue;
    }
    std::vector<std::string> missing;
    for (const std::string& text : file.strings) {
      if ((**data).find(text) == std::string::npos) missing.push_back(text);
    }
    if (missing.empty()) {
      check.result = Result::kPassed;
      check.detail = absl::StrCat((**data).size(), " bytes");
    } else {
      check.detail = absl::StrCat(file.path, " does not contain ", absl::StrJoin(missing, ", "));
    }
    out->push_back(std::move(check));
  }
  return absl::OkStatus();
}

absl::Status CheckBinaries(const VerifyConfig& verify, const ArtifactFiles& files,
                           std::vector<ArtifactCheck>* out) {
  for (const BinaryCheck& binary : verify.binaries) {
    std::vector<std::string> wants;
    if (!binary.exports.empty()) {
      wants.push_back(absl::StrCat("exports ", absl::StrJoin(binary.exports, ", ")));
    }
    if (!binary.strings.empty()) {
      wants.push_back(absl::StrCat("contains ", absl::StrJoin(binary.strings, ", ")));
    }
    ArtifactCheck check{.name = absl::StrCat(binary.path, " ", absl::StrJoin(wants, " and "))};
    std::optional<std::string> path = NormalizeArtifactPath(binary.path);
    std::string read_path = path.value_or(binary.path);
    if (files.single_file() && path) {
      // A plain binary given as the artifact: it is the configured file of that name.
      const std::string base = read_path.substr(read_path.rfind('/') + 1);
      if (files.Paths().front() != base) {
        check.result = Result::kSkipped;
        check.detail = absl::StrCat("not in this artifact (", files.name(), ")");
        out->push_back(std::move(check));
        continue;
      }
      read_path = base;
    }
    absl::StatusOr<std::string> bytes = files.Read(read_path);
    if (absl::IsNotFound(bytes.status())) {
      check.detail = std::string(bytes.status().message());
      out->push_back(std::move(check));
      continue;
    }
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<ElfInspect> elf =
        ElfInspect::FromBytes(*std::move(bytes), absl::StrCat(files.name(), ": ", read_path));
    if (!elf.ok()) return elf.status();
    std::vector<std::string> missing;
    for (const std::string& symbol : binary.exports) {
      if (!elf->exported().contains(symbol)) {
        missing.push_back(absl::StrCat("export ", symbol,
                                       elf->imported().contains(symbol) ? " (it only imports it)"
                                       : elf->symtab().contains(symbol)
                                           ? " (in .symtab only: not exported)"
                                           : ""));
      }
    }
    for (const std::string& text : binary.strings) {
      if (!elf->ContainsString(text)) missing.push_back(absl::StrCat("string ", text));
    }
    if (missing.empty()) {
      check.result = Result::kPassed;
      check.detail = absl::StrCat(elf->exported().size(), " exported symbols");
    } else {
      check.detail = absl::StrCat(read_path, " lacks ", absl::StrJoin(missing, ", "));
    }
    out->push_back(std::move(check));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ToString(ArtifactCheck::Result result) {
  switch (result) {
    case Result::kPassed:
      return "passed";
    case Result::kFailed:
      return "failed";
    case Result::kSkipped:
      return "skipped";
  }
  return "failed";
}

bool WantedByChecks(const VerifyConfig& verify, std::string_view path) {
  std::optional<std::string> asar =
      verify.asar.empty() ? std::nullopt : NormalizeArtifactPath(verify.asar);
  if (verify.NeedsAsar()) {
    if (asar ? path == *asar : IsAsarName(path)) return true;
    const std::string_view marker = ".unpacked/";
    if (asar) {
      if (path.starts_with(absl::StrCat(*asar, Absl(marker)))) return true;
    } else if (const size_t at = path.find(absl::StrCat(Absl(kAsarName), Absl(marker)));
               at != std::string_view::npos && (at == 0 || path[at - 1] == '/')) {
      return true;
    }
  }
  for (const BinaryCheck& binary : verify.binaries) {
    if (NormalizeArtifactPath(binary.path) == path) return true;
  }
  return false;
}

absl::StatusOr<std::vector<ArtifactCheck>> RunArtifactChecks(const VerifyConfig& verify,
                                                             const ArtifactFiles& files) {
  std::vector<ArtifactCheck> out;
  if (verify.NeedsAsar()) {
    absl::StatusOr<AsarState> asar = LoadAsar(verify, files);
    if (!asar.ok()) return asar.status();
    if (absl::Status s = CheckSymbols(verify, *asar, &out); !s.ok()) return s;
    if (absl::Status s = CheckAsarFiles(verify, *asar, &out); !s.ok()) return s;
  }
  if (absl::Status s = CheckBinaries(verify, files, &out); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<ArtifactCheck>> RunArtifactChecksOnFiles(
    const VerifyConfig& verify, std::map<std::string, std::string> files) {
  std::unique_ptr<ArtifactFiles> artifact = InMemoryArtifact("the VM's files", std::move(files));
  return RunArtifactChecks(verify, *artifact);
}

bool AllPassed(const std::vector<ArtifactCheck>& checks) {
  return std::all_of(checks.begin(), checks.end(),
                     [](const ArtifactCheck& c) { return c.result != Result::kFailed; });
}

}  // namespace mosdat

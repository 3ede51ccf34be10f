#include "core/artifact_files.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/asar_archive.h"
#include "core/elf_inspect.h"

namespace mosdat {
namespace {

constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

std::string BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

absl::Status NoSuchFile(const std::string& artifact, std::string_view path) {
  return absl::NotFoundError(absl::StrCat(artifact, ": has no file ", Absl(path)));
}

// ---------------------------------------------------------------------------

class MemoryArtifact : public ArtifactFiles {
 public:
  MemoryArtifact(std::string name, std::map<std::string, std::string> files,
                 std::map<std::string, std::string> links, std::vector<std::string> paths)
      : name_(std::move(name)),
        files_(std::move(files)),
        links_(std::move(links)),
        paths_(std::move(paths)) {}

  const std::string& name() const override { return name_; }
  std::vector<std::string> Paths() const override { return paths_; }
  absl::StatusOr<std::string> Read(std::string_view path) const override {
    std::optional<std::string> normal = NormalizeArtifactPath(path);
    if (!normal) return NoSuchFile(name_, path);
    if (auto it = files_.find(*normal); it != files_.end()) return it->second;
    if (auto it = links_.find(*normal); it != links_.end()) {
      return absl::NotFoundError(absl::StrCat(name_, ": ", *normal, " is a link to ", it->second,
                                              "; name the file itself"));
    }
    if (std::binary_search(paths_.begin(), paths_.end(), *normal)) {
      return absl::InternalError(
          absl::StrCat(name_, ": ", *normal, " was not kept while reading the package"));
    }
    return NoSuchFile(name_, path);
  }

 private:
  std::string name_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> links_;
  std::vector<std::string> paths_;
};

// A directory, read on demand, never following symbolic links out of it.
class DirectoryArtifact : public ArtifactFiles {
 public:
  DirectoryArtifact(std::string root, std::vector<std::string> paths)
      : root_(std::move(root)), name_(root_), paths_(std::move(paths)) {}
  const std::string& name() const override { return name_; }
  std::vector<std::string> Paths() const override { return paths_; }
  absl::StatusOr<std::string> Read(std::string_view path) const override {
    std::optional<std::string> normal = NormalizeArtifactPath(path);
    if (!normal) return NoSuchFile(name_, path);
    absl::StatusOr<std::string> data = ReadFileBeneath(root_, *normal, std::nullopt, kMaxFileBytes);
    if (absl::IsNotFound(data.status())) return NoSuchFile(name_, path);
    return data;
  }

 private:
  std::string root_;
  std::string name_;
  std::vector<std::string> paths_;
};

// One app.asar or ELF file; an asar's `.unpacked` directory next to it is readable too.
class SingleFileArtifact : public ArtifactFiles {
 public:
  explicit SingleFileArtifact(std::string path)
      : path_(std::move(path)),
        base_(BaseName(path_)),
        dir_(path_.substr(0, path_.size() - base_.size())) {
    if (dir_.empty()) dir_ = ".";
  }
  const std::string& name() const override { return path_; }
  bool single_file() const override { return true; }
  std::vector<std::string> Paths() const override { return {base_}; }
  absl::StatusOr<std::string> Read(std::string_view path) const override {
    std::optional<std::string> normal = NormalizeArtifactPath(path);
    if (!normal) return NoSuchFile(path_, path);
    const std::string unpacked = base_ + ".unpacked/";
    if (*normal == base_ || normal->starts_with(unpacked)) {
      return ReadFileBeneath(dir_, *normal, std::nullopt, kMaxFileBytes);
    }
    return NoSuchFile(path_, path);
  }

 private:
  std::string path_;
  std::string base_;
  std::string dir_;
};

// ---------------------------------------------------------------------------
// Archives, through libarchive: a .deb is an ar archive whose data.tar.* member is
// itself read as a stream, without extracting anything.

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

struct Collected {
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> links;
  std::vector<std::string> paths;
  uint64_t kept_bytes = 0;
};

absl::Status ArchiveError(const std::string& name, archive* a, std::string_view what) {
  const char* message = archive_error_string(a);
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": ", Absl(what), ": ", message != nullptr ? message : "unreadable"));
}

// Reads every entry of the opened `a` into `out`.
absl::Status CollectEntries(const std::string& name, archive* a, const WantedFile& wanted,
                            const ArtifactLimits& limits, Collected* out) {
  size_t entries = 0;
  archive_entry* entry = nullptr;
  while (true) {
    const int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(name, a, "corrupt archive");
    if (++entries > limits.max_entries) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": more than ", limits.max_entries, " entries; refusing it"));
    }
    const char* raw = archive_entry_pathname(entry);
    std::optional<std::string> path = raw != nullptr ? NormalizeArtifactPath(raw) : std::nullopt;
    if (!path) continue;  // "..", or empty: never what a check names
    if (const char* hard = archive_entry_hardlink(entry); hard != nullptr) {
      out->links[*path] = NormalizeArtifactPath(hard).value_or(hard);
      continue;
    }
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      out->links[*path] = target != nullptr ? target : "";
      continue;
    }
    if (type != AE_IFREG) continue;
    out->paths.push_back(*path);
    if (!wanted(*path)) continue;
    std::string data;
    if (archive_entry_size_is_set(entry)) {
      const int64_t size = archive_entry_size(entry);
      if (size < 0 || static_cast<uint64_t>(size) > limits.max_kept_bytes - out->kept_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrCat(name, ": ", *path, " is ", size, " bytes, past the limit of ",
                         limits.max_kept_bytes, " bytes for the files the checks read"));
      }
      data.reserve(static_cast<size_t>(size));
    }
    std::vector<char> buffer(64 * 1024);
    while (true) {
      const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) return ArchiveError(name, a, absl::StrCat("reading ", *path));
      out->kept_bytes += static_cast<uint64_t>(n);
      if (out->kept_bytes > limits.max_kept_bytes) {
        return absl::ResourceExhaustedError(
            absl::StrCat(name, ": the files the checks read pass the limit of ",
                         limits.max_kept_bytes, " bytes"));
      }
      data.append(buffer.data(), static_cast<size_t>(n));
    }
    out->files[*path] = std::move(data);
  }
  return absl::OkStatus();
}

ArchivePtr NewTarReader() {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  return a;
}

// The data.tar.* member of a .deb, read straight from the outer archive. The block is
// per reader, never thread_local: static TLS is carved from every thread's stack, and
// civetweb's (the /metrics server's) threads have only 100 KiB.
struct OuterMember {
  archive* outer;
  std::vector<char> block = std::vector<char>(64 * 1024);
};

la_ssize_t ReadFromOuter(archive*, void* client_data, const void** buffer) {
  auto* member = static_cast<OuterMember*>(client_data);
  const la_ssize_t n = archive_read_data(member->outer, member->block.data(), member->block.size());
  *buffer = member->block.data();
  return n;
}

absl::StatusOr<Collected> ReadDeb(const std::string& path, const WantedFile& wanted,
                                  const ArtifactLimits& limits) {
  ArchivePtr outer(archive_read_new());
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return ArchiveError(path, outer.get(), "not a readable .deb");
  }
  archive_entry* entry = nullptr;
  bool saw_data = false;
  Collected out;
  while (true) {
    const int r = archive_read_next_header(outer.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return ArchiveError(path, outer.get(), "corrupt .deb (ar archive)");
    }
    std::string member = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (member.ends_with("/")) member.pop_back();  // GNU ar's name terminator
    if (!member.starts_with("data.tar")) continue;
    saw_data = true;
    ArchivePtr inner = NewTarReader();
    OuterMember data_member{outer.get()};
    if (archive_read_open(inner.get(), &data_member, nullptr, ReadFromOuter, nullptr) !=
        ARCHIVE_OK) {
      return ArchiveError(absl::StrCat(path, " (", member, ")"), inner.get(), "corrupt data");
    }
    absl::Status s =
        CollectEntries(absl::StrCat(path, " (", member, ")"), inner.get(), wanted, limits, &out);
    if (!s.ok()) return s;
    break;
  }
  if (!saw_data) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a .deb with a data.tar.* member (the package's files)"));
  }
  return out;
}

absl::StatusOr<Collected> ReadTarball(const std::string& path, const WantedFile& wanted,
                                      const ArtifactLimits& limits) {
  ArchivePtr a = NewTarReader();
  if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return ArchiveError(path, a.get(),
                        "not a .deb, tarball, directory, app.asar or ELF file mOSdat can read");
  }
  Collected out;
  if (absl::Status s = CollectEntries(path, a.get(), wanted, limits, &out); !s.ok()) return s;
  return out;
}

std::unique_ptr<ArtifactFiles> FromCollected(std::string name, Collected collected) {
  std::sort(collected.paths.begin(), collected.paths.end());
  collected.paths.erase(std::unique(collected.paths.begin(), collected.paths.end()),
                        collected.paths.end());
  return std::make_unique<MemoryArtifact>(std::move(name), std::move(collected.files),
                                          std::move(collected.links), std::move(collected.paths));
}

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& root,
                                                       const ArtifactLimits& limits) {
  std::vector<std::string> out;
  std::error_code ec;
  namespace fs = std::filesystem;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (out.size() >= limits.max_entries) {
      return absl::InvalidArgumentError(
          absl::StrCat(root, ": more than ", limits.max_entries, " files; refusing it"));
    }
    out.push_back(fs::relative(it->path(), root, ec).generic_string());
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat(root, ": cannot list: ", ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::optional<std::string> NormalizeArtifactPath(std::string_view path) {
  std::string out;
  for (absl::string_view part : absl::StrSplit(Absl(path), '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return std::nullopt;
    if (!out.empty()) out += '/';
    out.append(part.data(), part.size());
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::unique_ptr<ArtifactFiles> InMemoryArtifact(std::string name,
                                                std::map<std::string, std::string> files) {
  Collected collected;
  for (auto& [path, data] : files) {
    std::optional<std::string> normal = NormalizeArtifactPath(path);
    if (!normal) continue;
    collected.paths.push_back(*normal);
    collected.files[*normal] = std::move(data);
  }
  return FromCollected(std::move(name), std::move(collected));
}

absl::StatusOr<std::unique_ptr<ArtifactFiles>> OpenArtifact(const std::string& path,
                                                            const WantedFile& wanted,
                                                            const ArtifactLimits& limits) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    absl::StatusOr<std::vector<std::string>> paths = ListDirectory(path, limits);
    if (!paths.ok()) return paths.status();
    return std::make_unique<DirectoryArtifact>(path, *std::move(paths));
  }
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError(absl::StrCat(path, ": not a file"));
  std::string head(16, '\0');
  {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", strerror(errno)));
    const ssize_t n = read(fd, head.data(), head.size());
    close(fd);
    head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  if (head.starts_with("!<arch>\n")) {
    absl::StatusOr<Collected> deb = ReadDeb(path, wanted, limits);
    if (!deb.ok()) return deb.status();
    return FromCollected(path, *std::move(deb));
  }
  // An asar starts with the uint32 4 (little-endian), an ELF file with "\x7fELF".
  if (LooksLikeElf(head) || head.starts_with(std::string_view("\x04\0\0\0", 4)) ||
      path.ends_with(".asar")) {
    return std::make_unique<SingleFileArtifact>(path);
  }
  absl::StatusOr<Collected> tarball = ReadTarball(path, wanted, limits);
  if (!tarball.ok()) return tarball.status();
  return FromCollected(path, *std::move(tarball));
}

}  // namespace mosdat

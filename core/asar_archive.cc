#include "core/asar_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/absl_compat.h"
#include "core/sha256.h"

namespace mosdat {

// ---------------------------------------------------------------------------
// Where the bytes come from: memory, or a file read with pread (a real app.asar is
// often 100+ MiB; only the header and the files asked for are read).

class AsarArchive::Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Exactly `length` bytes at `offset`; the caller has checked they are inside.
  virtual absl::StatusOr<std::string> ReadAt(uint64_t offset, uint64_t length) const = 0;
};

namespace {

using Json = nlohmann::json;

class MemorySource : public AsarArchive::Source {
 public:
  explicit MemorySource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  absl::StatusOr<std::string> ReadAt(uint64_t offset, uint64_t length) const override {
    return bytes_.substr(offset, length);
  }

 private:
  std::string bytes_;
};

class FileSource : public AsarArchive::Source {
 public:
  FileSource(int fd, uint64_t size, std::string name) : fd_(fd), size_(size), name_(name) {}
  ~FileSource() override { close(fd_); }
  uint64_t size() const override { return size_; }
  absl::StatusOr<std::string> ReadAt(uint64_t offset, uint64_t length) const override {
    std::string out(length, '\0');
    uint64_t done = 0;
    while (done < length) {
      ssize_t n = pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(absl::StrCat(name_, ": read: ", strerror(errno)));
      if (n == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(name_, ": the file shrank while being read (", offset + done,
                         " bytes where ", offset + length, " were expected)"));
      }
      done += static_cast<uint64_t>(n);
    }
    return out;
  }

 private:
  int fd_;
  uint64_t size_;
  std::string name_;
};

// "1 MiB", "4 GiB", "1644 bytes": sizes people can compare at a glance.
std::string HumanSize(uint64_t bytes) {
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return absl::StrCat(bytes, bytes == 1 ? " byte" : " bytes");
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  snprintf(text, sizeof text,
           value < 10 && value != static_cast<int>(value) ? "%.1f %s" : "%.0f %s", value,
           kUnits[unit]);
  return text;
}

// "200 bytes", "1644 bytes (1.6 KiB)": exact, with the size people compare at a glance.
std::string SizeText(uint64_t bytes) {
  if (bytes < 1024) return HumanSize(bytes);
  return absl::StrCat(bytes, " bytes (", HumanSize(bytes), ")");
}

uint32_t LittleEndian32(const std::string& bytes, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// The deepest {} / [] nesting of a JSON text (strings skipped), stopping early past
// `limit`: checked before parsing, so a hostile index cannot make the parser build a
// million nested values.
int JsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Splits a path from the archive's root into checked components. Leading "/" and "./"
// are accepted (people write both); "..", and "." inside, are not.
absl::StatusOr<std::vector<std::string>> PathComponents(std::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(Absl(path), '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", Absl(path), "\" goes up with \"..\"; paths stay inside the archive"));
    }
    out.emplace_back(part);
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < parts.size(); ++i) {
    if (!out.empty()) out += '/';
    out += parts[i];
  }
  return out;
}

// Reads the index tree into flat entries, iteratively (depth is bounded anyway).
class IndexReader {
 public:
  IndexReader(const std::string& name, uint64_t data_size, const AsarLimits& limits,
              std::vector<AsarEntry>* entries)
      : name_(name), data_size_(data_size), limits_(limits), entries_(entries) {}

  absl::Status ReadDirectory(const Json& dir, const std::string& path, int depth) {
    if (depth > limits_.max_depth) {
      return Error(path, absl::StrCat("directories nest deeper than ", limits_.max_depth,
                                      " levels; refusing the archive"));
    }
    const auto files = dir.find("files");
    if (files == dir.end() || !files->is_object()) {
      return Error(path, "a directory without a \"files\" object");
    }
    for (const auto& [name, child] : files->items()) {
      if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
          name.find('\0') != std::string::npos) {
        return Error(path, absl::StrCat("holds an entry named \"", name,
                                        "\"; names must not be empty, \".\", \"..\" or hold "
                                        "'/'"));
      }
      if (entries_->size() >= limits_.max_entries) {
        return Error("", absl::StrCat("the index lists more than ", limits_.max_entries,
                                      " entries; refusing the archive"));
      }
      const std::string child_path = path.empty() ? name : absl::StrCat(path, "/", name);
      if (!child.is_object()) return Error(child_path, "an index entry that is not an object");
      if (child.contains("files")) {
        entries_->push_back({.path = child_path, .kind = AsarEntry::Kind::kDirectory});
        if (absl::Status s = ReadDirectory(child, child_path, depth + 1); !s.ok()) return s;
      } else if (child.contains("link")) {
        if (absl::Status s = ReadLink(child, child_path); !s.ok()) return s;
      } else {
        if (absl::Status s = ReadFile(child, child_path); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const std::string& path, std::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": ", path.empty() ? "" : absl::StrCat(path, ": "), Absl(message)));
  }

  absl::Status ReadLink(const Json& node, const std::string& path) {
    const Json& link = node["link"];
    if (!link.is_string()) return Error(path, "\"link\" is not a string");
    const std::string target = link.get<std::string>();
    if (target.starts_with("/")) {
      return Error(path, absl::StrCat("links to the absolute path \"", target,
                                      "\"; links must stay inside the archive"));
    }
    // The target counts from the archive's root and must not climb out of it.
    absl::StatusOr<std::vector<std::string>> parts = PathComponents(target);
    if (!parts.ok() || parts->empty()) {
      return Error(path, absl::StrCat("links to \"", target,
                                      "\", outside the archive; links must stay inside it"));
    }
    entries_->push_back(
        {.path = path, .kind = AsarEntry::Kind::kLink, .link = Join(*parts, parts->size())});
    return absl::OkStatus();
  }

  absl::Status ReadFile(const Json& node, const std::string& path) {
    AsarEntry entry{.path = path, .kind = AsarEntry::Kind::kFile};
    const auto size = node.find("size");
    if (size == node.end() || !size->is_number_unsigned()) {
      return Error(path, "a file without a \"size\" (a non-negative integer)");
    }
    entry.size = size->get<uint64_t>();
    if (const auto unpacked = node.find("unpacked"); unpacked != node.end()) {
      if (!unpacked->is_boolean()) return Error(path, "\"unpacked\" is not true or false");
      entry.unpacked = unpacked->get<bool>();
    }
    if (const auto executable = node.find("executable"); executable != node.end()) {
      if (!executable->is_boolean()) return Error(path, "\"executable\" is not true or false");
      entry.executable = executable->get<bool>();
    }
    if (!entry.unpacked) {
      const auto offset = node.find("offset");
      if (offset == node.end() || !offset->is_string() ||
          !absl::SimpleAtoi(offset->get<std::string>(), &entry.offset) ||
          offset->get<std::string>().find_first_not_of("0123456789") != std::string::npos) {
        return Error(path, "a packed file without an \"offset\" (a decimal string)");
      }
      if (entry.offset > data_size_ || entry.size > data_size_ - entry.offset) {
        return Error(path, absl::StrCat("the header says ", SizeText(entry.size), " at offset ",
                                        entry.offset, " but the archive's data is only ",
                                        SizeText(data_size_)));
      }
    }
    if (const auto integrity = node.find("integrity"); integrity != node.end()) {
      absl::StatusOr<AsarIntegrity> read = ReadIntegrity(*integrity, path, entry.size);
      if (!read.ok()) return read.status();
      entry.integrity = *std::move(read);
    }
    entries_->push_back(std::move(entry));
    return absl::OkStatus();
  }

  absl::StatusOr<AsarIntegrity> ReadIntegrity(const Json& node, const std::string& path,
                                              uint64_t size) const {
    if (!node.is_object()) return Error(path, "\"integrity\" is not an object");
    AsarIntegrity out;
    const auto algorithm = node.find("algorithm");
    const auto hash = node.find("hash");
    const auto block_size = node.find("blockSize");
    const auto blocks = node.find("blocks");
    if (algorithm == node.end() || !algorithm->is_string() ||
        algorithm->get<std::string>() != "SHA256") {
      return Error(path, "\"integrity\" has an algorithm other than \"SHA256\"");
    }
    out.algorithm = "SHA256";
    if (hash == node.end() || !hash->is_string() || hash->get<std::string>().size() != 64 ||
        !IsHex(hash->get<std::string>())) {
      return Error(path, "\"integrity\" has no \"hash\" of 64 hex digits");
    }
    out.hash = Lower(hash->get<std::string>());
    if (block_size != node.end() || blocks != node.end()) {
      if (block_size == node.end() || !block_size->is_number_unsigned() ||
          block_size->get<uint64_t>() == 0 || blocks == node.end() || !blocks->is_array()) {
        return Error(path,
                     "\"integrity\" needs both \"blockSize\" (a positive integer) and "
                     "\"blocks\" (an array)");
      }
      out.block_size = block_size->get<uint64_t>();
      const uint64_t expected = size == 0 ? 0 : (size - 1) / out.block_size + 1;
      // An empty file has one (empty) block in @electron/asar's output, or none.
      if (blocks->size() != expected && !(size == 0 && blocks->size() == 1)) {
        return Error(path,
                     absl::StrCat("\"integrity\" lists ", blocks->size(), " blocks, but a file of ",
                                  size, " bytes in blocks of ", out.block_size, " has ", expected));
      }
      for (const Json& block : *blocks) {
        if (!block.is_string() || block.get<std::string>().size() != 64 ||
            !IsHex(block.get<std::string>())) {
          return Error(path, "\"integrity\" has a block hash that is not 64 hex digits");
        }
        out.blocks.push_back(Lower(block.get<std::string>()));
      }
    }
    return out;
  }

  const std::string& name_;
  uint64_t data_size_;
  const AsarLimits& limits_;
  std::vector<AsarEntry>* entries_;
};

}  // namespace

// ---------------------------------------------------------------------------

absl::StatusOr<AsarArchive> AsarArchive::Open(const std::string& path, const AsarLimits& limits) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", strerror(errno)));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  auto source = std::make_shared<FileSource>(fd, static_cast<uint64_t>(st.st_size), path);
  const std::string unpacked_root = path + ".unpacked";
  UnpackedReader unpacked = [unpacked_root](const std::string& relative, uint64_t size) {
    return ReadFileBeneath(unpacked_root, relative, size);
  };
  return Parse(std::move(source), path, std::move(unpacked), limits);
}

absl::StatusOr<AsarArchive> AsarArchive::FromBytes(std::string bytes, std::string name,
                                                   UnpackedReader unpacked,
                                                   const AsarLimits& limits) {
  return Parse(std::make_shared<MemorySource>(std::move(bytes)), std::move(name),
               std::move(unpacked), limits);
}

absl::StatusOr<AsarArchive> AsarArchive::Parse(std::shared_ptr<const Source> source,
                                               std::string name, UnpackedReader unpacked,
                                               const AsarLimits& limits) {
  auto error = [&](std::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", Absl(message)));
  };
  const uint64_t file_size = source->size();
  if (file_size < 16) {
    return error(absl::StrCat("too short for an asar archive (", file_size,
                              " bytes; its header alone takes at least 16)"));
  }
  absl::StatusOr<std::string> prefix = source->ReadAt(0, 16);
  if (!prefix.ok()) return prefix.status();
  if (LittleEndian32(*prefix, 0) != 4) {
    return error(absl::StrCat("not an asar archive (it starts with ", LittleEndian32(*prefix, 0),
                              ", asar archives with 4)"));
  }
  const uint64_t header_size = LittleEndian32(*prefix, 4);
  if (header_size > file_size - 8) {
    return error(absl::StrCat("the header says it is ", SizeText(header_size), " but the file has ",
                              SizeText(file_size)));
  }
  if (header_size > limits.max_header_bytes) {
    return error(absl::StrCat("the header is ", HumanSize(header_size), ", over the limit of ",
                              HumanSize(limits.max_header_bytes)));
  }
  const uint64_t payload_size = LittleEndian32(*prefix, 8);
  const uint64_t json_size = LittleEndian32(*prefix, 12);
  if (header_size < 8 || payload_size > header_size - 4 || json_size > payload_size - 4 ||
      payload_size < 4) {
    return error(absl::StrCat("its header pickle is inconsistent (header ", header_size,
                              " bytes, payload ", payload_size, ", index ", json_size, ")"));
  }
  absl::StatusOr<std::string> json_text = source->ReadAt(16, json_size);
  if (!json_text.ok()) return json_text.status();
  // Each directory level is two JSON levels ({"files": {...}}), integrity one or two more.
  if (JsonDepth(*json_text, 2 * limits.max_depth + 8) > 2 * limits.max_depth + 8) {
    return error(absl::StrCat("its index nests deeper than ", limits.max_depth,
                              " directories; refusing the archive"));
  }
  Json index;
  try {
    index = Json::parse(*json_text);
  } catch (const Json::exception& e) {
    return error(absl::StrCat("its index is not valid JSON: ", e.what()));
  }
  if (!index.is_object()) return error("its index is not a JSON object");

  AsarArchive archive;
  archive.name_ = std::move(name);
  archive.source_ = std::move(source);
  archive.unpacked_ = std::move(unpacked);
  archive.limits_ = limits;
  archive.data_offset_ = 8 + header_size;
  IndexReader reader(archive.name_, file_size - archive.data_offset_, limits, &archive.entries_);
  if (absl::Status s = reader.ReadDirectory(index, "", 0); !s.ok()) return s;
  for (size_t i = 0; i < archive.entries_.size(); ++i) {
    archive.by_path_.emplace(archive.entries_[i].path, i);
  }
  return archive;
}

const AsarEntry* AsarArchive::Find(std::string_view path) const {
  absl::StatusOr<std::vector<std::string>> parts = PathComponents(path);
  if (!parts.ok()) return nullptr;
  // Walks the path, replacing a link's part of it with its target; a bounded number of
  // hops, as links may form loops.
  int hops = 0;
  for (size_t i = 1; i <= parts->size(); ++i) {
    const auto it = by_path_.find(Join(*parts, i));
    if (it == by_path_.end()) return nullptr;
    const AsarEntry& entry = entries_[it->second];
    if (entry.kind != AsarEntry::Kind::kLink) {
      if (i == parts->size()) return &entry;
      if (entry.kind != AsarEntry::Kind::kDirectory) return nullptr;
      continue;
    }
    if (++hops > 40) return nullptr;
    std::vector<std::string> resolved = *PathComponents(entry.link);
    const size_t target_length = resolved.size();
    resolved.insert(resolved.end(), parts->begin() + static_cast<ptrdiff_t>(i), parts->end());
    *parts = std::move(resolved);
    if (target_length == 0) return nullptr;
    i = 0;  // walk the new path from its start: the target may go through links too
  }
  return nullptr;
}

absl::StatusOr<std::string> AsarArchive::Read(std::string_view path) const {
  const AsarEntry* entry = Find(path);
  if (entry == nullptr) {
    return absl::NotFoundError(absl::StrCat(name_, ": no file ", Absl(path), " in the archive"));
  }
  if (entry->kind != AsarEntry::Kind::kFile) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": ", Absl(path), " is a directory, not a file"));
  }
  return ReadEntry(*entry);
}

absl::StatusOr<std::string> AsarArchive::ReadEntry(const AsarEntry& entry) const {
  if (entry.size > limits_.max_read_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name_, ": ", entry.path, " is ", HumanSize(entry.size), ", over the limit of ",
                     HumanSize(limits_.max_read_bytes), " for one file"));
  }
  absl::StatusOr<std::string> data;
  if (entry.unpacked) {
    if (!unpacked_) {
      return absl::FailedPreconditionError(absl::StrCat(name_, ": ", entry.path,
                                                        " is unpacked (it lives in ", name_,
                                                        ".unpacked/), which was not given"));
    }
    data = unpacked_(entry.path, entry.size);
  } else {
    data = source_->ReadAt(data_offset_ + entry.offset, entry.size);
  }
  if (!data.ok()) return data.status();
  if (entry.integrity.has_value()) {
    const AsarIntegrity& integrity = *entry.integrity;
    if (Sha256Hex(*data) != integrity.hash) {
      return absl::DataLossError(absl::StrCat(name_, ": ", entry.path,
                                              " does not match its SHA256 integrity hash in the "
                                              "header (the archive is corrupt or was altered)"));
    }
    for (size_t i = 0; i < integrity.blocks.size() && integrity.block_size > 0; ++i) {
      const uint64_t start = i * integrity.block_size;
      if (start > data->size()) break;
      if (Sha256Hex(std::string_view(*data).substr(start, integrity.block_size)) !=
          integrity.blocks[i]) {
        return absl::DataLossError(absl::StrCat(name_, ": ", entry.path, ": block ", i,
                                                " does not match its SHA256 integrity hash"));
      }
    }
  }
  return data;
}

absl::StatusOr<std::string> ReadFileBeneath(const std::string& root, const std::string& relative,
                                            std::optional<uint64_t> size, uint64_t max_bytes) {
  absl::StatusOr<std::vector<std::string>> parts = PathComponents(relative);
  if (!parts.ok()) return absl::InvalidArgumentError(parts.status().message());
  if (parts->empty() || relative.starts_with("/")) {
    return absl::InvalidArgumentError(absl::StrCat("\"", relative, "\" is not a relative path"));
  }
  const std::string shown = absl::StrCat(root, "/", relative);
  int dir = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return absl::NotFoundError(absl::StrCat(root, ": cannot open: ", strerror(errno)));
  for (size_t i = 0; i < parts->size(); ++i) {
    const bool last = i + 1 == parts->size();
    const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY);
    const int next = openat(dir, (*parts)[i].c_str(), flags);
    const int saved = errno;
    close(dir);
    if (next < 0) {
      if (saved == ELOOP || (saved == ENOTDIR && !last)) {
        return absl::InvalidArgumentError(
            absl::StrCat(shown,
                         ": a symbolic link or non-directory is on the way; only plain files and "
                         "directories are read there"));
      }
      return absl::NotFoundError(absl::StrCat(shown, ": cannot open: ", strerror(saved)));
    }
    dir = next;
  }
  struct stat st {};
  if (fstat(dir, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(dir);
    return absl::InvalidArgumentError(absl::StrCat(shown, ": not a regular file"));
  }
  const auto actual = static_cast<uint64_t>(st.st_size);
  if (size.has_value() && actual != *size) {
    close(dir);
    return absl::InvalidArgumentError(
        absl::StrCat(shown, ": is ", actual, " bytes but the archive's header says ", *size));
  }
  if (actual > max_bytes) {
    close(dir);
    return absl::ResourceExhaustedError(absl::StrCat(shown, ": is ", HumanSize(actual),
                                                     ", over the limit of ", HumanSize(max_bytes)));
  }
  FileSource file(dir, actual, shown);  // closes `dir`
  return file.ReadAt(0, actual);
}

}  // namespace mosdat

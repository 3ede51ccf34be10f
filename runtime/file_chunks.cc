#include "runtime/file_chunks.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mosdat {

bool WriteFileChunks(const std::map<std::string, std::string>& files,
                     const std::function<bool(const v1::FileChunk&)>& write) {
  for (const auto& [path, contents] : files) {
    size_t offset = 0;
    do {
      v1::FileChunk chunk;
      chunk.set_path(path);
      chunk.set_first(offset == 0);
      if (offset == 0) chunk.set_size(contents.size());
      size_t n = std::min(kFileChunkBytes, contents.size() - offset);
      chunk.set_data(contents.substr(offset, n));
      offset += n;
      if (!write(chunk)) return false;
    } while (offset < contents.size());
  }
  return true;
}

namespace {

namespace fs = std::filesystem;

std::string Errno() { return std::strerror(errno); }

// Sends one file, read as it goes; `size` is what the first chunk announced.
absl::Status SendFile(const fs::path& path, const std::string& name, uint64_t size,
                      const std::function<bool(const v1::FileChunk&)>& write) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("cannot open ", path.string(), ": ", Errno()));
  std::string buffer;
  uint64_t sent = 0;
  absl::Status status;
  do {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kFileChunkBytes, size - sent));
    buffer.resize(want);
    size_t got = 0;
    while (got < want) {
      const ssize_t n = read(fd, buffer.data() + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got < want) {
      status = absl::DataLossError(absl::StrCat(path.string(), " ended after ", sent + got,
                                                " of its ", size, " bytes while it was sent"));
      break;
    }
    v1::FileChunk chunk;
    chunk.set_path(name);
    chunk.set_first(sent == 0);
    if (sent == 0) chunk.set_size(size);
    chunk.set_data(buffer);
    sent += want;
    if (!write(chunk)) {
      status = absl::CancelledError("the stream broke");
      break;
    }
  } while (sent < size);
  close(fd);
  return status;
}

// A path a peer may name: relative, plain components, no way out of the root.
absl::Status CheckRelativePath(const std::string& path) {
  constexpr size_t kMaxPath = 4096;
  bool plain = !path.empty() && path.size() <= kMaxPath &&
               path.find_first_of(std::string("\\\0", 2)) == std::string::npos;
  if (plain) {
    for (absl::string_view part : absl::StrSplit(path, '/')) {
      if (part.empty() || part == "." || part == "..") plain = false;
    }
  }
  if (plain) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("the file path \"", path.substr(0, 200), "\" is not a plain relative path"));
}

}  // namespace

absl::Status SendDirectoryChunks(const std::string& root,
                                 const std::function<bool(const v1::FileChunk&)>& write) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return absl::NotFoundError(absl::StrCat(root, " is not a directory"));
  }
  std::vector<std::pair<std::string, fs::path>> files;  // relative name, path
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    // symlink_status: a link is neither followed nor sent.
    if (!fs::is_regular_file(it->symlink_status(error))) continue;
    files.emplace_back(it->path().lexically_relative(root).generic_string(), it->path());
  }
  if (error) {
    return absl::InternalError(absl::StrCat("cannot list ", root, ": ", error.message()));
  }
  std::sort(files.begin(), files.end());
  for (const auto& [name, path] : files) {
    const uint64_t size = fs::file_size(path, error);
    if (error == std::errc::no_such_file_or_directory) continue;  // gone since it was listed
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot read ", path.string(), ": ", error.message()));
    }
    if (absl::Status s = SendFile(path, name, size, write); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ChunkSequence::CurrentComplete() const {
  if (received_ == expected_) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("file \"", current_, "\" ended after ", received_, " of ", expected_, " bytes"));
}

absl::Status ChunkSequence::Accept(const v1::FileChunk& chunk) {
  if (chunk.first()) {
    if (absl::Status s = CurrentComplete(); !s.ok()) return s;
    if (chunk.path().empty()) return absl::InvalidArgumentError("a file chunk has no path");
    if (seen_.contains(chunk.path())) {
      return absl::InvalidArgumentError(absl::StrCat("file \"", chunk.path(), "\" was sent twice"));
    }
    if (files_ >= max_files_) {
      return absl::ResourceExhaustedError(
          absl::StrCat(what_, " are more than the limit of ", max_files_, " files"));
    }
    if (chunk.size() > max_bytes_ - total_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          what_, " are larger than the limit of ", max_bytes_, " bytes (\"", chunk.path(),
          "\" alone is ", chunk.size(), " bytes, after ", total_, " bytes of other files)"));
    }
    seen_.insert(chunk.path());
    current_ = chunk.path();
    expected_ = chunk.size();
    received_ = 0;
    total_ += expected_;
    ++files_;
  } else if (current_.empty() || chunk.path() != current_) {
    return absl::InvalidArgumentError(
        absl::StrCat("a chunk of \"", chunk.path().substr(0, 200), "\" arrived out of order"));
  }
  if (chunk.data().size() > expected_ - received_) {
    return absl::InvalidArgumentError(
        absl::StrCat("file \"", current_, "\" is longer than the announced ", expected_, " bytes"));
  }
  received_ += chunk.data().size();
  return absl::OkStatus();
}

FileChunkWriter::~FileChunkWriter() {
  if (fd_ >= 0) close(fd_);
}

absl::Status FileChunkWriter::CloseCurrent() {
  if (fd_ < 0) return absl::OkStatus();
  if (close(std::exchange(fd_, -1)) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", current_, ": ", Errno()));
  }
  return absl::OkStatus();
}

absl::Status FileChunkWriter::Add(const v1::FileChunk& chunk) {
  if (chunk.first()) {
    if (absl::Status s = CheckRelativePath(chunk.path()); !s.ok()) return s;
  }
  if (absl::Status s = sequence_.Accept(chunk); !s.ok()) return s;
  if (chunk.first()) {
    if (absl::Status s = CloseCurrent(); !s.ok()) return s;
    const fs::path path = fs::path(root_) / chunk.path();
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", path.parent_path().string(), ": ", error.message()));
    }
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return absl::InternalError(absl::StrCat("cannot write ", path.string(), ": ", Errno()));
    }
    current_ = chunk.path();
  }
  const std::string& data = chunk.data();
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("cannot write ", current_, ": ", Errno()));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FileChunkWriter::Finish() {
  if (absl::Status s = sequence_.CurrentComplete(); !s.ok()) return s;
  return CloseCurrent();
}

absl::Status FileAssembler::Add(const v1::FileChunk& chunk) {
  if (absl::Status s = sequence_.Accept(chunk); !s.ok()) return s;
  if (chunk.first()) {
    current_ = &files_[chunk.path()];
    current_->reserve(chunk.size());
  }
  current_->append(chunk.data());
  return absl::OkStatus();
}

absl::Status FileAssembler::Finish(std::map<std::string, std::string>* files) {
  if (absl::Status s = sequence_.CurrentComplete(); !s.ok()) return s;
  *files = std::move(files_);
  files_.clear();
  current_ = nullptr;
  sequence_ = ChunkSequence(kWhat, limit_, SIZE_MAX);
  return absl::OkStatus();
}

}  // namespace mosdat

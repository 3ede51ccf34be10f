#include "runtime/file_chunks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

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

absl::Status FileAssembler::Add(const v1::FileChunk& chunk) {
  if (chunk.first()) {
    if (!current_.empty() && files_[current_].size() != expected_) {
      return absl::InvalidArgumentError(absl::StrCat("file \"", current_, "\" ended after ",
                                                     files_[current_].size(), " of ", expected_,
                                                     " bytes"));
    }
    if (chunk.path().empty()) return absl::InvalidArgumentError("a file chunk has no path");
    if (files_.contains(chunk.path())) {
      return absl::InvalidArgumentError(absl::StrCat("file \"", chunk.path(), "\" was sent twice"));
    }
    if (chunk.size() > limit_ - total_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the job files are larger than the limit of ", limit_, " bytes (\"", chunk.path(),
          "\" alone is ", chunk.size(), " bytes, after ", total_, " bytes of other files)"));
    }
    current_ = chunk.path();
    expected_ = chunk.size();
    total_ += expected_;
    files_[current_].reserve(expected_);
  } else if (chunk.path() != current_ || current_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a chunk of \"", chunk.path(), "\" arrived out of order"));
  }
  std::string& file = files_[current_];
  if (chunk.data().size() > expected_ - file.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("file \"", current_, "\" is longer than the announced ", expected_, " bytes"));
  }
  file.append(chunk.data());
  return absl::OkStatus();
}

absl::Status FileAssembler::Finish(std::map<std::string, std::string>* files) {
  if (!current_.empty() && files_[current_].size() != expected_) {
    return absl::InvalidArgumentError(absl::StrCat("file \"", current_, "\" ended after ",
                                                   files_[current_].size(), " of ", expected_,
                                                   " bytes"));
  }
  *files = std::move(files_);
  files_.clear();
  current_.clear();
  total_ = 0;
  return absl::OkStatus();
}

}  // namespace mosdat

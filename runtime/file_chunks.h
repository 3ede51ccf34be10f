// Job files on the wire: a suite's scenarios, fragments and reference images travel as
// a stream of FileChunk messages (CLI → coordinator → agent), so their total size is
// bound by kMaxJobFilesBytes, not by gRPC's 4 MB message limit.
#ifndef MOSDAT_RUNTIME_FILE_CHUNKS_H_
#define MOSDAT_RUNTIME_FILE_CHUNKS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "mosdat/v1/coordinator.pb.h"

namespace mosdat {

// Bytes per chunk: well below gRPC's default 4 MB receive limit.
inline constexpr size_t kFileChunkBytes = 1 << 20;

// Sends every file as chunks of at most kFileChunkBytes, in path order; false as soon
// as `write` returns false (the stream broke).
bool WriteFileChunks(const std::map<std::string, std::string>& files,
                     const std::function<bool(const v1::FileChunk&)>& write);

// Sends every regular file under `root` (recursively, in path order; symbolic links and
// other special files are skipped, never followed) as chunks, each path relative to
// `root` and "/"-separated. Files are read from disk as they are sent, so memory holds
// one chunk. Cancelled when `write` returns false (the stream broke); NotFound when
// `root` is not a directory; DataLoss when a file shrinks while it is sent.
absl::Status SendDirectoryChunks(const std::string& root,
                                 const std::function<bool(const v1::FileChunk&)>& write);

// Writes chunks (from SendDirectoryChunks on an untrusted peer) as files under `root`,
// creating directories as needed. Each path must be relative and plain: no empty, "."
// or ".." component, no backslash or NUL, at most 4096 bytes. The same order and size
// checks as FileAssembler; at most `max_bytes` bytes and `max_files` files in all. A
// refused chunk leaves the files written before it.
class FileChunkWriter {
 public:
  FileChunkWriter(std::string root, uint64_t max_bytes, size_t max_files);
  ~FileChunkWriter();
  FileChunkWriter(const FileChunkWriter&) = delete;
  FileChunkWriter& operator=(const FileChunkWriter&) = delete;

  absl::Status Add(const v1::FileChunk& chunk);
  // InvalidArgument when the last file is incomplete.
  absl::Status Finish();
  size_t files() const { return files_; }
  uint64_t bytes() const { return total_; }

 private:
  absl::Status CloseCurrent();
  std::string root_;
  uint64_t max_bytes_;
  size_t max_files_;
  uint64_t total_ = 0;
  size_t files_ = 0;
  std::set<std::string> seen_;
  std::string current_;  // path of the file being received
  int fd_ = -1;
  uint64_t expected_ = 0;
  uint64_t written_ = 0;
};

// Reassembles chunks into files, refusing (InvalidArgument / ResourceExhausted) chunks
// out of order, a file sent twice, sizes that do not add up, and more than `limit`
// bytes in total, before the memory is taken.
class FileAssembler {
 public:
  explicit FileAssembler(size_t limit) : limit_(limit) {}

  absl::Status Add(const v1::FileChunk& chunk);
  // The files, once the last one is complete; InvalidArgument when it is not.
  absl::Status Finish(std::map<std::string, std::string>* files);

 private:
  size_t limit_;
  size_t total_ = 0;
  std::string current_;  // path of the file being received
  size_t expected_ = 0;  // its announced size
  std::map<std::string, std::string> files_;
};

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_FILE_CHUNKS_H_

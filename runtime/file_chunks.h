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
#include <utility>

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

// The rules a chunk stream keeps, whoever stores its bytes: a file begins with a `first`
// chunk that names it and announces its size, its other chunks follow in order and add
// up to that size, no file comes twice, and the files stay within `max_bytes` and
// `max_files` (`what` names them in that error: "the job files"). Refusals are
// InvalidArgument / ResourceExhausted, said before the bytes are taken.
class ChunkSequence {
 public:
  ChunkSequence(std::string what, uint64_t max_bytes, size_t max_files)
      : what_(std::move(what)), max_bytes_(max_bytes), max_files_(max_files) {}

  // Checks `chunk` against the stream so far and counts it; the caller then stores its
  // data (a `first` chunk's in a new file at its path).
  absl::Status Accept(const v1::FileChunk& chunk);
  // InvalidArgument when the file under way has not all its bytes.
  absl::Status CurrentComplete() const;
  size_t files() const { return files_; }
  uint64_t bytes() const { return total_; }

 private:
  std::string what_;
  uint64_t max_bytes_;
  size_t max_files_;
  uint64_t total_ = 0;
  size_t files_ = 0;
  std::set<std::string> seen_;
  std::string current_;    // path of the file being received
  uint64_t expected_ = 0;  // its announced size
  uint64_t received_ = 0;
};

// Writes chunks (from SendDirectoryChunks on an untrusted peer) as files under `root`,
// creating directories as needed. Each path must be relative and plain: no empty, "."
// or ".." component, no backslash or NUL, at most 4096 bytes. The ChunkSequence rules,
// at most `max_bytes` bytes and `max_files` files in all. A refused chunk leaves the
// files written before it.
class FileChunkWriter {
 public:
  FileChunkWriter(std::string root, uint64_t max_bytes, size_t max_files)
      : root_(std::move(root)), sequence_("the files", max_bytes, max_files) {}
  ~FileChunkWriter();
  FileChunkWriter(const FileChunkWriter&) = delete;
  FileChunkWriter& operator=(const FileChunkWriter&) = delete;

  absl::Status Add(const v1::FileChunk& chunk);
  // InvalidArgument when the last file is incomplete.
  absl::Status Finish();
  size_t files() const { return sequence_.files(); }
  uint64_t bytes() const { return sequence_.bytes(); }

 private:
  absl::Status CloseCurrent();
  std::string root_;
  ChunkSequence sequence_;
  std::string current_;  // path of the open file
  int fd_ = -1;
};

// Reassembles chunks into files in memory, by the ChunkSequence rules with at most
// `limit` bytes in total.
class FileAssembler {
 public:
  explicit FileAssembler(size_t limit) : limit_(limit), sequence_(kWhat, limit, SIZE_MAX) {}

  absl::Status Add(const v1::FileChunk& chunk);
  // The files, once the last one is complete; InvalidArgument when it is not.
  absl::Status Finish(std::map<std::string, std::string>* files);

 private:
  static constexpr char kWhat[] = "the job files";
  size_t limit_;
  ChunkSequence sequence_;
  std::string* current_ = nullptr;  // the file being received, in files_
  std::map<std::string, std::string> files_;
};

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_FILE_CHUNKS_H_

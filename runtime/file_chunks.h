// Job files on the wire: a suite's scenarios, fragments and reference images travel as
// a stream of FileChunk messages (CLI → coordinator → agent), so their total size is
// bound by kMaxJobFilesBytes, not by gRPC's 4 MB message limit.
#ifndef MOSDAT_RUNTIME_FILE_CHUNKS_H_
#define MOSDAT_RUNTIME_FILE_CHUNKS_H_

#include <cstddef>
#include <functional>
#include <map>
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

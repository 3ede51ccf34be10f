// A run's evidence copied from a coordinator on another machine (cli/evidence_fetch.h
// says when): the files FetchEvidence streams are written under
// <results_root>/functional/<run id>/ and the run's paths are pointed there. The
// coordinator is a peer, so what it says is checked: the run id must be a plain name,
// every file stays inside the copy (FileChunkWriter), and a job or attempt path outside
// the run's directory is dropped rather than read as evidence.
#ifndef MOSDAT_RUNTIME_EVIDENCE_COPY_H_
#define MOSDAT_RUNTIME_EVIDENCE_COPY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "mosdat/v1/coordinator.pb.h"

namespace mosdat {

// What one copy may bring: bounded, whatever the coordinator sends.
inline constexpr uint64_t kMaxEvidenceBytes = uint64_t{16} << 30;
inline constexpr size_t kMaxEvidenceFiles = 500000;

// Written into every copy: a directory without it (an embedded run's own results) is
// never replaced by a copy.
inline constexpr char kEvidenceCopyMarker[] = ".mosdat-copy";

struct CopiedEvidence {
  size_t files = 0;  // 0: the coordinator had none; nothing changed
  uint64_t bytes = 0;
};

// `next` fills in the stream's next chunk (false at its end); `finish(cancel)` ends the
// stream and says how it ended, called once, with cancel = true when a chunk was refused.
// All or nothing: the copy is assembled beside its place and swapped in only when whole
// (an earlier copy of the run is replaced, kept if the swap fails); on any error nothing
// changes, `run` included. Stale partial copies of the run (their process gone) go.
absl::StatusOr<CopiedEvidence> CopyRunEvidence(const std::function<bool(v1::FileChunk*)>& next,
                                               const std::function<absl::Status(bool)>& finish,
                                               const std::string& results_root, v1::Run* run);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_EVIDENCE_COPY_H_

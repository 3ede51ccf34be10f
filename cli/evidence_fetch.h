// Evidence from a coordinator on another machine. A run's results directory (events,
// screenshots, junit.xml, recordings) is where the coordinator wrote it, on its own
// machine; a CLI elsewhere copies it over FetchEvidence to
// <results_root>/functional/<run id>/ and points the run's results paths (the run's, its
// jobs' and their attempts') at the copy, so the summary, `confirm`'s report and the
// trace links read local files. When the run's directory is already visible here (the
// coordinator runs on this machine, or the results are on a shared filesystem), nothing
// is copied.
#ifndef MOSDAT_CLI_EVIDENCE_FETCH_H_
#define MOSDAT_CLI_EVIDENCE_FETCH_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "mosdat/v1/coordinator.grpc.pb.h"

namespace mosdat {

// What one fetch may bring: a coordinator is a peer, and its answer is bounded.
inline constexpr uint64_t kMaxEvidenceBytes = uint64_t{16} << 30;
inline constexpr size_t kMaxEvidenceFiles = 500000;

struct FetchedEvidence {
  bool copied = false;  // false: the run's directory was already here
  size_t files = 0;
  uint64_t bytes = 0;
};

// All or nothing: the copy is assembled beside its place and moved there only when
// complete (replacing an earlier copy of the same run); on an error nothing changes,
// `run` included.
absl::StatusOr<FetchedEvidence> FetchRunEvidence(v1::Coordinator::Stub& coordinator,
                                                 const std::string& token,
                                                 const std::string& results_root, v1::Run* run);

// FetchRunEvidence, said on stderr: what was copied where, or why not (a warning: the
// run's verdict stands, and its paths stay the coordinator's).
void FetchRunEvidenceSaying(v1::Coordinator::Stub& coordinator, const std::string& token,
                            const std::string& results_root, const std::string& command,
                            v1::Run* run);

}  // namespace mosdat

#endif  // MOSDAT_CLI_EVIDENCE_FETCH_H_

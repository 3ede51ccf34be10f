// Evidence from a coordinator on another machine. A run's results directory (events,
// screenshots, junit.xml, recordings) is where the coordinator wrote it, on its own
// machine; a CLI elsewhere copies it over FetchEvidence (runtime/evidence_copy.h: to
// <results_root>/functional/<run id>/, all or nothing) and points the run's results
// paths at the copy, so the summary, `confirm`'s report and the trace links read local
// files. When the run's directory is already visible here (the coordinator runs on this
// machine, or the results are on a shared filesystem), nothing is copied.
#ifndef MOSDAT_CLI_EVIDENCE_FETCH_H_
#define MOSDAT_CLI_EVIDENCE_FETCH_H_

#include <string>

#include "mosdat/v1/coordinator.grpc.pb.h"

namespace mosdat {

// Fetches and copies, and says on stderr what was copied where, or why not (a warning:
// the run's verdict stands, and its paths stay the coordinator's).
void FetchRunEvidenceSaying(v1::Coordinator::Stub& coordinator, const std::string& token,
                            const std::string& results_root, const std::string& command,
                            v1::Run* run);

}  // namespace mosdat

#endif  // MOSDAT_CLI_EVIDENCE_FETCH_H_

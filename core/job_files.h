// The files a run needs, gathered on the submitting machine by preflight (as it reads
// them: the config, each selected test's scenario, the fragments it imports and the
// reference images it compares against, keyed by the paths the parsers resolve). They
// travel with the submission so coordinators and agents on other hosts parse exactly
// what the user has.
#ifndef MOSDAT_CORE_JOB_FILES_H_
#define MOSDAT_CORE_JOB_FILES_H_

#include <cstddef>

namespace mosdat {

// The most a submission's files may add up to: they are held in memory by the
// coordinator and the agent. Preflight checks it; the coordinator enforces it.
inline constexpr size_t kMaxJobFilesBytes = 64 << 20;

}  // namespace mosdat

#endif  // MOSDAT_CORE_JOB_FILES_H_

// Where the coordinator puts a run's evidence (coordinator/run_store.h): runs under
// <results>/functional/<run>/, a job in <run>/<vm>/ or <run>/<test>/<vm>/ (job.json,
// events.jsonl; one directory more, iteration-NN/, for each iteration of a repeated job), a retried
// job's later attempts in its attempt-N/. Readers of results (the history site, the live runs page)
// find them here, newest run first.
#ifndef MOSDAT_REPORT_RESULTS_LAYOUT_H_
#define MOSDAT_REPORT_RESULTS_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace mosdat {

// The run directories under results_root/functional, newest first (run ids start with
// their time), at most `limit`. Symbolic links are not followed.
std::vector<std::filesystem::path> RunDirs(const std::filesystem::path& results_root,
                                           size_t limit = SIZE_MAX);

// The job directories of a run (those with job.json or events.jsonl), in name order, at
// most `limit`.
std::vector<std::filesystem::path> JobDirs(const std::filesystem::path& run,
                                           size_t limit = SIZE_MAX);

// A job's attempt directories: itself, then attempt-2, attempt-3, ... in order.
std::vector<std::filesystem::path> AttemptDirs(const std::filesystem::path& job);

// What job.json or attempt.json says: its object, or an empty one when the file is
// absent, bigger than 64 KiB or not a JSON object.
nlohmann::json ReadAboutFile(const std::filesystem::path& path);

}  // namespace mosdat

#endif  // MOSDAT_REPORT_RESULTS_LAYOUT_H_

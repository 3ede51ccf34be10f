// The runs side of `mosdat live` (the triage dashboard): the runs in a results
// directory, newest first, as the coordinator writes them (report/results_layout.h),
// while they run and after:
//   GET /runs                          the page (plain HTML from the binary)
//   GET /api/runs?limit=N              runs and their jobs: VM, test, verdict so far,
//                                      the step running now, the failed step and why,
//                                      the newest frame
//   GET /api/runs/job?dir=REL          one job: its steps with their frames, its log
//   GET /api/runs/stream               server-sent `changed` events when any of those
//                                      runs changes (the page then asks again)
//   GET /results/REL                   a file of the results (frames, trace.html,
//                                      events.jsonl, junit.xml, job.json) — nothing else,
//                                      nothing outside them
// All behind HttpAuth. Job summaries are cached by their events.jsonl's size and time,
// so pages with hundreds of jobs answer from memory.
#ifndef MOSDAT_LIVE_RUN_BOARD_H_
#define MOSDAT_LIVE_RUN_BOARD_H_

#include <httplib.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "live/http_auth.h"
#include "live/sse_streams.h"

namespace mosdat {

class RunBoard {
 public:
  explicit RunBoard(std::filesystem::path results_root);

  // The runs, newest first, at most `limit` (each with its jobs).
  nlohmann::json Runs(size_t limit);
  // One job by its directory relative to the results root; NotFound outside them.
  absl::StatusOr<nlohmann::json> Job(const std::string& relative_dir);
  // Changes whenever one of the newest `limit` runs changes (a job added, an event).
  std::string Signature(size_t limit);
  // The file `relative` names, when it is evidence inside the results; NotFound else.
  absl::StatusOr<std::filesystem::path> EvidenceFile(const std::string& relative);

 private:
  struct Cached {
    uintmax_t size = 0;
    std::filesystem::file_time_type time;
    bool traced = false;
    nlohmann::json summary;
  };
  nlohmann::json JobSummary(const std::filesystem::path& dir);
  std::string Relative(const std::filesystem::path& path) const;

  const std::filesystem::path root_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;  // job dir → its summary
};

void AddRunBoard(httplib::Server& server, HttpAuth& auth, SseStreams& streams, RunBoard& board);

}  // namespace mosdat

#endif  // MOSDAT_LIVE_RUN_BOARD_H_

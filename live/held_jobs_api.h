// Pause on failure in `mosdat live`: the jobs a failed step holds on the agent, for a
// person to take over and let go on (openQA's developer mode, for desktop apps):
//   GET  /api/runs/held                       the jobs held now: job, run, test, VM,
//                                             the failed step (0-based) and why, since
//   POST /api/runs/resume {"job", "from_step"?, "confirm": true}
//                                             lets one go on from a step (default: the
//                                             failed one); the verdict stays the failure
//   POST /api/runs/abort  {"job", "confirm": true}
//                                             ends it as its failure would have (cleanup
//                                             runs, verdict fail)
//   POST /api/runs/pause-on-failure {"run", "enabled"}
//                                             the run's switch, from its jobs' next failure
// A person takes over a held job's screen with POST /api/author/session {"job"}
// (authoring_api.h), whose draft starts as the job's scenario. Behind HttpAuth; answers
// as http_json.h says; nothing acts on a VM without "confirm": true.
#ifndef MOSDAT_LIVE_HELD_JOBS_API_H_
#define MOSDAT_LIVE_HELD_JOBS_API_H_

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "live/http_auth.h"
#include "live/screen_backend.h"

namespace mosdat {

void AddHeldJobsApi(httplib::Server& server, HttpAuth& auth, ScreenBackend& backend);

// A held job as the API shows it (without its scenario's text).
nlohmann::json HeldJson(const HeldJob& job);

}  // namespace mosdat

#endif  // MOSDAT_LIVE_HELD_JOBS_API_H_

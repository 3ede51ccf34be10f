// The authoring API of `mosdat live` (the original's endpoints), on an httplib server:
//   GET  /api/author/vms                      the VMs a session can be opened on
//   POST /api/author/session   {"vm"}         opens a screen session: session_id, size
//                              {"job"}        takes over the screen of a job a failed
//                                             step holds (held_jobs_api.h): also "held"
//                                             and "steps", the draft started as its
//                                             scenario
//                              {"watch"}      watches a running job's screen (capture
//                                             and stream only)
//   POST /api/author/capture   {"session_id"} the screen as PNG (base64), its size
//   GET  /api/author/screen.png?session=ID    the same, as an image (for the page)
//   POST /api/author/action    {"session_id", "action", x, y, text, key, "confirm": true}
//        hover | click | double_click | right_click | scroll (dy) | type (text) | key
//        (key): one input, answered with its sequence number and its step — by its
//        target, when "semantic": true asks to look first (else by coordinates,
//        also answered as "coordinate_step"); shell (command) | wait
//        (seconds) | launch (command, app?, window?): run as a scenario step in the
//        guest, answered with the run (below). Each answers the scenario step that does
//        the same. Refused (400, nothing done) without "confirm": true.
//   POST /api/author/run       {"session_id", "step" | "steps", "confirm": true} runs
//                              steps: {"passed", "verdict", "reason", "events"}
//   POST /api/author/replay    {"session_id", "confirm": true} runs the draft from its start
//   POST /api/author/describe  {"session_id", x, y} what is there: the accessible object
//                              (AT-SPI), the OCR words around it and the word under it,
//                              "targets" (semantic_target.h) and the "steps" that would
//                              click, double_click, right_click or hover it by them
//   POST /api/author/atspi/find {"session_id", "query": {role, name, name_substr, app,
//                              index, states}} the object it picks, and its atspi step
//   GET  /api/author/stream?session=ID  the screen as server-sent events (frame_stream.h)
//   GET  /api/whoami                    the caller's principal (and a login's CSRF token)
//   POST /api/author/vlm/localize {"session_id", "prompt"} where the model sees it (no
//                              action): found, x, y, confidence
//   POST /api/author/vlm/verify   {"session_id", "prompt"} the model's yes/no: answer, reason
//   POST /api/author/step      {"session_id", "step": {...}} appends one step;
//                              {"session_id", "steps": [...]} replaces them all
//   POST /api/author/validate  {"session_id", "name"?} the draft through the runner's
//                              parser: ok, problems (file:line:column)
//   GET  /api/author/export?session=ID&name=N  the draft as scenario YAML
//   POST /api/author/close     {"session_id"} closes it and its VNC connection
// Every endpoint is behind HttpAuth; answers are JSON {"ok": true, ...} or {"ok": false,
// "error": "..."} with a 4xx for the caller's mistakes (400 bad JSON or field, 401/403
// auth, 403 another's session, 404 no such session, 429 too many sessions) and 502 when
// the VM cannot be reached. Request bodies are bounded (1 MiB).
#ifndef MOSDAT_LIVE_AUTHORING_API_H_
#define MOSDAT_LIVE_AUTHORING_API_H_

#include <httplib.h>

#include "core/scenario_parser.h"
#include "live/author_sessions.h"
#include "live/http_auth.h"
#include "live/sse_streams.h"

namespace mosdat {

// `validate` parses drafts with `scenario_options` (the config's variables).
void AddAuthoringApi(httplib::Server& server, HttpAuth& auth, AuthorSessions& sessions,
                     SseStreams& streams, ScenarioOptions scenario_options);

}  // namespace mosdat

#endif  // MOSDAT_LIVE_AUTHORING_API_H_

#include "live/held_jobs_api.h"

#include "absl/strings/str_cat.h"
#include "live/http_json.h"

namespace mosdat {
namespace {

using nlohmann::json;

// Acting on a held job changes what its VM does next: like every action, only when
// the caller says so.
bool Confirmed(const json& body, httplib::Response& response) {
  auto confirm = body.find("confirm");
  if (confirm == body.end() || !confirm->is_boolean() || !confirm->get<bool>()) {
    Fail(response, 400, "this lets a held job go on: send \"confirm\": true to carry it out");
    return false;
  }
  return true;
}

// The held job a POST names, once the caller confirmed; "" after answering 400.
std::string ConfirmedJob(const httplib::Request& request, httplib::Response& response, json* body) {
  std::optional<json> parsed = Body(request, response);
  if (!parsed) return "";
  const std::string job = Field(*parsed, "job", response);
  if (job.empty() || !Confirmed(*parsed, response)) return "";
  *body = std::move(*parsed);
  return job;
}

}  // namespace

json HeldJson(const HeldJob& job) {
  return {{"job_id", job.job_id},
          {"run_id", job.run_id},
          {"test", job.test},
          {"vm", job.vm},
          {"failed_step", job.failed_step},
          {"step_count", job.step_count},
          {"reason", job.reason},
          {"since_unix_ms", job.since_unix_ms},
          {"scenario_path", job.scenario_path}};
}

void AddHeldJobsApi(httplib::Server& server, HttpAuth& auth, ScreenBackend& backend) {
  server.Get("/api/runs/held",
             GuardedHandler(auth, [&backend](const std::string&, const httplib::Request&,
                                             httplib::Response& response) {
               absl::StatusOr<std::vector<HeldJob>> held = backend.HeldJobs();
               if (!held.ok()) return Fail(response, held.status());
               json jobs = json::array();
               for (const HeldJob& job : *held) jobs.push_back(HeldJson(job));
               Answer(response, 200, {{"ok", true}, {"jobs", jobs}});
             }));
  server.Post("/api/runs/resume", GuardedHandler(auth, [&backend](const std::string& who,
                                                                  const httplib::Request& request,
                                                                  httplib::Response& response) {
                json body;
                const std::string job = ConfirmedJob(request, response, &body);
                if (job.empty()) return;
                int from_step = -1;  // the failed step
                if (body.contains("from_step")) {
                  std::optional<int> from = IntField(body, "from_step", response);
                  if (!from) return;
                  from_step = *from;
                }
                if (from_step < 0) {
                  absl::StatusOr<std::vector<HeldJob>> held = backend.HeldJobs();
                  if (!held.ok()) return Fail(response, held.status());
                  for (const HeldJob& h : *held) {
                    if (h.job_id == job) from_step = h.failed_step;
                  }
                  if (from_step < 0) {
                    return Fail(response, 404, absl::StrCat("job ", job, " is not held"));
                  }
                }
                absl::Status resumed = backend.Resume(job, from_step, /*abort=*/false, who);
                if (!resumed.ok()) return Fail(response, resumed);
                Answer(response, 200, {{"ok", true}, {"job", job}, {"from_step", from_step}});
              }));
  server.Post("/api/runs/abort", GuardedHandler(auth, [&backend](const std::string& who,
                                                                 const httplib::Request& request,
                                                                 httplib::Response& response) {
                json body;
                const std::string job = ConfirmedJob(request, response, &body);
                if (job.empty()) return;
                absl::Status aborted = backend.Resume(job, -1, /*abort=*/true, who);
                if (!aborted.ok()) return Fail(response, aborted);
                Answer(response, 200, {{"ok", true}, {"job", job}});
              }));
  server.Post("/api/runs/pause-on-failure",
              GuardedHandler(auth, [&backend](const std::string&, const httplib::Request& request,
                                              httplib::Response& response) {
                std::optional<json> body = Body(request, response);
                if (!body) return;
                const std::string run = Field(*body, "run", response);
                if (run.empty()) return;
                auto enabled = body->find("enabled");
                if (enabled == body->end() || !enabled->is_boolean()) {
                  return Fail(response, 400, "\"enabled\" (true or false) is required");
                }
                absl::Status set = backend.SetPauseOnFailure(run, enabled->get<bool>());
                if (!set.ok()) return Fail(response, set);
                Answer(response, 200, {{"ok", true}, {"run", run}, {"enabled", *enabled}});
              }));
}

}  // namespace mosdat

#include "report/dashboard_site.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/junit.h"
#include "report/html_parts.h"
#include "report/job_evidence.h"
#include "report/results_layout.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kCellsShown = 40;  // verdict cells per test × VM row

std::string StringOf(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>().substr(0, 200) : "";
}

JobAttemptRecord ReadAttempt(const fs::path& dir) {
  JobAttemptRecord attempt{.dir = dir.string()};
  attempt.agent = StringOf(ReadAboutFile(dir / "attempt.json"), "agent");
  absl::StatusOr<JobEvidence> evidence = ReadJobEvidence(dir.string());
  if (!evidence.ok()) {
    attempt.verdict = "unknown";
    return attempt;
  }
  attempt.verdict = VerdictWord(*evidence);
  if (evidence->finished_ms > evidence->started_ms && evidence->started_ms > 0) {
    attempt.duration_seconds = (evidence->finished_ms - evidence->started_ms) / 1000.0;
  }
  return attempt;
}

std::string Percent(int part, int whole) {
  return whole == 0 ? "–" : absl::StrFormat("%.0f%%", 100.0 * part / whole);
}

std::string LinkTo(const std::string& dir, const std::string& out_dir) {
  std::error_code error;
  fs::path relative = fs::relative(fs::absolute(dir, error), fs::absolute(out_dir, error), error);
  if (error || relative.empty()) relative = fs::absolute(dir, error);
  const bool has_trace = fs::is_regular_file(fs::path(dir) / "trace.html", error);
  return UrlPathEscape((relative / (has_trace ? "trace.html" : "events.jsonl")).string());
}

// Durations of passing jobs over time, as a polyline.
std::string TrendSvg(const std::vector<const JobHistory*>& jobs) {
  std::vector<double> points;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {  // oldest first
    if ((*it)->last().verdict == "pass") points.push_back((*it)->last().duration_seconds);
  }
  if (points.size() < 2) return "<span class=\"meta\">–</span>";
  const double top = std::max(*std::max_element(points.begin(), points.end()), 0.1);
  constexpr int kWidth = 160, kHeight = 28;
  std::string line;
  for (size_t i = 0; i < points.size(); ++i) {
    absl::StrAppendFormat(&line, "%s%.1f,%.1f", i == 0 ? "" : " ",
                          kWidth * static_cast<double>(i) / (points.size() - 1),
                          kHeight - 2 - (kHeight - 4) * points[i] / top);
  }
  return absl::StrFormat(
      "<svg class=\"trend\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
      "aria-label=\"durations of passing runs, last %.1f s, longest %.1f s\"><polyline "
      "points=\"%s\" fill=\"none\" stroke=\"#2360d8\" stroke-width=\"1.5\"/></svg> "
      "<span class=\"meta\">%.1f s</span>",
      kWidth, kHeight, kWidth, kHeight, points.back(), top, line, points.back());
}

}  // namespace

std::vector<JobHistory> ReadJobHistory(const DashboardOptions& options,
                                       std::vector<std::string>* skipped) {
  std::vector<JobHistory> jobs;
  for (const fs::path& run : RunDirs(options.results_root)) {
    if (jobs.size() >= options.max_jobs) break;
    std::vector<fs::path> dirs = JobDirs(run, options.max_jobs - jobs.size());
    for (const fs::path& dir : dirs) {
      const json about = ReadAboutFile(dir / "job.json");
      JobHistory job;
      job.dir = dir.string();
      job.run_id = StringOf(about, "run_id");
      if (job.run_id.empty()) job.run_id = run.filename().string();
      job.job_id = StringOf(about, "job_id");
      job.test = StringOf(about, "test");
      job.vm = StringOf(about, "vm");
      job.inputs_sha256 = StringOf(about, "inputs_sha256");
      if (auto it = about.find("created_unix_ms"); it != about.end() && it->is_number_integer()) {
        job.created_unix_ms = it->get<int64_t>();
      }
      for (const fs::path& attempt : AttemptDirs(dir)) job.attempts.push_back(ReadAttempt(attempt));
      // Without job.json (older results), the events say what ran where.
      if (job.test.empty() || job.vm.empty()) {
        absl::StatusOr<JobEvidence> evidence = ReadJobEvidence(dir.string());
        if (!evidence.ok()) {
          if (skipped != nullptr)
            skipped->push_back(absl::StrCat(dir.string(), ": ", evidence.status().message()));
          continue;
        }
        if (job.test.empty()) job.test = evidence->scenario;
        if (job.vm.empty()) job.vm = evidence->vm;
        if (job.created_unix_ms == 0) job.created_unix_ms = evidence->started_ms;
      }
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

std::string DashboardHtml(const std::vector<JobHistory>& jobs,
                          const std::vector<std::string>& skipped, const std::string& out_dir) {
  std::set<std::string> run_ids;
  std::map<std::pair<std::string, std::string>, std::vector<const JobHistory*>> by_test_vm;
  for (const JobHistory& job : jobs) {
    run_ids.insert(job.run_id);
    by_test_vm[{job.test, job.vm}].push_back(&job);  // newest first, as read
  }
  std::string out = HtmlPageStart("mOSdat — test history", kDashboardCss);
  absl::StrAppendFormat(&out,
                        "<header><h1>mOSdat — test history</h1><p class=\"meta\" "
                        "style=\"color:#c9d1e0\">%d runs · %d jobs</p></header><main>",
                        static_cast<int>(run_ids.size()), static_cast<int>(jobs.size()));

  // Pass rate per test × VM.
  absl::StrAppend(&out,
                  "<h2>Pass rate per test and VM</h2><table class=\"rates\"><tr><th>test</th>"
                  "<th>VM</th><th>jobs</th><th>pass rate</th><th>fail</th><th>infra errors</th>"
                  "<th>latest first</th><th>duration (passes)</th></tr>");
  for (const auto& [key, list] : by_test_vm) {
    int pass = 0, fail = 0, error = 0;
    for (const JobHistory* job : list) {
      const std::string& v = job->last().verdict;
      pass += v == "pass";
      fail += v == "fail";
      error += v == "error" || v == "config_error";
    }
    std::string cells;
    for (size_t i = 0; i < list.size() && i < kCellsShown; ++i) {
      const JobHistory& job = *list[i];
      absl::StrAppend(&cells, "<a href=\"", XmlEscape(LinkTo(job.last().dir, out_dir)),
                      "\" title=\"", XmlEscape(absl::StrCat(job.run_id, ": ", job.last().verdict)),
                      "\"><span class=\"", XmlEscape(job.last().verdict), "\"></span></a>");
    }
    absl::StrAppendFormat(&out,
                          "<tr><td>%s</td><td>%s</td><td>%d</td><td class=\"rate\">%s</td>"
                          "<td class=\"fail\">%d</td><td class=\"error\">%d</td>"
                          "<td class=\"cells\">%s</td><td>%s</td></tr>",
                          XmlEscape(key.first), XmlEscape(key.second),
                          static_cast<int>(list.size()), Percent(pass, pass + fail), fail, error,
                          cells, TrendSvg(list));
  }
  absl::StrAppend(&out,
                  "</table><p class=\"meta\">The pass rate counts passes and failures; "
                  "infrastructure errors are not the app's and are counted apart.</p>");

  // Flaky: the same inputs both passed and failed.
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<int, int>> outcomes;
  for (const JobHistory& job : jobs) {
    if (job.inputs_sha256.empty()) continue;
    auto& [pass, fail] = outcomes[{job.test, job.vm, job.inputs_sha256}];
    pass += job.last().verdict == "pass";
    fail += job.last().verdict == "fail";
  }
  absl::StrAppend(&out, "<h2>Flaky tests</h2>");
  std::string flaky;
  for (const auto& [key, counts] : outcomes) {
    if (counts.first == 0 || counts.second == 0) continue;
    absl::StrAppendFormat(&flaky,
                          "<tr><td>%s</td><td>%s</td><td><code>%s</code></td><td class=\"pass\">%d"
                          "</td><td class=\"fail\">%d</td></tr>",
                          XmlEscape(std::get<0>(key)), XmlEscape(std::get<1>(key)),
                          XmlEscape(std::get<2>(key).substr(0, 12)), counts.first, counts.second);
  }
  absl::StrAppend(&out, flaky.empty()
                            ? "<p class=\"meta\">None: no test both passed and failed on the same "
                              "inputs.</p>"
                            : absl::StrCat("<table class=\"flaky\"><tr><th>test</th><th>VM</th>"
                                           "<th>inputs</th><th>passed</th><th>failed</th></tr>",
                                           flaky, "</table>"));

  // Infrastructure errors per agent host, over every attempt.
  std::map<std::string, std::pair<int, int>> hosts;  // agent → (attempts, errors)
  for (const JobHistory& job : jobs) {
    for (const JobAttemptRecord& attempt : job.attempts) {
      auto& [count, errors] = hosts[attempt.agent.empty() ? "(not recorded)" : attempt.agent];
      ++count;
      errors += attempt.verdict == "error";
    }
  }
  absl::StrAppend(&out,
                  "<h2>Infrastructure errors per host</h2><table class=\"hosts\"><tr><th>agent "
                  "host</th><th>attempts</th><th>infra errors</th><th>rate</th></tr>");
  for (const auto& [host, counts] : hosts) {
    absl::StrAppendFormat(&out,
                          "<tr><td>%s</td><td>%d</td><td class=\"error\">%d</td><td "
                          "class=\"rate\">%s</td></tr>",
                          XmlEscape(host), counts.first, counts.second,
                          Percent(counts.second, counts.first));
  }
  absl::StrAppend(&out, "</table>");

  // Recent runs, each job linked to its evidence.
  absl::StrAppend(&out,
                  "<h2>Runs</h2><table class=\"runs\"><tr><th>run</th><th>started</th>"
                  "<th>jobs</th></tr>");
  std::string current;
  std::string row;
  auto flush = [&] {
    if (!row.empty()) absl::StrAppend(&out, row, "</td></tr>");
    row.clear();
  };
  for (const JobHistory& job : jobs) {
    if (job.run_id != current) {
      flush();
      current = job.run_id;
      row = absl::StrCat(
          "<tr><td><code>", XmlEscape(job.run_id), "</code></td><td>",
          job.created_unix_ms > 0 ? XmlEscape(FormatUnixMs(job.created_unix_ms)) : "", "</td><td>");
    }
    absl::StrAppend(
        &row, "<a class=\"", XmlEscape(job.last().verdict), "\" href=\"",
        XmlEscape(LinkTo(job.last().dir, out_dir)), "\">", XmlEscape(job.test), " on ",
        XmlEscape(job.vm), ": ", XmlEscape(job.last().verdict), "</a>",
        job.attempts.size() > 1 ? absl::StrCat(" (", job.attempts.size(), " attempts)") : "", " ");
  }
  flush();
  absl::StrAppend(&out, "</table>");
  if (!skipped.empty()) {
    absl::StrAppend(&out, "<h2>Left out</h2><pre>");
    for (const std::string& why : skipped) absl::StrAppend(&out, XmlEscape(why), "\n");
    absl::StrAppend(&out, "</pre>");
  }
  absl::StrAppend(&out, "</main>", HtmlPageEnd());
  return out;
}

absl::StatusOr<DashboardSummary> WriteDashboardSite(const DashboardOptions& options) {
  std::vector<std::string> skipped;
  std::vector<JobHistory> jobs = ReadJobHistory(options, &skipped);
  if (jobs.empty()) {
    return absl::NotFoundError(absl::StrCat(
        options.results_root, ": no runs here (expected ", options.results_root,
        "/functional/<run>/...; --results names the [report] output_dir of a config)"));
  }
  std::error_code error;
  fs::create_directories(options.out_dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", options.out_dir, ": ", error.message()));
  }
  DashboardSummary summary;
  summary.index = (fs::path(options.out_dir) / "index.html").string();
  if (absl::Status s =
          WriteFileAtomically(summary.index, DashboardHtml(jobs, skipped, options.out_dir));
      !s.ok()) {
    return s;
  }
  std::set<std::string> runs;
  for (const JobHistory& job : jobs) runs.insert(job.run_id);
  summary.jobs = jobs.size();
  summary.runs = runs.size();
  summary.skipped = skipped.size();
  return summary;
}

}  // namespace mosdat

#include "confirm/confirm_report.h"

#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/absl_compat.h"
#include "core/file_util.h"
#include "core/utf8.h"
#include "report/job_evidence.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A name safe in a file name and a Markdown link.
std::string Safe(const std::string& text) {
  std::string out;
  for (char c : text) {
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  }
  return out.empty() ? "_" : out;
}

// Where a frame goes in the evidence folder ("" when there is none).
std::string FrameName(const IterationResult& it, const std::string& which, const std::string& src) {
  if (src.empty()) return "";
  return absl::StrFormat("frames/%s-iteration-%02d-%s.png", Safe(it.vm), it.iteration, which);
}

// Text for one cell of a Markdown table: one line, pipes escaped, bounded.
std::string Cell(const std::string& text) {
  std::string one = absl::StrReplaceAll(ShortenText(text, 300), {{"\n", " "}, {"|", "\\|"}});
  return one;
}

std::string Counts(const BugTally& t) {
  std::vector<std::string> parts = {absl::StrCat(t.reproduced, " reproduced"),
                                    absl::StrCat(t.not_reproduced, " not reproduced")};
  if (t.precondition_not_met > 0) {
    parts.push_back(absl::StrCat(t.precondition_not_met, " precondition not met"));
  }
  if (t.harness_error > 0) parts.push_back(absl::StrCat(t.harness_error, " harness error"));
  return absl::StrJoin(parts, ", ");
}

std::string EnvironmentText(const VmResult& vm) {
  if (!vm.environment) return "not observed (no SSH into the VM, or the probe failed)";
  return DescribeEnvironment(*vm.environment);
}

std::string IssueTitle(const ConfirmResult& r) {
  return r.issue ? absl::StrCat(r.ref.ToString(), " — ", r.issue->title) : r.ref.ToString();
}

}  // namespace

IterationResult ReadIteration(const std::string& vm, int iteration, const std::string& dir,
                              JobVerdict job_verdict, const std::string& job_reason) {
  IterationResult it{.vm = vm, .iteration = iteration, .dir = dir};
  it.reason = job_reason;
  absl::StatusOr<JobEvidence> evidence = ReadJobEvidence(dir);
  if (!evidence.ok()) {
    it.reason = absl::StrCat("its events cannot be read: ", evidence.status().message(),
                             job_reason.empty() ? "" : "; the job: " + job_reason);
    return it;
  }
  if (evidence->bug) {
    it.verdict = *evidence->bug;
    it.reason = evidence->reason;
  } else if (job_verdict == JobVerdict::kPass || job_verdict == JobVerdict::kFail) {
    // A verdict without a bug verdict: the scenario ran as no bug scenario does.
    it.reason = absl::StrCat("the job ended (", Absl(ToString(job_verdict)),
                             ") without saying what it found about the bug");
  }
  if (evidence->finished_ms > evidence->started_ms && evidence->started_ms > 0) {
    it.duration_seconds = (evidence->finished_ms - evidence->started_ms) / 1000.0;
  }
  for (const Event& shot : evidence->screenshots) {
    const std::string path = (fs::path(dir) / shot.screenshot).string();
    if (shot.why == kPreconditionFrame) it.precondition_frame = path;
    if (shot.why == kBugSignalFrame) it.signal_frame = path;
  }
  for (const Event& log : evidence->logs) {
    if (auto environment = EnvironmentFromLogText(log.text)) it.environment = *environment;
  }
  return it;
}

void Summarize(std::vector<IterationResult> iterations, ConfirmResult* result) {
  result->vms.clear();
  result->all = {};
  std::map<std::string, size_t> index;
  for (IterationResult& it : iterations) {
    auto [pos, added] = index.emplace(it.vm, result->vms.size());
    if (added) result->vms.push_back(VmResult{.vm = it.vm});
    VmResult& vm = result->vms[pos->second];
    vm.tally.Add(it.verdict);
    result->all.Add(it.verdict);
    if (!vm.environment && it.environment) vm.environment = it.environment;
    vm.iterations.push_back(std::move(it));
  }
  std::vector<BugAggregate> verdicts;
  for (VmResult& vm : result->vms) {
    std::sort(vm.iterations.begin(), vm.iterations.end(),
              [](const IterationResult& a, const IterationResult& b) {
                return a.iteration < b.iteration;
              });
    vm.verdict = Aggregate(vm.tally);
    verdicts.push_back(vm.verdict);
  }
  result->verdict = AggregateAcrossVms(verdicts);
}

std::string VerdictLine(BugAggregate verdict, const BugTally& tally) {
  switch (verdict) {
    case BugAggregate::kIntermittent:
      return absl::StrCat("INTERMITTENT (", tally.Rate(), " reproduced)");
    case BugAggregate::kInconclusive:
      return absl::StrCat("INCONCLUSIVE (", tally.counted(), " of ", tally.total(),
                          " attempts counted)");
    default:
      return absl::StrCat(Absl(ToString(verdict)), " (", tally.Rate(), " reproduced)");
  }
}

std::string ReportMarkdown(const ConfirmResult& r) {
  std::string md = absl::StrCat("# mosdat confirm: ", IssueTitle(r), "\n\n");
  absl::StrAppend(&md, "**", VerdictLine(r.verdict, r.all), "** — mode `", Absl(ToString(r.mode)),
                  "`; ", Counts(r.all), ".\n\n");
  absl::StrAppend(&md, "| | |\n|---|---|\n");
  if (r.issue) {
    absl::StrAppend(&md, "| Issue | [", r.ref.ToString(), "](", r.issue->url, ") ",
                    Cell(r.issue->title), " (", r.issue->state,
                    r.issue->labels.empty() ? "" : "; " + absl::StrJoin(r.issue->labels, ", "),
                    ") |\n");
  } else {
    absl::StrAppend(&md, "| Issue | ", r.ref.ToString(), " |\n");
  }
  if (!r.issue_note.empty()) absl::StrAppend(&md, "| Issue text | ", Cell(r.issue_note), " |\n");
  absl::StrAppend(&md, "| Scenario | `", r.scenario_path, "` |\n");
  absl::StrAppend(&md, "| App | ", Cell(r.what_ran), " |\n");
  absl::StrAppend(&md, "| Iterations | ", r.iterations, " per VM |\n");
  absl::StrAppend(&md, "| Run | `", r.run_id, "` (", r.run_dir, ") |\n");
  absl::StrAppend(&md, "| Started | ", r.started_at, " |\n\n");

  absl::StrAppend(&md,
                  "## Per VM\n\n| VM | Verdict | Environment observed | Attempts |\n"
                  "|---|---|---|---|\n");
  for (const VmResult& vm : r.vms) {
    absl::StrAppend(&md, "| ", Cell(vm.vm), " | ", VerdictLine(vm.verdict, vm.tally), " | ",
                    Cell(EnvironmentText(vm)), " | ", Counts(vm.tally), " |\n");
  }
  for (const VmResult& vm : r.vms) {
    absl::StrAppend(&md, "\n## ", vm.vm, "\n\nEnvironment observed: ", EnvironmentText(vm), "\n");
    if (vm.environment) {
      const ObservedEnvironment& e = *vm.environment;
      absl::StrAppend(&md, "\n- OS: ", e.os.empty() ? "?" : e.os,
                      e.kernel.empty() ? "" : " (kernel " + e.kernel + ")", "\n- Display server: ",
                      e.display_server.empty() ? "none found" : e.display_server,
                      e.session_type.empty() ? "" : " (session " + e.session_type + ")",
                      "\n- Rendering: ", e.renderer.empty() ? "unknown (no glxinfo)" : e.renderer,
                      "\n- GPU: ", e.gpu.empty() ? "none listed" : e.gpu,
                      "\n- App version: ", e.app_version.empty() ? "unknown" : e.app_version, "\n");
    }
    absl::StrAppend(&md,
                    "\n| Iteration | Verdict | Why | Precondition | Bug signal |\n"
                    "|---|---|---|---|---|\n");
    const IterationResult* shown = nullptr;
    for (const IterationResult& it : vm.iterations) {
      const std::string pre = FrameName(it, kPreconditionFrame, it.precondition_frame);
      const std::string sig = FrameName(it, kBugSignalFrame, it.signal_frame);
      absl::StrAppend(&md, "| ", it.iteration, " | ", Absl(ToHumanString(it.verdict)), " | ",
                      Cell(it.reason), " | ", pre.empty() ? "—" : "[frame](" + pre + ")", " | ",
                      sig.empty() ? "—" : "[frame](" + sig + ")", " |\n");
      if (!shown && it.verdict == BugVerdict::kReproduced && !sig.empty()) shown = &it;
    }
    if (shown) {
      absl::StrAppend(&md, "\nThe bug on ", vm.vm, ", iteration ", shown->iteration,
                      ":\n\n![bug signal](",
                      FrameName(*shown, kBugSignalFrame, shown->signal_frame), ")\n");
    }
  }
  absl::StrAppend(&md,
                  "\n---\nVerdicts: an attempt counts when it reached the point where the "
                  "bug could show (setup done, precondition held); CONFIRMED when every "
                  "counted attempt showed the bug, NOT_REPRODUCED when none did, "
                  "INTERMITTENT otherwise; INCONCLUSIVE when fewer than half of the "
                  "attempts counted.\n");
  return md;
}

std::string CommentMarkdown(const ConfirmResult& r) {
  std::string md = absl::StrCat("### mosdat: ", VerdictLine(r.verdict, r.all), "\n\n");
  absl::StrAppend(&md, "Ran the scenario `", fs::path(r.scenario_path).filename().string(), "` ",
                  r.iterations, r.iterations == 1 ? " time" : " times", " per VM (mode `",
                  Absl(ToString(r.mode)), "`), app: ", r.what_ran, ".\n\n");
  absl::StrAppend(&md, "| VM | Environment | Result |\n|---|---|---|\n");
  for (const VmResult& vm : r.vms) {
    absl::StrAppend(&md, "| ", Cell(vm.vm), " | ", Cell(EnvironmentText(vm)), " | ",
                    VerdictLine(vm.verdict, vm.tally), "; ", Counts(vm.tally), " |\n");
  }
  absl::StrAppend(&md, "\n<details><summary>Each attempt</summary>\n\n");
  for (const VmResult& vm : r.vms) {
    for (const IterationResult& it : vm.iterations) {
      absl::StrAppend(&md, "- ", Cell(vm.vm), " #", it.iteration, ": **",
                      Absl(ToHumanString(it.verdict)), "**", it.reason.empty() ? "" : " — ",
                      Cell(it.reason), "\n");
    }
  }
  absl::StrAppend(&md, "\n</details>\n\nmosdat run `", r.run_id,
                  "`; frames and the full report are in its evidence folder.\n");
  return md;
}

json SummaryJson(const ConfirmResult& r, int exit_code) {
  auto counts = [](const BugTally& t) {
    return json{{"reproduced", t.reproduced},
                {"not_reproduced", t.not_reproduced},
                {"precondition_not_met", t.precondition_not_met},
                {"harness_error", t.harness_error}};
  };
  auto environment = [](const std::optional<ObservedEnvironment>& e) -> json {
    if (!e) return nullptr;
    return {{"os", e->os},
            {"kernel", e->kernel},
            {"display_server", e->display_server},
            {"session_type", e->session_type},
            {"renderer", e->renderer},
            {"gpu", e->gpu},
            {"app_version", e->app_version}};
  };
  json vms = json::array();
  for (const VmResult& vm : r.vms) {
    json iterations = json::array();
    for (const IterationResult& it : vm.iterations) {
      iterations.push_back(
          {{"iteration", it.iteration},
           {"verdict", std::string(ToString(it.verdict))},
           {"reason", it.reason},
           {"results", it.dir},
           {"precondition_frame", FrameName(it, kPreconditionFrame, it.precondition_frame)},
           {"bug_signal_frame", FrameName(it, kBugSignalFrame, it.signal_frame)},
           {"duration_s", it.duration_seconds}});
    }
    vms.push_back({{"vm", vm.vm},
                   {"verdict", std::string(ToString(vm.verdict))},
                   {"rate", vm.tally.Rate()},
                   {"counts", counts(vm.tally)},
                   {"environment", environment(vm.environment)},
                   {"iterations", iterations}});
  }
  json issue = {{"repository", absl::StrCat(r.ref.owner, "/", r.ref.repo)},
                {"number", r.ref.number}};
  if (r.issue) {
    issue["title"] = r.issue->title;
    issue["url"] = r.issue->url;
    issue["state"] = r.issue->state;
    issue["labels"] = r.issue->labels;
    issue["fetched_at"] = r.issue->fetched_at;
  }
  if (!r.issue_note.empty()) issue["note"] = r.issue_note;
  return {{"issue", issue},
          {"mode", std::string(ToString(r.mode))},
          {"verdict", std::string(ToString(r.verdict))},
          {"rate", r.all.Rate()},
          {"counts", counts(r.all)},
          {"exit_code", exit_code},
          {"iterations_per_vm", r.iterations},
          {"scenario", r.scenario_path},
          {"app", r.what_ran},
          {"run", r.run_id},
          {"run_results", r.run_dir},
          {"started_at", r.started_at},
          {"vms", vms}};
}

absl::Status WriteConfirmEvidence(const ConfirmResult& r, int exit_code, const std::string& dir) {
  std::error_code error;
  fs::create_directories(fs::path(dir) / "frames", error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  for (const VmResult& vm : r.vms) {
    for (const IterationResult& it : vm.iterations) {
      for (const auto& [which, src] :
           {std::pair<std::string, std::string>{kPreconditionFrame, it.precondition_frame},
            {kBugSignalFrame, it.signal_frame}}) {
        if (src.empty()) continue;
        fs::copy_file(src, fs::path(dir) / FrameName(it, which, src),
                      fs::copy_options::overwrite_existing, error);
        // A frame that is gone leaves a dead link, not a lost report.
      }
    }
  }
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"report.md", ReportMarkdown(r)},
        {"comment.md", CommentMarkdown(r)},
        {"summary.json",
         SummaryJson(r, exit_code).dump(2, ' ', false, json::error_handler_t::replace) + "\n"}}) {
    if (absl::Status s = WriteFileAtomically((fs::path(dir) / name).string(), text); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace mosdat

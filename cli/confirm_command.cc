// `mosdat confirm ISSUE --config X [--vm V]... [--iterations N] [--mode M] [--scenario
// PATH] [--ref R | --package P...] [--github-token REF] [--refresh] [--post]`: does a
// GitHub issue's bug reproduce, on which VMs, how often — or, after a fix, is it gone.
// The issue's scenario (scenarios/issues/<N>.yaml by default) runs N times per VM
// through the coordinator (VMs in parallel, each run from the VM's clean state), each
// attempt decided by the agent (core/bug_verdict.h); the evidence is written to
// <results>/issues/<N>/<run>/ (confirm/confirm_report.h).
//
// Exit codes (cli/exit_codes.h ConfirmExitCode): 0 the verdict the mode expects, 1 the
// opposite, 5 INTERMITTENT, 6 INCONCLUSIVE (4 when a harness error is why), 2 a bad
// command line or issue, 3 a broken config or scenario, 4 the rig failed.
#include <filesystem>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/build_step.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/run_client.h"
#include "confirm/confirm_report.h"
#include "confirm/github_client.h"
#include "confirm/issue_ref.h"
#include "core/absl_compat.h"
#include "core/config_parser.h"
#include "core/file_util.h"
#include "core/job.h"
#include "core/json_depth.h"
#include "core/scenario_parser.h"
#include "core/secret_ref.h"
#include "runtime/proto_convert.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

struct ConfirmArgs {
  MatrixArgs matrix;
  BuildOptions build;
  std::string issue;
  std::string mode = "confirm";
  std::string scenario;
  std::string github_token_ref;
  std::string github_api = "https://api.github.com";
  std::string cache_dir;
  bool refresh = false;
  bool post = false;
};

constexpr char kCommand[] = "mosdat confirm";

// "a.deb, b.rpm": the files' names, for the report.
std::string FileNames(const std::vector<std::string>& paths) {
  return absl::StrJoin(paths, ", ", [](std::string* out, const std::string& path) {
    out->append(fs::path(path).filename().string());
  });
}

int Usage(const std::string& message) {
  std::cerr << kCommand << ": " << message << "\n";
  return kExitUsage;
}

// The scenario: --scenario, else scenarios/issues/<N>.yaml beside the config, else
// under the working directory.
absl::StatusOr<std::string> FindScenario(const ConfirmArgs& args, const IssueRef& ref) {
  std::error_code error;
  if (!args.scenario.empty()) {
    if (!fs::is_regular_file(args.scenario, error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--scenario ", args.scenario, ": no such file"));
    }
    return fs::absolute(args.scenario, error).lexically_normal().string();
  }
  const fs::path relative = fs::path("scenarios") / "issues" / absl::StrCat(ref.number, ".yaml");
  std::vector<fs::path> candidates = {fs::path(args.matrix.config).parent_path() / relative,
                                      relative};
  std::vector<std::string> looked;
  for (const fs::path& candidate : candidates) {
    if (fs::is_regular_file(candidate, error)) {
      return fs::absolute(candidate, error).lexically_normal().string();
    }
    looked.push_back(candidate.string());
  }
  return absl::InvalidArgumentError(absl::StrCat("no scenario for issue ", ref.number,
                                                 ": looked at ", absl::StrJoin(looked, " and "),
                                                 "; write one there or give --scenario PATH"));
}

// A scenario that parses but says no bug_signal cannot be confirmed: a config error
// now, before any VM starts. One that does not parse is left to preflight, which
// names every mistake.
absl::Status CheckBugScenario(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diagnostics;
  Scenario scenario = ParseScenario(*text, path, {}, &diagnostics);
  if (diagnostics.empty() && !(scenario.bug && scenario.bug->Checks())) {
    return ConfigError(absl::StrCat(
        path,
        ": mosdat confirm runs bug scenarios: add \"bug_signal\" (the conditions that mean "
        "the bug showed), and \"precondition\" (what must hold for an attempt to count)"));
  }
  return absl::OkStatus();
}

// The issue's text: from the cache unless --refresh, else from GitHub (and cached).
// Fails only for what the command line got wrong (no such issue, a refused token);
// GitHub being unreachable leaves a note instead — the scenario is what runs.
absl::StatusOr<std::optional<GitHubIssue>> IssueText(const ConfirmArgs& args,
                                                     const GitHubOptions& github,
                                                     const IssueRef& ref, std::string* note) {
  const std::string cache_dir = args.cache_dir.empty() ? UserCacheDir("github") : args.cache_dir;
  const std::string cached_path = IssueCachePath(cache_dir, ref);
  std::optional<GitHubIssue> cached;
  if (absl::StatusOr<std::string> text = ReadFile(cached_path); text.ok()) {
    absl::StatusOr<GitHubIssue> issue = IssueFromJson(ParsePeerJson(*text), ref);
    if (issue.ok()) cached = *issue;
  }
  if (cached && !args.refresh) {
    *note = absl::StrCat("from the cache (fetched ", cached->fetched_at,
                         "; --refresh fetches it again)");
    return cached;
  }
  absl::StatusOr<GitHubIssue> fetched = FetchIssue(github, ref);
  if (fetched.ok()) {
    if (absl::Status written =
            WriteFileAtomically(cached_path, IssueToJson(*fetched).dump(2) + "\n");
        !written.ok()) {
      std::cerr << "warning: the issue could not be cached: " << written.message() << "\n";
    }
    return std::optional<GitHubIssue>(*fetched);
  }
  const absl::StatusCode code = fetched.status().code();
  if (code == absl::StatusCode::kNotFound || code == absl::StatusCode::kPermissionDenied ||
      code == absl::StatusCode::kInvalidArgument) {
    return fetched.status();
  }
  *note = absl::StrCat(
      "not fetched: ", fetched.status().message(),
      cached ? absl::StrCat("; the cached copy of ", cached->fetched_at, " is shown") : "");
  std::cerr << "warning: issue " << ref.ToString() << " " << *note << "\n";
  return cached;
}

// The iterations of the finished run, from each job's evidence on this machine, or —
// when it stays on the coordinator's machine (--leave-evidence, or the copy failed) —
// from the events the run streamed.
std::vector<IterationResult> IterationsOf(
    const v1::Run& run, const std::string& test,
    const std::map<std::string, Event>& finished_events,
    const std::map<std::string, ObservedEnvironment>& environments) {
  std::vector<IterationResult> out;
  for (const v1::Job& job : run.jobs()) {
    if (job.test() != test) continue;
    const int iteration = std::max(1, IterationOf(job.variant()));
    const std::string dir = LastAttemptDir(job);
    const JobVerdict verdict = FromProto(job.verdict());
    std::error_code error;
    if (fs::is_regular_file(fs::path(dir) / "events.jsonl", error)) {
      out.push_back(ReadIteration(job.vm().name(), iteration, dir, verdict, job.reason()));
      continue;
    }
    IterationResult it{
        .vm = job.vm().name(), .iteration = iteration, .reason = job.reason(), .dir = dir};
    if (auto e = finished_events.find(job.job_id()); e != finished_events.end() && e->second.bug) {
      it.verdict = *e->second.bug;
      it.reason = e->second.reason;
    }
    if (auto e = environments.find(job.job_id()); e != environments.end()) {
      it.environment = e->second;
    }
    out.push_back(std::move(it));
  }
  return out;
}

void PrintResult(const ConfirmResult& result, const std::string& evidence_dir) {
  std::cout << "\n"
            << result.ref.ToString() << ": " << VerdictLine(result.verdict, result.all) << " (mode "
            << Absl(ToString(result.mode)) << ")\n";
  for (const VmResult& vm : result.vms) {
    std::cout << "  " << vm.vm << ": " << VerdictLine(vm.verdict, vm.tally) << " — "
              << (vm.environment ? DescribeEnvironment(*vm.environment)
                                 : "environment not observed")
              << "\n";
    for (const IterationResult& it : vm.iterations) {
      std::cout << "    #" << it.iteration << " " << Absl(ToHumanString(it.verdict))
                << (it.reason.empty() ? "" : ": " + it.reason) << "\n";
    }
  }
  std::cout << "evidence: " << evidence_dir << "/report.md\n";
}

int Confirm(ConfirmArgs args) {
  absl::StatusOr<IssueRef> ref = ParseIssueRef(args.issue);
  if (!ref.ok()) return Usage(std::string(ref.status().message()));
  std::optional<ConfirmMode> mode = ConfirmModeFromString(args.mode);
  if (!mode) return Usage("--mode must be confirm, verify-fix or regression");
  if (!args.matrix.tests.empty()) {
    return Usage("--test has no meaning here: the issue's scenario is the test (--scenario)");
  }
  if (args.matrix.pause_on_failure) {
    return Usage("--pause-on-failure has no meaning here: attempts run unattended");
  }
  if (!args.matrix.packages.empty() && (!args.build.ref.empty() || args.build.pr != 0)) {
    return Usage("--package tests the given files; --ref and --pr choose what to build: use one");
  }
  GitHubOptions github{.api_url = args.github_api};
  if (absl::Status s = CheckApiUrl(github.api_url); !s.ok()) return Usage(std::string(s.message()));
  if (!args.github_token_ref.empty()) {
    absl::StatusOr<std::string> token = SecretRef::ResolveText(args.github_token_ref);
    if (!token.ok() || token->empty()) {
      return Usage(absl::StrCat("--github-token: ",
                                token.ok() ? "the token is empty" : token.status().message()));
    }
    github.token = *token;
  }
  if (args.post && github.token.empty()) {
    return Usage(
        "--post needs --github-token (env:NAME or file:PATH); without --post the "
        "comment is printed, not posted");
  }
  absl::StatusOr<std::string> scenario = FindScenario(args, *ref);
  if (!scenario.ok()) return Usage(std::string(scenario.status().message()));
  if (absl::Status s = CheckBugScenario(*scenario); !s.ok()) {
    std::cerr << kCommand << ": " << s.message() << "\n";
    return ExitCodeFor(s);
  }

  ConfirmResult result{
      .ref = *ref, .mode = *mode, .scenario_path = *scenario, .iterations = args.matrix.iterations};
  result.started_at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
  absl::StatusOr<std::optional<GitHubIssue>> issue =
      IssueText(args, github, *ref, &result.issue_note);
  if (!issue.ok()) return Usage(std::string(issue.status().message()));
  result.issue = *issue;
  if (result.issue) {
    std::cout << "issue " << ref->ToString() << ": " << result.issue->title << " ("
              << result.issue->state << ")\n";
  }

  Diagnostics warnings;
  absl::StatusOr<Config> config = LoadConfig(args.matrix.config, &warnings);
  // A config that does not load is reported by the run's own preflight.
  if (config.ok() && (!args.build.ref.empty() || args.build.pr != 0)) {
    absl::StatusOr<BuiltPackages> built = BuildPackages(*config, args.build);
    if (!built.ok()) {
      std::cerr << kCommand << ": the build failed, so nothing ran: " << built.status().message()
                << "\n";
      return ExitCodeFor(built.status());
    }
    args.matrix.packages = PackagesTheVmsTake(*config, built->result, args.matrix.vms);
    result.what_ran =
        absl::StrCat(args.build.pr != 0 ? absl::StrCat("pull request #", args.build.pr)
                                        : "ref " + args.build.ref,
                     ", built into ", FileNames(args.matrix.packages));
  } else if (!args.matrix.packages.empty()) {
    result.what_ran = absl::StrCat("the packages ", FileNames(args.matrix.packages));
  } else {
    result.what_ran = "as installed on each VM";
  }

  const std::string test = absl::StrCat("issue-", ref->number);
  args.matrix.tests = {test};
  args.matrix.scenario_tests = {{test, *scenario}};
  const std::string results_root = !args.matrix.results.empty() ? args.matrix.results
                                   : config.ok()                ? config->report.output_dir
                                                                : "results";
  // What the run streams: the fallback when its evidence stays on a remote coordinator.
  std::map<std::string, Event> finished_events;
  std::map<std::string, ObservedEnvironment> environments;
  args.matrix.on_update = [&](const v1::RunUpdate& update) {
    if (!update.has_event()) return;
    Event e = FromProto(update.event());
    if (e.type == EventType::kJobFinished) finished_events[e.job_id] = e;
    if (e.type != EventType::kLog) return;
    if (auto environment = EnvironmentFromLogText(e.text)) environments[e.job_id] = *environment;
  };
  return RunMatrix(args.matrix, kCommand, [&](const v1::Run& run) {
    result.run_id = run.run_id();
    result.run_dir = run.results_dir();
    Summarize(IterationsOf(run, test, finished_events, environments), &result);
    const int exit_code = ConfirmExitCode(*mode, result.verdict, result.all);
    const std::string evidence_dir =
        (fs::path(results_root) / "issues" / absl::StrCat(ref->number) / run.run_id()).string();
    if (absl::Status written = WriteConfirmEvidence(result, exit_code, evidence_dir);
        !written.ok()) {
      std::cerr << kCommand << ": the evidence could not be written: " << written.message() << "\n";
      return static_cast<int>(kExitInfrastructure);
    }
    if (args.matrix.json) {
      std::cout << SummaryJson(result, exit_code).dump(2) << "\n";
    } else {
      PrintResult(result, evidence_dir);
    }
    const std::string comment = CommentMarkdown(result);
    if (!args.post) {
      if (!args.matrix.json) {
        std::cout << "\ncomment for the issue (not posted; --post posts it, also in "
                  << evidence_dir << "/comment.md):\n\n"
                  << comment;
      }
      return exit_code;
    }
    absl::StatusOr<std::string> posted = PostIssueComment(github, *ref, comment);
    if (!posted.ok()) {
      std::cerr << kCommand << ": the comment was not posted: " << posted.status().message()
                << " (it is in " << evidence_dir << "/comment.md)\n";
      return static_cast<int>(kExitInfrastructure);
    }
    (args.matrix.json ? std::cerr : std::cout) << "posted: " << *posted << "\n";
    return exit_code;
  });
}

}  // namespace

void AddConfirmCommand(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<ConfirmArgs>();
  CLI::App* cmd = root.add_subcommand(
      "confirm",
      "Does a GitHub issue's bug reproduce, on which VMs and how often — or, after a fix, is "
      "it gone? Runs the issue's bug scenario N times per VM and writes report.md, comment.md "
      "and summary.json. Exit: 0 the verdict the mode expects, 1 the opposite, 5 "
      "INTERMITTENT, 6 INCONCLUSIVE (4 when the rig failed)");
  // Before the run selection's own positional (the config): `confirm ISSUE [CONFIG]`.
  cmd->add_option("issue", args->issue, "owner/repo#NUMBER or the issue's URL")->required();
  AddMatrixFlags(cmd, &args->matrix, /*detach=*/false);
  AddBuildFlags(cmd, &args->build);
  AddPackageFlag(cmd, &args->matrix);
  cmd->add_option("--iterations", args->matrix.iterations,
                  "attempts per VM, each from the VM's clean state (default 3)")
      ->check(CLI::Range(1, kMaxIterations));
  args->matrix.iterations = 3;
  cmd->add_option("--mode", args->mode,
                  "confirm (expect the bug), verify-fix or regression (expect it gone)")
      ->check(CLI::IsMember({"confirm", "verify-fix", "regression"}));
  cmd->add_option("--scenario", args->scenario,
                  "the bug scenario (default: scenarios/issues/<N>.yaml beside the config, or "
                  "under the working directory)");
  cmd->add_option("--github-token", args->github_token_ref,
                  "GitHub token as env:NAME or file:PATH (optional for public issues; needed "
                  "by --post)");
  cmd->add_option("--github-api", args->github_api,
                  "GitHub's REST API (default https://api.github.com; GitHub Enterprise: "
                  "https://HOST/api/v3)");
  cmd->add_option("--cache-dir", args->cache_dir,
                  "where fetched issues are kept (default ~/.cache/mosdat/github)");
  cmd->add_flag("--refresh", args->refresh, "fetch the issue again instead of the cached copy");
  cmd->add_flag("--post", args->post, "post comment.md on the issue (needs --github-token)");
  cmd->callback([args, exit_code, &global] {
    RunWithLogging(global, exit_code, [&] { return Confirm(*args); });
  });
}

}  // namespace mosdat

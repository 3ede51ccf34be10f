// Evidence as pages (report/): `mosdat trace RESULT_DIR [--out FILE]` writes one job's
// trace viewer as a single self-contained HTML file (frames inside it, to attach to a
// bug report); `mosdat dashboard [--results DIR] [--out DIR]` writes the static history
// site of every run in a results directory.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "report/dashboard_site.h"
#include "report/trace_html.h"

namespace mosdat {
namespace {

namespace fs = std::filesystem;

struct TraceArgs {
  std::string dir;
  std::string out;
};

int RunTrace(const TraceArgs& args) {
  const std::string out =
      args.out.empty() ? (fs::path(args.dir) / "trace-standalone.html").string() : args.out;
  absl::Status written = WriteTraceHtml(args.dir, out, {.inline_images = true});
  if (!written.ok()) {
    std::cerr << "mosdat trace: " << written.message() << "\n";
    if (written.code() == absl::StatusCode::kNotFound) {
      std::cerr << "  (give a job's directory: results/functional/<run>/<vm>, or its "
                   "attempt-N/)\n";
      return kExitUsage;
    }
    return kExitInfrastructure;
  }
  std::cout << out << "\n";
  return kExitPass;
}

struct DashboardArgs {
  DashboardOptions options;
};

int RunDashboard(const DashboardArgs& args) {
  absl::StatusOr<DashboardSummary> site = WriteDashboardSite(args.options);
  if (!site.ok()) {
    std::cerr << "mosdat dashboard: " << site.status().message() << "\n";
    return site.status().code() == absl::StatusCode::kNotFound ? kExitUsage : kExitInfrastructure;
  }
  std::cout << site->index << " (" << site->runs << " runs, " << site->jobs << " jobs";
  if (site->skipped > 0) std::cout << ", " << site->skipped << " directories left out";
  std::cout << ")\n";
  return kExitPass;
}

}  // namespace

void AddReportCommands(CLI::App& root, const GlobalOptions& global, int* exit_code) {
  auto trace = std::make_shared<TraceArgs>();
  CLI::App* trace_cmd =
      root.add_subcommand("trace", "Write a job's trace viewer as one self-contained HTML file");
  trace_cmd->add_option("dir", trace->dir, "the job's result directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  trace_cmd->add_option("--out,--output", trace->out,
                        "the HTML file (default DIR/trace-standalone.html)");
  trace_cmd->callback([trace, exit_code, &global] {
    RunWithLogging(global, exit_code, [trace] { return RunTrace(*trace); });
  });

  auto dashboard = std::make_shared<DashboardArgs>();
  CLI::App* dashboard_cmd =
      root.add_subcommand("dashboard", "Write the static history site of a results directory");
  dashboard_cmd->add_option("--results", dashboard->options.results_root,
                            "results directory (default results)");
  dashboard_cmd->add_option("--out,--output", dashboard->options.out_dir,
                            "the site's directory (default site)");
  dashboard_cmd->callback([dashboard, exit_code, &global] {
    RunWithLogging(global, exit_code, [dashboard] { return RunDashboard(*dashboard); });
  });
}

}  // namespace mosdat

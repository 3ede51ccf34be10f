// Expands a submitted matrix (config × selected tests × their VMs) into jobs. The
// config and every file it references arrive with the request, so the coordinator
// parses exactly what the user validated, with the same parsers.
#ifndef MOSDAT_COORDINATOR_MATRIX_H_
#define MOSDAT_COORDINATOR_MATRIX_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/job.h"

namespace mosdat {

struct MatrixRequest {
  std::string config_path;                   // a key of `files`
  std::map<std::string, std::string> files;  // path → contents
  std::vector<std::string> tests;            // empty = all [[test]]s
  std::vector<std::string> vms;              // empty = each test's own VMs
  VarMap vars;
  std::map<std::string, std::string> secrets;  // run credentials (core/preflight.h RunSecrets)
  // Uploaded packages: every job's VM installs those its [[vm.package]] entries match
  // before the job (JobSpec::deploy). A VM without [[vm.package]] is a config error then.
  std::vector<ArtifactRef> packages;
  // Install jobs (test kInstallTest, JobSpec::install_only): one per VM that installs
  // `packages`, with the config's [verify] checks on the installed copy. kOnly: every
  // selected VM with [[vm.package]], and no other job; kAlso: each VM of the tests'
  // jobs, before them. Either needs packages.
  InstallJobs install_jobs = InstallJobs::kNone;
  // Each scenario job repeated on its VM, as jobs with JobSpec::iteration 1..N, in
  // iteration order (every VM's first, then every VM's second...). 1 = once.
  int iterations = 1;
  // Tests the command line defines: name → scenario path (a key of `files`), run on
  // every selected VM. A name some [[test]] has is InvalidArgument.
  std::map<std::string, std::string> scenario_tests;
};

struct Matrix {
  Config config;
  std::vector<JobSpec> jobs;  // job_id/run_id unset
};

// InvalidArgument for a broken config or scenario (all diagnostics), NotFound for an
// unknown test or VM name, FailedPrecondition for what this version cannot run.
absl::StatusOr<Matrix> ExpandMatrix(const MatrixRequest& request);

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_MATRIX_H_

#include "tests/integration/coordinator_calls.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"

namespace mosdat::testing {
namespace {

std::chrono::system_clock::time_point In(std::chrono::seconds d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace

std::unique_ptr<ServiceProcess> CoordinatorProcess(const std::string& results_dir,
                                                   const std::string& listen,
                                                   std::vector<std::string> extra) {
  std::vector<std::string> argv = {
      BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:MOSDAT_TEST_TOKEN",
      "--agent-token=env:MOSDAT_TEST_AGENT_TOKEN", "--results-dir=" + results_dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto process = std::make_unique<ServiceProcess>(
      argv,
      std::map<std::string, std::string>{{"MOSDAT_TEST_TOKEN", kCoordinatorUserToken},
                                         {"MOSDAT_TEST_AGENT_TOKEN", kCoordinatorAgentToken}});
  process->set_listen(listen);
  return process;
}

absl::Status RegisterDeskAgent(v1::Coordinator::Stub& stub, const std::string& agent_id) {
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  AttachToken(context, kCoordinatorAgentToken);
  v1::RegisterAgentRequest request;
  request.set_agent_id(agent_id);
  request.add_vms("desk");
  v1::RegisterAgentResponse response;
  return FromGrpcStatus(stub.RegisterAgent(&context, request, &response));
}

absl::StatusOr<std::string> SubmitOneJob(v1::Coordinator::Stub& stub,
                                         const std::vector<v1::ArtifactRef>& packages) {
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  AttachToken(context, kCoordinatorUserToken);
  v1::SubmitMatrixRequest request;
  request.set_config_path("/suite/config.toml");
  (*request.mutable_files())["/suite/config.toml"] =
      "[app]\nname = \"demo\"\nbinary = \"/bin/true\"\n[[vm]]\nname = \"desk\"\n"
      "provider = \"local\"\n[[vm.package]]\nformat = \"deb\"\n"
      "[[test]]\nname = \"hello\"\nscenario = \"hello.yaml\"\n";
  (*request.mutable_files())["/suite/hello.yaml"] = "name: hello\nsteps:\n  - key: enter\n";
  for (const v1::ArtifactRef& package : packages) *request.add_packages() = package;
  v1::SubmitMatrixResponse response;
  if (absl::Status s = FromGrpcStatus(stub.SubmitMatrix(&context, request, &response)); !s.ok()) {
    return s;
  }
  return response.run_id();
}

absl::StatusOr<v1::Job> LeaseOne(v1::Coordinator::Stub& stub, const std::string& agent_id) {
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  AttachToken(context, kCoordinatorAgentToken);
  v1::LeaseJobRequest request;
  request.set_agent_id(agent_id);
  request.set_wait_ms(5000);
  v1::LeaseJobResponse response;
  if (absl::Status s = FromGrpcStatus(stub.LeaseJob(&context, request, &response)); !s.ok()) {
    return s;
  }
  if (!response.has_job()) return absl::NotFoundError("no job to lease");
  return response.job();
}

v1::JobEvent LogEvent(const v1::Job& job, uint64_t seq) {
  v1::JobEvent event;
  event.set_job_id(job.job_id());
  event.set_seq(seq);
  event.set_job_attempt(job.attempt());
  event.set_lease_id(job.lease_id());
  event.mutable_log()->set_level("info");
  event.mutable_log()->set_text(absl::StrCat("line ", seq));
  return event;
}

absl::StatusOr<v1::Run> GetRun(v1::Coordinator::Stub& stub, const std::string& run_id) {
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  AttachToken(context, kCoordinatorUserToken);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::Run run;
  if (absl::Status s = FromGrpcStatus(stub.GetRun(&context, request, &run)); !s.ok()) return s;
  return run;
}

}  // namespace mosdat::testing

// The Coordinator gRPC service: translates protos to core types and back; the work is
// done by AgentRegistry (who owns which VM), ExpandMatrix (config → jobs) and RunStore
// (queue, events on disk, watchers). Every RPC needs the token: submitting work makes
// agents act on VMs.
#ifndef MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_
#define MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "coordinator/agent_registry.h"
#include "coordinator/run_store.h"
#include "coordinator/vm_preparations.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"

namespace mosdat {

struct CoordinatorOptions {
  absl::Duration agent_liveness_timeout = absl::Seconds(15);
  absl::Duration heartbeat_interval = absl::Seconds(5);
  std::string results_root = "results";  // runs write under <results_root>/functional/
  // Makes Proxmox VMs ready before their jobs (the proxmox-bridge); null = jobs for
  // such VMs end as infrastructure errors that say so.
  std::shared_ptr<VmProvisioner> provisioner;
  // Where those preparations live; null = the service makes its own from `provisioner`.
  // A process that hosts the bridge too keeps it, to Drain() before the bridge stops.
  std::shared_ptr<VmPreparations> preparations;
};

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  CoordinatorService(const ServiceContext& context, CoordinatorOptions options);

  grpc::Status SubmitMatrix(grpc::ServerContext* context, const v1::SubmitMatrixRequest* request,
                            v1::SubmitMatrixResponse* response) override;
  grpc::Status SubmitMatrixStream(grpc::ServerContext* context,
                                  grpc::ServerReader<v1::SubmitMatrixChunk>* reader,
                                  v1::SubmitMatrixResponse* response) override;
  grpc::Status FetchJobFiles(grpc::ServerContext* context, const v1::FetchJobFilesRequest* request,
                             grpc::ServerWriter<v1::FileChunk>* writer) override;
  grpc::Status WatchRun(grpc::ServerContext* context, const v1::WatchRunRequest* request,
                        grpc::ServerWriter<v1::RunUpdate>* writer) override;
  grpc::Status ListRuns(grpc::ServerContext* context, const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  grpc::Status GetRun(grpc::ServerContext* context, const v1::GetRunRequest* request,
                      v1::Run* response) override;
  grpc::Status LeaseJob(grpc::ServerContext* context, const v1::LeaseJobRequest* request,
                        v1::LeaseJobResponse* response) override;
  grpc::Status ReportEvents(grpc::ServerContext* context,
                            grpc::ServerReaderWriter<v1::EventAck, v1::JobEvent>* stream) override;
  grpc::Status RegisterAgent(grpc::ServerContext* context, const v1::RegisterAgentRequest* request,
                             v1::RegisterAgentResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context, const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;

 private:
  void UpdateAgentGauge();
  // Both submit RPCs end here, with the files already gathered.
  grpc::Status Submit(const v1::SubmitMatrixRequest& request,
                      std::map<std::string, std::string> files, v1::SubmitMatrixResponse* response);

  TokenAuth auth_;
  CoordinatorOptions options_;
  AgentRegistry agents_;
  RunStore runs_;
  std::shared_ptr<VmPreparations> preparations_;
  prometheus::Gauge* live_agents_gauge_;
  prometheus::Family<prometheus::Counter>* jobs_finished_;
  prometheus::Counter* events_recorded_;
};

absl::StatusOr<std::vector<HostedService>> CreateCoordinatorServices(
    const ServiceContext& context, CoordinatorOptions options = {});

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_

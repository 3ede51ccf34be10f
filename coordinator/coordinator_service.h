// The Coordinator gRPC service: translates protos to core types and back; the work is
// done by AgentRegistry (who is alive and drives which VMs), ExpandMatrix (config →
// jobs), RunStore (queue, leases, retries, events, watchers) over a durable Store, and
// VmPreparations (Proxmox VMs made ready and put back).
//
// Two credentials: users (the CLI, CI, other services) submit, watch, list and cancel;
// agents register, lease jobs, fetch their files and report their events. Neither can
// do the other's part, and a job's events are accepted only with its lease's secret.
#ifndef MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_
#define MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <thread>

#include "coordinator/agent_registry.h"
#include "coordinator/run_store.h"
#include "coordinator/vm_preparations.h"
#include "core/artifact_store.h"
#include "mosdat/v1/coordinator.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"

namespace mosdat {

struct CoordinatorOptions {
  absl::Duration agent_liveness_timeout = absl::Seconds(15);
  absl::Duration heartbeat_interval = absl::Seconds(5);
  absl::Duration lease_timeout = absl::Seconds(30);
  absl::Duration unschedulable_timeout = absl::Minutes(5);
  int retries = 1;                       // for submissions that do not say
  std::string results_root = "results";  // runs write under <results_root>/functional/
  // Where the run history lives (SQLite); "" = <results_root>/.mosdat-state.
  std::string state_dir;
  // When state_dir is in use by another process: keep this process's runs in a
  // private directory (removed at exit) instead of failing. For the embedded default,
  // where two terminals may run at once.
  bool private_state_when_busy = false;
  // Resume the runs a previous process left unfinished (false: end them as
  // infrastructure errors; the embedded default, whose runs nobody else watches).
  bool resume_runs = true;
  // The agents' credential; "" = agents use the users' token (embedded only: the
  // service binaries require a separate one).
  std::string agent_token;
  // Makes Proxmox VMs ready before their jobs (the proxmox-bridge); null = jobs for
  // such VMs end as infrastructure errors that say so.
  std::shared_ptr<VmProvisioner> provisioner;
  // Where those preparations live; null = the service makes its own from `provisioner`.
  // A process that hosts the bridge too keeps it, to Drain() before the bridge stops.
  std::shared_ptr<VmPreparations> preparations;
  uint64_t max_artifact_bytes = kDefaultMaxArtifactBytes;  // per uploaded package
};

// The coordinator's own flags, shared by mosdat-coordinator and `mosdat serve`.
struct CoordinatorFlags {
  CoordinatorOptions options;
  std::string agent_token_ref;  // env:NAME or file:PATH
  double lease_timeout_seconds = 30;
  double heartbeat_seconds = 5;
};
void AddCoordinatorFlags(CLI::App& app, CoordinatorFlags* flags);
// The options the flags describe; InvalidArgument naming the flag.
absl::StatusOr<CoordinatorOptions> ResolveCoordinatorFlags(const CoordinatorFlags& flags);

// ReportEvents is a callback method (event_stream.h): it reads ahead while a batch is
// being stored; the others are synchronous.
class CoordinatorService final
    : public v1::Coordinator::WithCallbackMethod_ReportEvents<v1::Coordinator::Service> {
 public:
  CoordinatorService(const ServiceContext& context, CoordinatorOptions options,
                     std::shared_ptr<Store> store, std::unique_ptr<RunStore> runs,
                     std::unique_ptr<ArtifactStore> artifacts, std::string private_state_dir);
  ~CoordinatorService() override;

  grpc::Status SubmitMatrix(grpc::ServerContext* context, const v1::SubmitMatrixRequest* request,
                            v1::SubmitMatrixResponse* response) override;
  grpc::Status SubmitMatrixStream(grpc::ServerContext* context,
                                  grpc::ServerReader<v1::SubmitMatrixChunk>* reader,
                                  v1::SubmitMatrixResponse* response) override;
  grpc::Status FetchEvidence(grpc::ServerContext* context, const v1::FetchEvidenceRequest* request,
                             grpc::ServerWriter<v1::FileChunk>* writer) override;
  grpc::Status FetchJobFiles(grpc::ServerContext* context, const v1::FetchJobFilesRequest* request,
                             grpc::ServerWriter<v1::FileChunk>* writer) override;
  grpc::Status UploadArtifact(grpc::ServerContext* context,
                              grpc::ServerReader<v1::ArtifactChunk>* reader,
                              v1::UploadArtifactResponse* response) override;
  grpc::Status FetchArtifact(grpc::ServerContext* context, const v1::FetchArtifactRequest* request,
                             grpc::ServerWriter<v1::FileChunk>* writer) override;
  grpc::Status WatchRun(grpc::ServerContext* context, const v1::WatchRunRequest* request,
                        grpc::ServerWriter<v1::RunUpdate>* writer) override;
  grpc::Status ListRuns(grpc::ServerContext* context, const v1::ListRunsRequest* request,
                        v1::ListRunsResponse* response) override;
  grpc::Status GetRun(grpc::ServerContext* context, const v1::GetRunRequest* request,
                      v1::Run* response) override;
  grpc::Status CancelRun(grpc::ServerContext* context, const v1::CancelRunRequest* request,
                         v1::CancelRunResponse* response) override;
  grpc::Status LeaseJob(grpc::ServerContext* context, const v1::LeaseJobRequest* request,
                        v1::LeaseJobResponse* response) override;
  grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck>* ReportEvents(
      grpc::CallbackServerContext* context) override;
  grpc::Status RegisterAgent(grpc::ServerContext* context, const v1::RegisterAgentRequest* request,
                             v1::RegisterAgentResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context, const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;

 private:
  enum class Role { kUser, kAgent };
  // OK for the role's credential; PERMISSION_DENIED for the other role's (saying what
  // it may not do); UNAUTHENTICATED otherwise. With a verified client certificate, an
  // agent's id must be the certificate's common name.
  grpc::Status Authorize(const grpc::ServerContextBase& context, Role role,
                         const std::string& agent_id = "") const;
  // Both submit RPCs end here, with the files already gathered.
  grpc::Status Submit(const v1::SubmitMatrixRequest& request,
                      std::map<std::string, std::string> files, v1::SubmitMatrixResponse* response);
  // Expires lost leases and refreshes the gauges, until the service stops.
  void Tick();
  void UpdateGauges();

  TokenAuth users_;
  TokenAuth agents_auth_;
  CoordinatorOptions options_;
  AgentRegistry agents_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<RunStore> runs_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::string private_state_dir_;  // removed at destruction when set
  std::shared_ptr<VmPreparations> preparations_;
  std::mutex preparing_mutex_;
  std::map<std::string, RunStore::Lease> preparing_;  // by job id, while its VM is made ready

  prometheus::Gauge* live_agents_gauge_;
  prometheus::Family<prometheus::Counter>* jobs_finished_;
  prometheus::Counter* events_recorded_;
  prometheus::Gauge* queue_depth_;
  prometheus::Family<prometheus::Gauge>* jobs_by_state_;
  prometheus::Counter* lease_expiries_;
  prometheus::Counter* retries_;
  int retries_seen_ = 0;
  prometheus::Gauge* capacity_;
  prometheus::Gauge* slots_in_use_;

  std::mutex tick_mutex_;
  std::condition_variable tick_wakeup_;
  bool stopping_ = false;
  std::thread ticker_;
};

// Opens the store (state_dir) and the runs it holds, then the service. `metrics`
// receives the store's commit latency too.
absl::StatusOr<std::vector<HostedService>> CreateCoordinatorServices(
    const ServiceContext& context, CoordinatorOptions options = {});

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_COORDINATOR_SERVICE_H_

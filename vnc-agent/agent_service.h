// The Agent gRPC service of mosdat-agent: interactive sessions on VNC screens (for the
// authoring API and live dashboard) — open, capture (optionally only a frame newer than
// a given input), input, run scenario steps (shell, launch, waits, VLM...), describe a
// point (AT-SPI + OCR), close. Every RPC acts on a VM and checks the token. Jobs are
// not run through here but leased from the coordinator (see agent_worker.h).
#ifndef MOSDAT_VNC_AGENT_AGENT_SERVICE_H_
#define MOSDAT_VNC_AGENT_AGENT_SERVICE_H_

#include <map>
#include <memory>
#include <mutex>

#include "mosdat/v1/agent.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"
#include "vnc-agent/steps/agent_jobs.h"
#include "vnc-agent/steps/guest_access.h"
#include "vnc-agent/steps/ocr.h"
#include "vnc-agent/steps/vlm_client.h"

namespace mosdat {

struct AgentServiceOptions {
  // The vlm-gateway for localize/verify steps run in sessions, asked for at first use
  // (the embedded one exists only once the services run); unset or null: none.
  std::function<std::shared_ptr<VlmClient>()> vlm;
  // The jobs failed steps hold on this agent (shared with its worker): sessions attach
  // to them, ResumePaused lets them go on. Null: ListPaused is empty, the rest NotFound.
  std::shared_ptr<AgentJobs> jobs;
};

class AgentService final : public v1::Agent::Service {
 public:
  explicit AgentService(const ServiceContext& context, AgentServiceOptions options = {})
      : auth_(context.token), options_(std::move(options)) {}

  grpc::Status OpenSession(grpc::ServerContext* context, const v1::OpenSessionRequest* request,
                           v1::OpenSessionResponse* response) override;
  grpc::Status CloseSession(grpc::ServerContext* context, const v1::CloseSessionRequest* request,
                            v1::CloseSessionResponse* response) override;
  grpc::Status Capture(grpc::ServerContext* context, const v1::CaptureRequest* request,
                       v1::CaptureResponse* response) override;
  grpc::Status Input(grpc::ServerContext* context, const v1::InputRequest* request,
                     v1::InputResponse* response) override;
  grpc::Status ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;
  grpc::Status DumpAccessibility(grpc::ServerContext* context,
                                 const v1::DumpAccessibilityRequest* request,
                                 v1::DumpAccessibilityResponse* response) override;
  grpc::Status RunStep(grpc::ServerContext* context, const v1::RunStepRequest* request,
                       grpc::ServerWriter<v1::JobEvent>* writer) override;
  grpc::Status Describe(grpc::ServerContext* context, const v1::DescribeRequest* request,
                        v1::DescribeResponse* response) override;
  grpc::Status FindAccessible(grpc::ServerContext* context,
                              const v1::FindAccessibleRequest* request,
                              v1::FindAccessibleResponse* response) override;
  grpc::Status ListPaused(grpc::ServerContext* context, const v1::ListPausedRequest* request,
                          v1::ListPausedResponse* response) override;
  grpc::Status ResumePaused(grpc::ServerContext* context, const v1::ResumePausedRequest* request,
                            v1::ResumePausedResponse* response) override;
  grpc::Status SetPauseOnFailure(grpc::ServerContext* context,
                                 const v1::SetPauseOnFailureRequest* request,
                                 v1::SetPauseOnFailureResponse* response) override;

 private:
  // What a session holds, shared by the calls that use it. Destroyed in reverse order:
  // SSH (and a local VM's private sshd) first, then VNC, then the desktop.
  struct Held {
    VmTarget target;
    std::shared_ptr<LocalDesktop> desktop;  // a local VM's, for the session's life
    std::shared_ptr<VncSession> vnc;
    std::unique_ptr<GuestAccess> guest;  // connected on first use
    std::mutex steps;                    // one RunStep at a time
    // A job's screen: held (taken over; the session ends with the hold) or running
    // (watched, read-only; the session ends with the job).
    std::string attached_job;
    bool watch_only = false;
  };
  struct Session {
    std::string vm;
    std::shared_ptr<Held> held;
  };
  // NotFound for an unknown session, and for one attached to a job that went on (it is
  // closed then).
  absl::StatusOr<Session> Find(const std::string& session_id);
  // Opens the session's screen and guest: the VM's, or a held job's.
  absl::StatusOr<std::shared_ptr<Held>> OpenVm(const v1::VmTarget& vm);
  absl::StatusOr<std::shared_ptr<Held>> Attach(const std::string& job_id, v1::PausedJob* paused);
  absl::StatusOr<std::shared_ptr<Held>> Watch(const std::string& job_id);
  // Find, for a call that acts on the VM or asks inside it: PermissionDenied for a
  // session that only watches a job.
  absl::StatusOr<Session> FindActing(const std::string& session_id);
  // The OCR engine for Describe, made at first use; null with the reason in `*error`.
  OcrEngine* Ocr(std::string* error);

  TokenAuth auth_;
  AgentServiceOptions options_;
  std::mutex ocr_mutex_;  // guards ocr_ and every use of it
  std::unique_ptr<OcrEngine> ocr_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
};

absl::StatusOr<std::vector<HostedService>> CreateAgentServices(const ServiceContext& context,
                                                               AgentServiceOptions options = {});

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_AGENT_SERVICE_H_

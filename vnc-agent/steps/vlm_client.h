// VlmClient: how the scenario runner asks a vision-language model where something is
// (localize) or whether something is true of the screen (verify). The production client
// (vnc-agent/vlm_gateway_client.h) calls the vlm-gateway service over gRPC (in-process
// in the embedded default), so the cache, de-duplication and retries live in one place
// for every agent.
#ifndef MOSDAT_VNC_AGENT_STEPS_VLM_CLIENT_H_
#define MOSDAT_VNC_AGENT_STEPS_VLM_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/events.h"
#include "core/vlm_types.h"

namespace mosdat {

class VlmClient {
 public:
  virtual ~VlmClient() = default;
  // Errors keep the gateway's message; their codes are the gateway's (FailedPrecondition
  // when it has no model configured, Unavailable/DeadlineExceeded when the model
  // endpoint failed, DataLoss for an answer that is not the protocol).
  virtual absl::StatusOr<LocalizeResult> Localize(const LocalizeRequest& request,
                                                  absl::Duration timeout) = 0;
  virtual absl::StatusOr<VerifyResult> Verify(const VerifyRequest& request,
                                              absl::Duration timeout) = 0;
};

// An answer as evidence (events.jsonl "vlm"): answer, point or reason, confidence, model,
// cache_hit. The caller fills in kind, prompt and screenshot.
VlmCall RecordOf(const LocalizeResult& result);
VlmCall RecordOf(const VerifyResult& result);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_VLM_CLIENT_H_

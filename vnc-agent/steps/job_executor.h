// Runs one leased job end to end on this agent's host: makes the VM's screen reachable
// (for local VMs: brings up a private desktop), connects VNC, parses the scenario from
// the files sent with the job, runs it, and tears everything down. Every event goes
// through `emit`, numbered from 1; the last one is always job_finished.
#ifndef MOSDAT_VNC_AGENT_STEPS_JOB_EXECUTOR_H_
#define MOSDAT_VNC_AGENT_STEPS_JOB_EXECUTOR_H_

#include <functional>

#include "core/cancel_token.h"
#include "core/events.h"
#include "core/job.h"
#include "vnc-agent/steps/agent_jobs.h"
#include "vnc-agent/steps/vlm_client.h"

namespace mosdat {

using EmitEvent = std::function<absl::Status(Event)>;

// `vlm` answers the job's localize/verify steps; null when this agent has no gateway.
// `cancel`, set from another thread, stops the job (core/cancel_token.h): cancelled, it
// runs the scenario's cleanup and finishes with verdict error, reason "cancelled:
// <reason>"; lost, it stops at once and emits nothing more (not even job_finished), and
// returns kError. `jobs`: where the job's screen can be watched while it runs, and
// where a failed step holds it for a person when the job or its run asks for it
// (JobSpec::pause_on_failure); null: neither.
JobVerdict ExecuteJob(const JobSpec& job, const EmitEvent& emit,
                      std::shared_ptr<VlmClient> vlm = nullptr,
                      std::shared_ptr<const CancelToken> cancel = nullptr,
                      AgentJobs* jobs = nullptr);

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_JOB_EXECUTOR_H_

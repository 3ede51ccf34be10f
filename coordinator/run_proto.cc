#include "coordinator/run_proto.h"

#include "runtime/proto_convert.h"

namespace mosdat {

v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return v1::JOB_STATE_QUEUED;
    case JobState::kPreparing:
      return v1::JOB_STATE_PREPARING;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kDone:
      return v1::JOB_STATE_DONE;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

v1::Job JobToProto(const JobRecord& job) {
  v1::Job out;
  out.set_job_id(job.job_id);
  out.set_run_id(job.run_id);
  out.set_test(job.test);
  out.mutable_vm()->set_name(job.vm);
  out.set_variant(job.variant);
  out.set_state(ToProto(job.state));
  out.set_verdict(job.Finished() ? ToProto(job.verdict) : v1::VERDICT_UNSPECIFIED);
  out.set_reason(job.reason);
  out.set_results_dir(job.results_dir);
  out.set_max_attempts(job.max_attempts);
  out.set_attempt(static_cast<int32_t>(job.attempts.size()));
  if (const AttemptRecord* last = job.Current()) {
    out.set_agent_id(last->agent);
    out.set_duration_seconds(last->duration_seconds);
  }
  for (const AttemptRecord& a : job.attempts) {
    v1::JobAttempt* attempt = out.add_attempts();
    attempt->set_number(a.number);
    attempt->set_agent_id(a.agent);
    attempt->set_verdict(a.finished ? ToProto(a.verdict) : v1::VERDICT_UNSPECIFIED);
    attempt->set_reason(a.reason);
    attempt->set_started_unix_ms(absl::ToUnixMillis(a.started));
    if (a.finished) attempt->set_finished_unix_ms(absl::ToUnixMillis(a.ended));
    attempt->set_duration_seconds(a.duration_seconds);
    attempt->set_results_dir(a.results_dir);
  }
  return out;
}

v1::Run RunToProto(const RunRecord& run) {
  v1::Run out;
  out.set_run_id(run.run_id);
  out.set_label(run.label);
  out.set_created_unix_ms(absl::ToUnixMillis(run.created));
  if (run.done) out.set_finished_unix_ms(absl::ToUnixMillis(run.finished));
  out.set_verdict(run.done ? ToProto(run.verdict) : v1::VERDICT_UNSPECIFIED);
  out.set_results_dir(run.results_dir);
  out.set_done(run.done);
  out.set_cancelled(run.cancelled);
  for (const JobRecord& job : run.jobs) *out.add_jobs() = JobToProto(job);
  return out;
}

v1::RunUpdate UpdateToProto(const StoredUpdate& update, const RunRecord* run) {
  v1::RunUpdate out;
  out.set_run_seq(update.seq);
  if (update.event) {
    *out.mutable_event() = ToProto(*update.event);
  } else if (update.job) {
    *out.mutable_job() = JobToProto(*update.job);
  } else if (run != nullptr) {
    *out.mutable_run() = RunToProto(*run);
  }
  return out;
}

}  // namespace mosdat

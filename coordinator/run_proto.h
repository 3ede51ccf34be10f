// Runs and jobs as the Coordinator API shows them (coordinator.proto).
#ifndef MOSDAT_COORDINATOR_RUN_PROTO_H_
#define MOSDAT_COORDINATOR_RUN_PROTO_H_

#include "coordinator/store.h"
#include "mosdat/v1/coordinator.pb.h"

namespace mosdat {

v1::JobState ToProto(JobState state);
v1::Job JobToProto(const JobRecord& job);
v1::Run RunToProto(const RunRecord& run);
// An update for watchers; a kRun update carries `run` (the finished run, read by the
// caller from the store).
v1::RunUpdate UpdateToProto(const StoredUpdate& update, const RunRecord* run = nullptr);

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_RUN_PROTO_H_

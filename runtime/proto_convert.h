// Translation between the wire (mosdat.v1 protos) and the core's own types. Services
// call these at their edges; nothing inside core/ sees a proto.
#ifndef MOSDAT_RUNTIME_PROTO_CONVERT_H_
#define MOSDAT_RUNTIME_PROTO_CONVERT_H_

#include "absl/status/statusor.h"
#include "core/events.h"
#include "core/job.h"
#include "mosdat/v1/coordinator.pb.h"

namespace mosdat {

v1::JobEvent ToProto(const Event& event);
Event FromProto(const v1::JobEvent& event);

v1::VmTarget ToProto(const VmTarget& target);
// InvalidArgument naming the field ("vm.provider: ...") for values this version rejects.
absl::StatusOr<VmTarget> FromProto(const v1::VmTarget& target);

v1::ArtifactRef ToProto(const ArtifactRef& ref);
ArtifactRef FromProto(const v1::ArtifactRef& ref);  // checked where it is used

v1::Job ToProto(const JobSpec& job);
// Untrusted input (an agent or coordinator on the network): errors name the field.
absl::StatusOr<JobSpec> FromProto(const v1::Job& job);

v1::Verdict ToProto(JobVerdict verdict);
JobVerdict FromProto(v1::Verdict verdict);

// Variables travel JSON-encoded so their types survive (int stays int, lists stay lists).
std::string ValueToJson(const Value& value);
absl::StatusOr<Value> ValueFromJson(const std::string& json);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_PROTO_CONVERT_H_

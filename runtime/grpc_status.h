// Conversions between absl::Status (the core's errors) and grpc::Status (the wire).
#ifndef MOSDAT_RUNTIME_GRPC_STATUS_H_
#define MOSDAT_RUNTIME_GRPC_STATUS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace mosdat {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);


}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_GRPC_STATUS_H_

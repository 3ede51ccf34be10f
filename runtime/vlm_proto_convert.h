// Translation between the VlmGateway protos and core/vlm_types.h, used by the gateway's
// service (server side) and by its clients (the agent's runner, `mosdat replay`).
#ifndef MOSDAT_RUNTIME_VLM_PROTO_CONVERT_H_
#define MOSDAT_RUNTIME_VLM_PROTO_CONVERT_H_

#include "core/vlm_types.h"
#include "mosdat/v1/vlm_gateway.pb.h"

namespace mosdat {

v1::Image ToProto(const VlmImage& image);
VlmImage FromProto(const v1::Image& image);

v1::LocalizeRequest ToProto(const LocalizeRequest& request);
LocalizeRequest FromProto(const v1::LocalizeRequest& request);
v1::LocalizeResponse ToProto(const LocalizeResult& result);
LocalizeResult FromProto(const v1::LocalizeResponse& response);

v1::VerifyRequest ToProto(const VerifyRequest& request);
VerifyRequest FromProto(const v1::VerifyRequest& request);
v1::VerifyResponse ToProto(const VerifyResult& result);
VerifyResult FromProto(const v1::VerifyResponse& response);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_VLM_PROTO_CONVERT_H_

// The VlmClient that calls the vlm-gateway service over gRPC.
#include "vnc-agent/vlm_gateway_client.h"

#include <grpcpp/grpcpp.h>

#include "mosdat/v1/vlm_gateway.grpc.pb.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"
#include "runtime/vlm_proto_convert.h"

namespace mosdat {
namespace {

class GatewayClient final : public VlmClient {
 public:
  GatewayClient(std::shared_ptr<grpc::Channel> channel, std::string token)
      : stub_(v1::VlmGateway::NewStub(std::move(channel))), token_(std::move(token)) {}

  absl::StatusOr<LocalizeResult> Localize(const LocalizeRequest& request,
                                          absl::Duration timeout) override {
    grpc::ClientContext context;
    Prepare(context, timeout);
    v1::LocalizeResponse response;
    grpc::Status status = stub_->Localize(&context, ToProto(request), &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return FromProto(response);
  }

  absl::StatusOr<VerifyResult> Verify(const VerifyRequest& request,
                                      absl::Duration timeout) override {
    grpc::ClientContext context;
    Prepare(context, timeout);
    v1::VerifyResponse response;
    grpc::Status status = stub_->Verify(&context, ToProto(request), &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return FromProto(response);
  }

 private:
  void Prepare(grpc::ClientContext& context, absl::Duration timeout) {
    if (!token_.empty()) AttachToken(context, token_);
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }

  std::unique_ptr<v1::VlmGateway::Stub> stub_;
  std::string token_;
};

}  // namespace

std::unique_ptr<VlmClient> NewVlmGatewayClient(std::shared_ptr<grpc::Channel> channel,
                                               std::string token) {
  return std::make_unique<GatewayClient>(std::move(channel), std::move(token));
}

}  // namespace mosdat

// The VlmGateway gRPC service of mosdat-vlm-gateway (and of the embedded default). It
// translates protos to the gateway core's types (gateway.h) and back; nothing below
// this file sees a proto. Without a [vlm] configuration it still starts — the embedded
// default must run without a VLM — and Localize/Verify/ListModels/cache calls answer
// FAILED_PRECONDITION explaining how to configure one. When the host has a token,
// callers must present it.
#ifndef MOSDAT_VLM_GATEWAY_GATEWAY_SERVICE_H_
#define MOSDAT_VLM_GATEWAY_GATEWAY_SERVICE_H_

#include <memory>
#include <optional>

#include "core/config.h"
#include "mosdat/v1/vlm_gateway.grpc.pb.h"
#include "runtime/service_main.h"
#include "runtime/token_auth.h"
#include "vlm-gateway/gateway.h"

namespace mosdat {

class VlmGatewayService final : public v1::VlmGateway::Service {
 public:
  // `gateway` may be null: the service is then unconfigured.
  VlmGatewayService(const ServiceContext& context, std::unique_ptr<VlmGateway> gateway);

  grpc::Status Localize(grpc::ServerContext* context, const v1::LocalizeRequest* request,
                        v1::LocalizeResponse* response) override;
  grpc::Status Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override;
  grpc::Status ListModels(grpc::ServerContext* context, const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status CacheStats(grpc::ServerContext* context, const v1::CacheStatsRequest* request,
                          v1::CacheStatsResponse* response) override;
  grpc::Status PruneCache(grpc::ServerContext* context, const v1::PruneCacheRequest* request,
                          v1::PruneCacheResponse* response) override;

 private:
  // Token check, then a configured gateway.
  grpc::Status Admit(const grpc::ServerContext& context) const;

  std::optional<TokenAuth> auth_;
  std::unique_ptr<VlmGateway> gateway_;
};

struct VlmGatewayServiceOptions {
  std::optional<VlmConfig> vlm;  // unset = unconfigured
};

// Unconfigured (the embedded default without a VLM).
absl::StatusOr<std::vector<HostedService>> CreateVlmGatewayServices(const ServiceContext& context);
// Configured from [vlm]: resolves the API key and opens the cache now, so a missing
// secret or an unwritable cache_dir stops the service from starting.
absl::StatusOr<std::vector<HostedService>> CreateVlmGatewayServices(
    const ServiceContext& context, const VlmGatewayServiceOptions& options);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_GATEWAY_SERVICE_H_

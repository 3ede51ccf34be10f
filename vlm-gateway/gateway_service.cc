#include "vlm-gateway/gateway_service.h"

#include "absl/strings/str_cat.h"
#include "runtime/grpc_status.h"
#include "runtime/vlm_proto_convert.h"

namespace mosdat {
namespace {

constexpr char kUnconfigured[] =
    "no VLM is configured: add a [vlm] table (base_url, model) to the config given with "
    "--config, or start mosdat-vlm-gateway with --base-url URL --model NAME";

}  // namespace

VlmGatewayService::VlmGatewayService(const ServiceContext& context,
                                     std::unique_ptr<VlmGateway> gateway)
    : gateway_(std::move(gateway)) {
  if (!context.token.empty()) auth_.emplace(context.token);
}

grpc::Status VlmGatewayService::Admit(const grpc::ServerContext& context) const {
  if (auth_) {
    if (grpc::Status s = auth_->Check(context); !s.ok()) return s;
  }
  if (gateway_ == nullptr)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, kUnconfigured);
  return grpc::Status::OK;
}

grpc::Status VlmGatewayService::Localize(grpc::ServerContext* context,
                                         const v1::LocalizeRequest* request,
                                         v1::LocalizeResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<LocalizeResult> result = gateway_->Localize(FromProto(*request));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = ToProto(*result);
  return grpc::Status::OK;
}

grpc::Status VlmGatewayService::Verify(grpc::ServerContext* context,
                                       const v1::VerifyRequest* request,
                                       v1::VerifyResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<VerifyResult> result = gateway_->Verify(FromProto(*request));
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = ToProto(*result);
  return grpc::Status::OK;
}

grpc::Status VlmGatewayService::ListModels(grpc::ServerContext* context,
                                           const v1::ListModelsRequest*,
                                           v1::ListModelsResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<ModelList> models = gateway_->ListModels();
  if (!models.ok()) return ToGrpcStatus(models.status());
  for (const std::string& model : models->models) response->add_models(model);
  response->set_endpoint(models->endpoint);
  return grpc::Status::OK;
}

grpc::Status VlmGatewayService::CacheStats(grpc::ServerContext* context,
                                           const v1::CacheStatsRequest*,
                                           v1::CacheStatsResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  absl::StatusOr<VlmCacheStats> stats = gateway_->CacheStats();
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  auto unix_ms = [](absl::Time t) {
    return t == absl::InfinitePast() ? int64_t{0} : absl::ToUnixMillis(t);
  };
  response->set_entries(stats->entries);
  response->set_bytes(stats->bytes);
  response->set_hits(gateway_->cache_hits());
  response->set_misses(gateway_->cache_misses());
  response->set_oldest_unix_ms(unix_ms(stats->oldest));
  response->set_newest_unix_ms(unix_ms(stats->newest));
  response->set_file_bytes(stats->file_bytes);
  response->set_path(stats->path);
  response->set_stored_hits(stats->stored_hits);
  response->set_deduplicated(gateway_->deduplicated());
  return grpc::Status::OK;
}

grpc::Status VlmGatewayService::PruneCache(grpc::ServerContext* context,
                                           const v1::PruneCacheRequest* request,
                                           v1::PruneCacheResponse* response) {
  if (grpc::Status s = Admit(*context); !s.ok()) return s;
  if (!request->clear_all() && request->older_than_seconds() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "older_than_seconds must not be negative");
  }
  if (!request->clear_all() && request->older_than_seconds() == 0) {
    response->set_removed(0);
    return grpc::Status::OK;
  }
  absl::StatusOr<int64_t> removed =
      request->clear_all() ? gateway_->ClearCache()
                           : gateway_->PruneCache(absl::Seconds(request->older_than_seconds()));
  if (!removed.ok()) return ToGrpcStatus(removed.status());
  response->set_removed(static_cast<uint64_t>(*removed));
  return grpc::Status::OK;
}

absl::StatusOr<std::vector<HostedService>> CreateVlmGatewayServices(const ServiceContext& context) {
  return CreateVlmGatewayServices(context, VlmGatewayServiceOptions{});
}

absl::StatusOr<std::vector<HostedService>> CreateVlmGatewayServices(
    const ServiceContext& context, const VlmGatewayServiceOptions& options) {
  std::unique_ptr<VlmGateway> gateway;
  if (options.vlm) {
    absl::StatusOr<GatewayOptions> gateway_options = GatewayOptionsFromConfig(*options.vlm);
    if (!gateway_options.ok()) return gateway_options.status();
    gateway_options->metrics = context.metrics;
    absl::StatusOr<std::unique_ptr<VlmGateway>> created =
        VlmGateway::Create(std::move(*gateway_options));
    if (!created.ok()) return created.status();
    gateway = std::move(*created);
  }
  std::vector<HostedService> services;
  services.push_back({std::make_unique<VlmGatewayService>(context, std::move(gateway)),
                      v1::VlmGateway::service_full_name()});
  return services;
}

}  // namespace mosdat

// mosdat-vlm-gateway: cached localize/verify calls to OpenAI-compatible VLM endpoints.
// Configured by --config X.toml ([vlm]) and/or --base-url/--model/... flags; without
// either it serves, unconfigured, answering FAILED_PRECONDITION.
#include <spdlog/spdlog.h>

#include "runtime/service_main.h"
#include "vlm-gateway/gateway_service.h"
#include "vlm-gateway/service_config.h"

int main(int argc, char** argv) {
  mosdat::VlmFlags flags;
  return mosdat::RunServiceMain(
      argc, argv,
      {.binary = "mosdat-vlm-gateway",
       .description = "mOSdat vlm-gateway: cached localize/verify calls to a VLM",
       .default_grpc_port = 50153,
       .default_metrics_port = 9153,
       .requires_token = false,
       .add_flags = [&](CLI::App& app) { mosdat::AddVlmFlags(app, &flags); },
       .create = [&](const mosdat::ServiceContext& context)
           -> absl::StatusOr<std::vector<mosdat::HostedService>> {
         absl::StatusOr<std::optional<mosdat::VlmConfig>> vlm = mosdat::ResolveVlmConfig(flags);
         if (!vlm.ok()) return vlm.status();
         if (!vlm->has_value()) {
           spdlog::warn(
               "no VLM configured (--config with [vlm], or --base-url and --model): "
               "localize and verify will answer FAILED_PRECONDITION");
         } else {
           spdlog::info("VLM endpoint {} ({} fallbacks), model {}, cache {}", (*vlm)->base_url,
                        (*vlm)->fallback_base_urls.size(), (*vlm)->model, (*vlm)->cache_dir);
         }
         return mosdat::CreateVlmGatewayServices(context, {.vlm = *vlm});
       }});
}

// mosdat-vlm-gateway: cached localize/verify calls to OpenAI-compatible VLM endpoints.
#include "runtime/service_main.h"
#include "vlm-gateway/gateway_service.h"

int main(int argc, char** argv) {
  return mosdat::RunServiceMain(
      argc, argv,
      {.binary = "mosdat-vlm-gateway",
       .description = "mOSdat vlm-gateway: cached localize/verify calls to a VLM",
       .default_grpc_port = 50153,
       .default_metrics_port = 9153,
       .requires_token = false,
       .create = mosdat::CreateVlmGatewayServices});
}

// mosdat-proxmox-bridge: VM lifecycle, GPU passthrough and consoles via the Proxmox API.
#include "proxmox-bridge/bridge_service.h"
#include "runtime/service_main.h"

int main(int argc, char** argv) {
  return mosdat::RunServiceMain(
      argc, argv,
      {.binary = "mosdat-proxmox-bridge",
       .description = "mOSdat proxmox-bridge: VM lifecycle through the Proxmox VE API",
       .default_grpc_port = 50154,
       .default_metrics_port = 9154,
       .requires_token = true,
       .create = mosdat::CreateProxmoxBridgeServices});
}

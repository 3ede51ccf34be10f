// mosdat-agent: holds VNC/SSH sessions to one host's VMs and executes scenario steps.
#include "runtime/service_main.h"
#include "vnc-agent/agent_service.h"

int main(int argc, char** argv) {
  return mosdat::RunServiceMain(argc, argv,
                                {.binary = "mosdat-agent",
                                 .description = "mOSdat vnc-agent: drives one host's VMs",
                                 .default_grpc_port = 50152,
                                 .default_metrics_port = 9152,
                                 .requires_token = true,
                                 .create = mosdat::CreateAgentServices});
}

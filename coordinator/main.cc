// mosdat-coordinator: schedules scenario jobs onto agents and stores their events.
#include "coordinator/coordinator_service.h"
#include "runtime/service_main.h"

int main(int argc, char** argv) {
  mosdat::CoordinatorOptions options;
  return mosdat::RunServiceMain(
      argc, argv,
      {.binary = "mosdat-coordinator",
       .description = "mOSdat coordinator: schedules scenario jobs onto agents",
       .default_grpc_port = 50151,
       .default_metrics_port = 9151,
       .requires_token = true,
       .add_flags =
           [&](CLI::App& app) {
             app.add_option("--results-dir", options.results_root,
                            "where runs write their evidence (<dir>/functional/<run>/...)")
                 ->capture_default_str();
           },
       .create = [&](const mosdat::ServiceContext& context) {
         return mosdat::CreateCoordinatorServices(context, options);
       }});
}

// GatewayOptions: everything a VlmGateway needs, built from the config's [vlm] table.
// Holds the resolved API key: never log or print an options object.
#ifndef MOSDAT_VLM_GATEWAY_GATEWAY_OPTIONS_H_
#define MOSDAT_VLM_GATEWAY_GATEWAY_OPTIONS_H_

#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/config.h"
#include "vlm-gateway/coordinates.h"

namespace mosdat {

struct GatewayOptions {
  std::vector<std::string> base_urls;  // base_url, then fallback_base_urls
  std::string model;                   // localize (and verify when verify_model is empty)
  std::string verify_model;
  std::string expected_model;  // checked against each endpoint's model list
  std::string api_key;         // resolved secret; empty = none
  VlmCoordinates coordinates = VlmCoordinates::kAuto;
  ResizePolicy resize;  // for pixel-convention models
  absl::Duration timeout = absl::Seconds(60);
  int max_concurrency = 2;  // per endpoint
  int retries = 2;          // extra attempts per endpoint on transient errors
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(8);
  absl::Duration endpoint_cooldown = absl::Seconds(30);
  std::string cache_dir;  // empty = no cache
  // Where metrics go; null = a private registry (CLI, tests, benchmarks).
  std::shared_ptr<prometheus::Registry> metrics;
};

// Resolves [vlm].api_key (env:/file:) now, so a missing secret fails at startup with a
// message naming the variable or file, never the value.
absl::StatusOr<GatewayOptions> GatewayOptionsFromConfig(const VlmConfig& config);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_GATEWAY_OPTIONS_H_

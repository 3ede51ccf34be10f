#include "vlm-gateway/gateway_options.h"

#include "absl/strings/str_cat.h"

namespace mosdat {

absl::StatusOr<GatewayOptions> GatewayOptionsFromConfig(const VlmConfig& config) {
  GatewayOptions options;
  options.base_urls.push_back(config.base_url);
  options.base_urls.insert(options.base_urls.end(), config.fallback_base_urls.begin(),
                           config.fallback_base_urls.end());
  options.model = config.model;
  options.verify_model = config.verify_model;
  options.expected_model = config.expected_model;
  if (config.api_key.is_set()) {
    absl::StatusOr<std::string> key = config.api_key.Resolve();
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("[vlm].api_key: ", key.status().message()));
    }
    options.api_key = *key;
  }
  options.coordinates = config.coordinates;
  options.timeout = absl::Seconds(config.timeout);
  options.max_concurrency = config.max_concurrency;
  options.retries = config.retries;
  options.cache_dir = config.cache_dir;
  return options;
}

}  // namespace mosdat

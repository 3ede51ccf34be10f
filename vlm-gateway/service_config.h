// How mosdat-vlm-gateway is configured: `--config X.toml` reads its [vlm] table, and
// flags (--base-url, --model, ...) set or override single values, so the gateway can
// also run without a config file. Neither given: the service starts unconfigured and
// answers FAILED_PRECONDITION saying how to configure it.
#ifndef MOSDAT_VLM_GATEWAY_SERVICE_CONFIG_H_
#define MOSDAT_VLM_GATEWAY_SERVICE_CONFIG_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace mosdat {

// Unset values are empty strings, empty lists or negative numbers.
struct VlmFlags {
  std::string config;
  std::string base_url;
  std::vector<std::string> fallback_base_urls;
  std::string model;
  std::string verify_model;
  std::string expected_model;
  std::string api_key;      // env:NAME or file:PATH
  std::string coordinates;  // auto | normalized_1000 | pixels
  double timeout = -1;
  int max_concurrency = -1;
  int retries = -1;
  std::string cache_dir;
};

void AddVlmFlags(CLI::App& app, VlmFlags* flags);

// The [vlm] configuration the flags describe; nullopt when there is none. Config
// problems are the config parser's errors; flag problems are INVALID_ARGUMENT.
absl::StatusOr<std::optional<VlmConfig>> ResolveVlmConfig(const VlmFlags& flags);

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_SERVICE_CONFIG_H_

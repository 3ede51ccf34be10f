#include "vlm-gateway/service_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/config_parser.h"
#include "core/secret_ref.h"

namespace mosdat {
namespace {

bool IsHttpUrl(const std::string& url) {
  return absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://");
}

}  // namespace

void AddVlmFlags(CLI::App& app, VlmFlags* flags) {
  app.add_option("--config", flags->config,
                 "mOSdat TOML config; its [vlm] table configures the gateway")
      ->check(CLI::ExistingFile);
  app.add_option("--base-url", flags->base_url,
                 "OpenAI-compatible endpoint, e.g. http://host:8000/v1 (overrides [vlm])");
  app.add_option("--fallback-base-url", flags->fallback_base_urls,
                 "endpoints tried in order when the first fails (repeatable)");
  app.add_option("--model", flags->model, "model used to localize");
  app.add_option("--verify-model", flags->verify_model, "model for yes/no verify calls");
  app.add_option("--expected-model", flags->expected_model,
                 "refuse endpoints whose model list lacks this model");
  app.add_option("--api-key", flags->api_key, "API key as env:NAME or file:PATH");
  app.add_option("--coordinates", flags->coordinates, "auto | normalized_1000 | pixels")
      ->check(CLI::IsMember({"auto", "normalized_1000", "pixels"}));
  app.add_option("--timeout", flags->timeout, "seconds per upstream request")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--max-concurrency", flags->max_concurrency, "parallel requests per endpoint")
      ->check(CLI::Range(1, 64));
  app.add_option("--retries", flags->retries, "extra attempts on transient errors")
      ->check(CLI::Range(0, 10));
  app.add_option("--cache-dir", flags->cache_dir, "response cache directory");
}

absl::StatusOr<std::optional<VlmConfig>> ResolveVlmConfig(const VlmFlags& flags) {
  std::optional<VlmConfig> vlm;
  if (!flags.config.empty()) {
    absl::StatusOr<Config> config = LoadConfig(flags.config);
    if (!config.ok()) return config.status();
    vlm = config->vlm;
  }
  if (!vlm && !flags.base_url.empty()) vlm.emplace();
  if (!vlm) {
    if (!flags.model.empty() || !flags.fallback_base_urls.empty() || !flags.api_key.empty() ||
        !flags.expected_model.empty() || !flags.verify_model.empty()) {
      return absl::InvalidArgumentError(
          flags.config.empty()
              ? "VLM flags need --base-url (or --config with a [vlm] table)"
              : absl::StrCat(flags.config, " has no [vlm] table: add one, or pass --base-url"));
    }
    return std::nullopt;
  }
  if (!flags.base_url.empty()) vlm->base_url = flags.base_url;
  if (!flags.fallback_base_urls.empty()) vlm->fallback_base_urls = flags.fallback_base_urls;
  for (const std::string& url : vlm->fallback_base_urls) {
    if (!IsHttpUrl(url)) {
      return absl::InvalidArgumentError(
          absl::StrCat("fallback base URL \"", url, "\" must start with http:// or https://"));
    }
  }
  if (!IsHttpUrl(vlm->base_url)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--base-url \"", vlm->base_url, "\" must start with http:// or https://"));
  }
  if (!flags.model.empty()) vlm->model = flags.model;
  if (vlm->model.empty()) return absl::InvalidArgumentError("--base-url needs --model");
  if (!flags.verify_model.empty()) vlm->verify_model = flags.verify_model;
  if (!flags.expected_model.empty()) vlm->expected_model = flags.expected_model;
  if (!flags.api_key.empty()) {
    absl::StatusOr<SecretRef> key = SecretRef::Parse(flags.api_key);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--api-key: ", key.status().message()));
    }
    vlm->api_key = *key;
  }
  if (flags.coordinates == "auto") vlm->coordinates = VlmCoordinates::kAuto;
  if (flags.coordinates == "normalized_1000") vlm->coordinates = VlmCoordinates::kNormalized1000;
  if (flags.coordinates == "pixels") vlm->coordinates = VlmCoordinates::kPixels;
  if (flags.timeout > 0) vlm->timeout = flags.timeout;
  if (flags.max_concurrency > 0) vlm->max_concurrency = flags.max_concurrency;
  if (flags.retries >= 0) vlm->retries = flags.retries;
  if (!flags.cache_dir.empty()) vlm->cache_dir = flags.cache_dir;
  return vlm;
}

}  // namespace mosdat

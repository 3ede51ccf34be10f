// VlmGateway: localize and verify calls to OpenAI-compatible vision-language models.
//
//   Localize(image, prompt) -> found, framebuffer point, confidence
//   Verify(image, question) -> yes/no and the model's reason
//
// Each call is answered from the on-disk cache when an identical call (same image
// bytes, prompt, model, convention and parameters) was answered before; identical calls
// in flight at the same time share one upstream request; otherwise the endpoint pool
// sends it (failover, per-endpoint concurrency limit, retries with backoff). Answers
// are parsed strictly (answer_parser.h); a point is mapped from the model's convention
// to framebuffer pixels (coordinates.h). Only valid answers are cached.
//
// Errors: INVALID_ARGUMENT (not a PNG, empty prompt, size mismatch), FAILED_PRECONDITION
// (no model configured, expected_model not served), INTERNAL (the model's answer does
// not fit the schema, or points outside the image: the message quotes it), and the
// endpoint pool's errors (UNAVAILABLE, DEADLINE_EXCEEDED, 4xx mappings) naming the
// endpoints. Thread-safe.
#ifndef MOSDAT_VLM_GATEWAY_GATEWAY_H_
#define MOSDAT_VLM_GATEWAY_GATEWAY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vlm-gateway/gateway_options.h"
#include "core/vlm_types.h"

namespace mosdat {

class VlmGateway {
 public:
  // InvalidArgument without a base URL or a model; the cache's errors when cache_dir
  // cannot be opened.
  static absl::StatusOr<std::unique_ptr<VlmGateway>> Create(GatewayOptions options);
  ~VlmGateway();

  VlmGateway(const VlmGateway&) = delete;
  VlmGateway& operator=(const VlmGateway&) = delete;

  absl::StatusOr<LocalizeResult> Localize(const LocalizeRequest& request);
  absl::StatusOr<VerifyResult> Verify(const VerifyRequest& request);

  // The model list of the first endpoint that answers.
  absl::StatusOr<ModelList> ListModels();

  // FailedPrecondition when the gateway runs without a cache.
  absl::StatusOr<VlmCacheStats> CacheStats();
  // Removes entries not used for `unused_for`; returns how many.
  absl::StatusOr<int64_t> PruneCache(absl::Duration unused_for);
  absl::StatusOr<int64_t> ClearCache();

  // Counts since Create() — cache hits and misses of Localize/Verify, and calls that
  // shared an identical call in flight — as kept in the metrics registry (gateways
  // sharing one registry share these counts).
  uint64_t cache_hits() const;
  uint64_t cache_misses() const;
  uint64_t deduplicated() const;

  // The coordinate convention localize uses for `model` (configured or from the table).
  CoordinateConvention ConventionFor(const std::string& model) const;

  const GatewayOptions& options() const;

 private:
  class Impl;
  explicit VlmGateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_GATEWAY_H_

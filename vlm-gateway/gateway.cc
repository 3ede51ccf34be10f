#include "vlm-gateway/gateway.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "vlm-gateway/answer_parser.h"
#include "vlm-gateway/chat_request.h"
#include "vlm-gateway/endpoint_pool.h"
#include "vlm-gateway/gateway_metrics.h"
#include "vlm-gateway/image_resize.h"
#include "vlm-gateway/inflight.h"
#include "vlm-gateway/png_header.h"
#include "core/sha256.h"
#include "vlm-gateway/vlm_cache.h"

namespace mosdat {
namespace {

// Raw answers are evidence; a runaway model must not bloat the cache.
constexpr size_t kMaxRawAnswer = 16 * 1024;

struct Answered {
  std::string answer;  // canonical JSON
  std::string raw;
  std::string endpoint;
  bool cache_hit = false;
};

// Checks the model's message and returns the canonical answer JSON to cache.
using Validate = std::function<absl::StatusOr<std::string>(const std::string& content)>;

absl::StatusOr<ImageSize> CheckImage(const VlmImage& image) {
  absl::StatusOr<PngSize> size = ReadPngSize(image.png);
  if (!size.ok()) return size.status();
  if ((image.width != 0 || image.height != 0) &&
      (image.width != size->width || image.height != size->height)) {
    return absl::InvalidArgumentError(absl::StrCat("the image is said to be ", image.width, "x",
                                                   image.height, " but the PNG is ", size->width,
                                                   "x", size->height));
  }
  return ImageSize{size->width, size->height};
}

}  // namespace

class VlmGateway::Impl {
 public:
  Impl(GatewayOptions options, std::unique_ptr<VlmCache> cache)
      : options_(std::move(options)),
        registry_(options_.metrics ? options_.metrics : std::make_shared<prometheus::Registry>()),
        metrics_(*registry_),
        cache_(std::move(cache)),
        pool_({.base_urls = options_.base_urls,
               .api_key = options_.api_key,
               .expected_model = options_.expected_model,
               .timeout = options_.timeout,
               .max_concurrency = options_.max_concurrency,
               .retries = options_.retries,
               .initial_backoff = options_.initial_backoff,
               .max_backoff = options_.max_backoff,
               .cooldown = options_.endpoint_cooldown},
              &metrics_) {}

  CoordinateConvention ConventionFor(const std::string& model) const {
    CoordinateConvention convention = mosdat::ConventionFor(model, options_.coordinates);
    convention.resize = options_.resize;
    return convention;
  }

  absl::StatusOr<LocalizeResult> Localize(const LocalizeRequest& request) {
    absl::Time start = absl::Now();
    absl::StatusOr<LocalizeResult> result = DoLocalize(request);
    Finish("localize", result.ok(), result.ok() && result->cache_hit, start);
    return result;
  }

  absl::StatusOr<VerifyResult> Verify(const VerifyRequest& request) {
    absl::Time start = absl::Now();
    absl::StatusOr<VerifyResult> result = DoVerify(request);
    Finish("verify", result.ok(), result.ok() && result->cache_hit, start);
    return result;
  }

  absl::StatusOr<ModelList> ListModels() { return pool_.ListModels(); }

  absl::StatusOr<VlmCache*> Cache() {
    if (cache_ == nullptr) {
      return absl::FailedPreconditionError(
          "this gateway runs without a cache (set [vlm].cache_dir)");
    }
    return cache_.get();
  }

  const GatewayOptions& options() const { return options_; }
  GatewayMetrics& metrics() { return metrics_; }

 private:
  void Finish(const std::string& kind, bool ok, bool hit, absl::Time start) {
    metrics_.Request(kind, ok);
    if (ok) metrics_.Latency(kind, hit, absl::Now() - start);
  }

  absl::StatusOr<LocalizeResult> DoLocalize(const LocalizeRequest& request) {
    if (request.prompt.empty()) {
      return absl::InvalidArgumentError("localize needs a prompt describing what to find");
    }
    absl::StatusOr<ImageSize> size = CheckImage(request.image);
    if (!size.ok()) return size.status();
    std::string model = request.model.empty() ? options_.model : request.model;
    if (model.empty()) {
      return absl::FailedPreconditionError("no model to localize with: set [vlm].model");
    }
    CoordinateConvention convention = ConventionFor(model);
    Validate validate = [&](const std::string& content) -> absl::StatusOr<std::string> {
      absl::StatusOr<LocalizeAnswer> answer = ParseLocalizeAnswer(content);
      if (!answer.ok()) return answer.status();
      if (answer->found) {
        absl::StatusOr<PixelPoint> point = ToFramebuffer(answer->x, answer->y, *size, convention);
        if (!point.ok()) {
          return absl::InternalError(
              absl::StrCat(point.status().message(), "; it answered: \"", Excerpt(content), "\""));
        }
      }
      return ToJson(*answer);
    };
    absl::StatusOr<Answered> answered =
        Ask(VlmTask::kLocalize, model, request.image.png, *size, request.prompt, convention,
            request.bypass_cache, validate);
    if (!answered.ok()) return answered.status();
    absl::StatusOr<LocalizeAnswer> answer = ParseLocalizeAnswer(answered->answer);
    if (!answer.ok()) return answer.status();
    LocalizeResult result;
    result.found = answer->found;
    result.confidence = answer->confidence;
    result.model = model;
    result.cache_hit = answered->cache_hit;
    result.raw_answer = std::move(answered->raw);
    result.endpoint = std::move(answered->endpoint);
    result.coordinates = convention.kind;
    if (answer->found) {
      absl::StatusOr<PixelPoint> point = ToFramebuffer(answer->x, answer->y, *size, convention);
      if (!point.ok()) return absl::InternalError(point.status().message());
      result.x = point->x;
      result.y = point->y;
      result.model_x = answer->x;
      result.model_y = answer->y;
    }
    return result;
  }

  absl::StatusOr<VerifyResult> DoVerify(const VerifyRequest& request) {
    if (request.question.empty()) {
      return absl::InvalidArgumentError("verify needs a yes/no question");
    }
    absl::StatusOr<ImageSize> size = CheckImage(request.image);
    if (!size.ok()) return size.status();
    std::string model = !request.model.empty()           ? request.model
                        : !options_.verify_model.empty() ? options_.verify_model
                                                         : options_.model;
    if (model.empty()) {
      return absl::FailedPreconditionError(
          "no model to verify with: set [vlm].verify_model or [vlm].model");
    }
    Validate validate = [](const std::string& content) -> absl::StatusOr<std::string> {
      absl::StatusOr<VerifyAnswer> answer = ParseVerifyAnswer(content);
      if (!answer.ok()) return answer.status();
      return ToJson(*answer);
    };
    absl::StatusOr<Answered> answered =
        Ask(VlmTask::kVerify, model, request.image.png, *size, request.question,
            CoordinateConvention{}, request.bypass_cache, validate);
    if (!answered.ok()) return answered.status();
    absl::StatusOr<VerifyAnswer> answer = ParseVerifyAnswer(answered->answer);
    if (!answer.ok()) return answer.status();
    return VerifyResult{.answer = answer->answer,
                        .reason = std::move(answer->reason),
                        .model = model,
                        .cache_hit = answered->cache_hit,
                        .raw_answer = std::move(answered->raw),
                        .endpoint = std::move(answered->endpoint)};
  }

  // The cache, then an identical call in flight, then the model.
  absl::StatusOr<Answered> Ask(VlmTask task, const std::string& model, const std::string& png,
                               ImageSize size, const std::string& text,
                               const CoordinateConvention& convention, bool bypass_cache,
                               const Validate& validate) {
    const std::string kind(ToString(task));
    const std::string key =
        CacheKey(Sha256Hex(png), AnswerParameters(task, model, convention), text);
    if (!bypass_cache) {
      if (std::optional<Answered> hit = LookUp(key)) {
        metrics_.Cache(kind, true);
        return *hit;
      }
    }
    metrics_.Cache(kind, false);
    bool shared = false;
    absl::StatusOr<Answered> answered = inflight_.Do(
        bypass_cache ? key + "/fresh" : key,
        [&]() -> absl::StatusOr<Answered> {
          // An identical call may have finished between our lookup and now.
          if (!bypass_cache) {
            if (std::optional<Answered> hit = LookUp(key)) return *hit;
          }
          return AskModel(task, model, png, size, text, convention, validate, key);
        },
        &shared, [&] { metrics_.Deduplicated(kind); });
    return answered;
  }

  std::optional<Answered> LookUp(const std::string& key) {
    if (cache_ == nullptr) return std::nullopt;
    absl::StatusOr<std::optional<CacheEntry>> entry = cache_->Lookup(key);
    if (!entry.ok()) {
      spdlog::warn("{} (asking the model instead)", std::string(entry.status().message()));
      return std::nullopt;
    }
    if (!entry->has_value()) return std::nullopt;
    return Answered{.answer = std::move((*entry)->answer),
                    .raw = std::move((*entry)->raw_answer),
                    .cache_hit = true};
  }

  absl::StatusOr<Answered> AskModel(VlmTask task, const std::string& model, const std::string& png,
                                    ImageSize size, const std::string& text,
                                    const CoordinateConvention& convention,
                                    const Validate& validate, const std::string& key) {
    ChatRequest chat{.task = task, .model = model, .text = text, .convention = convention};
    ImageSize sent = task == VlmTask::kLocalize ? SentImageSize(size, convention) : size;
    if (sent == size) {
      chat.png = png;
    } else {
      absl::StatusOr<std::string> resized = ResizePng(png, sent);
      if (!resized.ok()) return resized.status();
      chat.png = std::move(*resized);
    }
    absl::StatusOr<EndpointPool::ChatAnswer> answer = pool_.ChatCompletion(BuildChatBody(chat));
    if (!answer.ok()) return answer.status();
    metrics_.UpstreamLatency(std::string(ToString(task)), answer->elapsed);
    const std::string who = absl::StrCat("model \"", model, "\" at ", answer->endpoint);
    absl::StatusOr<ModelMessage> message = ParseChatCompletion(answer->body);
    if (!message.ok()) {
      return absl::InternalError(absl::StrCat(who, ": ", message.status().message()));
    }
    absl::StatusOr<std::string> canonical = validate(message->content);
    if (!canonical.ok()) {
      std::string hint =
          message->finish_reason == "length"
              ? " (finish_reason \"length\": the answer was cut off; a thinking model may "
                "need a larger max_tokens on the server, or use a non-thinking model)"
              : "";
      return absl::InternalError(absl::StrCat(who, ": ", canonical.status().message(), hint));
    }
    Answered answered{.answer = std::move(*canonical),
                      .raw = message->content.substr(0, kMaxRawAnswer),
                      .endpoint = answer->endpoint};
    if (cache_ != nullptr) {
      absl::Status stored = cache_->Store(key, {.kind = std::string(ToString(task)),
                                                .model = model,
                                                .answer = answered.answer,
                                                .raw_answer = answered.raw});
      if (!stored.ok()) spdlog::warn("{}", std::string(stored.message()));
    }
    return answered;
  }

  GatewayOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  GatewayMetrics metrics_;
  std::unique_ptr<VlmCache> cache_;
  EndpointPool pool_;
  InflightGroup<Answered> inflight_;
};

absl::StatusOr<std::unique_ptr<VlmGateway>> VlmGateway::Create(GatewayOptions options) {
  if (options.base_urls.empty() || options.base_urls.front().empty()) {
    return absl::InvalidArgumentError(
        "the VLM gateway needs an endpoint: set [vlm].base_url (e.g. http://host:8000/v1)");
  }
  if (options.model.empty()) {
    return absl::InvalidArgumentError("the VLM gateway needs a model: set [vlm].model");
  }
  if (options.timeout <= absl::ZeroDuration() || options.max_concurrency < 1 ||
      options.retries < 0) {
    return absl::InvalidArgumentError(
        "[vlm] needs timeout > 0, max_concurrency >= 1 and retries >= 0");
  }
  std::unique_ptr<VlmCache> cache;
  if (!options.cache_dir.empty()) {
    absl::StatusOr<std::unique_ptr<VlmCache>> opened = VlmCache::Open(options.cache_dir);
    if (!opened.ok()) return opened.status();
    cache = std::move(*opened);
  }
  return std::unique_ptr<VlmGateway>(
      new VlmGateway(std::make_unique<Impl>(std::move(options), std::move(cache))));
}

VlmGateway::VlmGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VlmGateway::~VlmGateway() = default;

absl::StatusOr<LocalizeResult> VlmGateway::Localize(const LocalizeRequest& request) {
  return impl_->Localize(request);
}

absl::StatusOr<VerifyResult> VlmGateway::Verify(const VerifyRequest& request) {
  return impl_->Verify(request);
}

absl::StatusOr<ModelList> VlmGateway::ListModels() { return impl_->ListModels(); }

absl::StatusOr<VlmCacheStats> VlmGateway::CacheStats() {
  absl::StatusOr<VlmCache*> cache = impl_->Cache();
  if (!cache.ok()) return cache.status();
  return (*cache)->Stats();
}

absl::StatusOr<int64_t> VlmGateway::PruneCache(absl::Duration unused_for) {
  absl::StatusOr<VlmCache*> cache = impl_->Cache();
  if (!cache.ok()) return cache.status();
  return (*cache)->PruneUnusedSince(absl::Now() - unused_for);
}

absl::StatusOr<int64_t> VlmGateway::ClearCache() {
  absl::StatusOr<VlmCache*> cache = impl_->Cache();
  if (!cache.ok()) return cache.status();
  return (*cache)->Clear();
}

uint64_t VlmGateway::cache_hits() const { return static_cast<uint64_t>(impl_->metrics().Hits()); }
uint64_t VlmGateway::cache_misses() const {
  return static_cast<uint64_t>(impl_->metrics().Misses());
}
uint64_t VlmGateway::deduplicated() const {
  return static_cast<uint64_t>(impl_->metrics().Deduplicated());
}

CoordinateConvention VlmGateway::ConventionFor(const std::string& model) const {
  return impl_->ConventionFor(model);
}

const GatewayOptions& VlmGateway::options() const { return impl_->options(); }

}  // namespace mosdat

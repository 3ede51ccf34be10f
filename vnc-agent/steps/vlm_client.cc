// Turns VLM answers into evidence records.
#include "vnc-agent/steps/vlm_client.h"

namespace mosdat {

VlmCall RecordOf(const LocalizeResult& result) {
  return VlmCall{.kind = "localize",
                 .answer = result.found,
                 .x = result.x,
                 .y = result.y,
                 .confidence = result.confidence,
                 .model = result.model,
                 .cache_hit = result.cache_hit};
}

VlmCall RecordOf(const VerifyResult& result) {
  return VlmCall{.kind = "verify",
                 .answer = result.answer,
                 .reason = result.reason,
                 .model = result.model,
                 .cache_hit = result.cache_hit};
}

}  // namespace mosdat

// Requests to and answers from a vision-language model, as the vlm-gateway core and its
// callers (the scenario runner, `mosdat replay`) see them; protos are translated to and
// from these at the service edges (runtime/vlm_proto_convert.h).
#ifndef MOSDAT_CORE_VLM_TYPES_H_
#define MOSDAT_CORE_VLM_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/config.h"

namespace mosdat {

// A screenshot as sent to the model. width/height are the framebuffer size; 0 means
// "read it from the PNG header". A size that disagrees with the PNG is refused.
struct VlmImage {
  std::string png;
  int width = 0;
  int height = 0;
};

struct LocalizeRequest {
  VlmImage image;
  std::string prompt;         // what to find, e.g. "the OK button of the Save dialog"
  std::string model;          // empty = the gateway's configured model
  bool bypass_cache = false;  // ask the model even when the cache has an answer
};

struct LocalizeResult {
  bool found = false;
  int x = 0;  // framebuffer pixels, origin top-left; 0 when !found
  int y = 0;
  double confidence = 0;  // the model's own 0..1 estimate (uncalibrated)
  std::string model;
  bool cache_hit = false;
  std::string raw_answer;  // the model's message content, for evidence only
  // How the model's numbers were read, and the numbers themselves.
  VlmCoordinates coordinates = VlmCoordinates::kNormalized1000;
  double model_x = 0;
  double model_y = 0;
  std::string endpoint;  // base URL that answered; empty on a cache hit
};

struct VerifyRequest {
  VlmImage image;
  std::string question;  // a yes/no question about the screenshot
  std::string model;     // empty = verify_model, else model
  bool bypass_cache = false;
};

struct VerifyResult {
  bool answer = false;
  std::string reason;
  std::string model;
  bool cache_hit = false;
  std::string raw_answer;
  std::string endpoint;
};

// GET {base}/models of one endpoint.
struct ModelList {
  std::string endpoint;
  std::vector<std::string> models;
};

struct VlmCacheStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;        // stored answer bytes (keys and answers)
  uint64_t stored_hits = 0;  // hits recorded in the cache file, by every process
  absl::Time oldest;         // InfinitePast() when empty
  absl::Time newest;         // InfinitePast() when empty
  uint64_t file_bytes = 0;   // size of the SQLite file(s) on disk
  std::string path;          // the cache file
};

}  // namespace mosdat

#endif  // MOSDAT_CORE_VLM_TYPES_H_

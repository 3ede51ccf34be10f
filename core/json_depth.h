// How deeply JSON from a peer nests. nlohmann's parser and destructor do not recurse,
// but copying, dumping and comparing a value do: a few hundred kilobytes of "[[[[..."
// would overflow the stack of whoever copies it. Every JSON read from a peer (an HTTP
// body, a guest helper's answer) is checked here before it is used.
#ifndef MOSDAT_CORE_JSON_DEPTH_H_
#define MOSDAT_CORE_JSON_DEPTH_H_

#include <nlohmann/json.hpp>
#include <string_view>

namespace mosdat {

// Deeper than any request or answer of ours nests (an AT-SPI tree dump included).
inline constexpr int kMaxJsonDepth = 256;

// Whether `value` nests at most `max_depth` arrays/objects deep (a scalar is depth 0).
// Walks without recursion.
bool JsonDepthWithin(const nlohmann::json& value, int max_depth = kMaxJsonDepth);

// `text` from a peer, parsed: discarded (is_discarded()) when it is not JSON or nests
// deeper than `max_depth` — json::parse(text, nullptr, false)'s contract, made safe to
// copy and dump.
nlohmann::json ParsePeerJson(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace mosdat

#endif  // MOSDAT_CORE_JSON_DEPTH_H_

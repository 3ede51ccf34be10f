// Server-sent event streams of the live server (the screen of a session, changes to the
// runs): each holds one of the server's threads, so there are at most `max_streams` at
// once; each wakes every `interval` and sends what its tick says, `: keepalive` when it
// has said nothing for a while (a dead connection shows), and ends when its tick says
// so, when the client goes, or at Stop() (before the server stops).
#ifndef MOSDAT_LIVE_SSE_STREAMS_H_
#define MOSDAT_LIVE_SSE_STREAMS_H_

#include <httplib.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace mosdat {

// One tick: the text to send now ("" for nothing this time), or nullopt to end the
// stream (after sending nothing more). `first` is true once, at the start.
using SseTick = std::function<std::optional<std::string>(bool first)>;

// "event: NAME\ndata: JSON\n\n".
std::string SseEvent(const char* name, const nlohmann::json& data);

class SseStreams {
 public:
  explicit SseStreams(size_t max_streams = 8);
  ~SseStreams();  // Stop()s

  // Streams on `response`; false (answered 429) when max_streams are already open.
  // `on_end` (when set) runs once the stream has ended, however it ended.
  bool Serve(httplib::Response& response, absl::Duration interval, SseTick tick,
             std::function<void()> on_end = nullptr);

  // Ends every stream at its next tick and refuses new ones.
  void Stop();

 private:
  const size_t max_streams_;
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool stopping_ = false;
  size_t open_ = 0;
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_SSE_STREAMS_H_

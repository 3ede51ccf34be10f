#include "live/sse_streams.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mosdat {
namespace {

constexpr absl::Duration kKeepalive = absl::Seconds(15);

bool Send(httplib::DataSink& sink, const std::string& text) {
  return sink.is_writable() && sink.write(text.data(), text.size());
}

}  // namespace

std::string SseEvent(const char* name, const nlohmann::json& data) {
  return absl::StrCat("event: ", name, "\ndata: ",
                      data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "\n\n");
}

SseStreams::SseStreams(size_t max_streams) : max_streams_(max_streams) {}

SseStreams::~SseStreams() { Stop(); }

void SseStreams::Stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  stopped_.notify_all();
}

bool SseStreams::Serve(httplib::Response& response, absl::Duration interval, SseTick tick,
                       std::function<void()> on_end) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || open_ >= max_streams_) {
      response.status = 429;
      response.set_content(
          nlohmann::json{{"ok", false},
                         {"error", absl::StrCat(max_streams_,
                                                " live streams are open, the most "
                                                "this server serves: close a page")}}
              .dump(),
          "application/json");
      return false;
    }
    ++open_;
  }
  struct State {
    bool first = true;
    bool ended = false;  // the last text was sent: end after it
    absl::Time last_write = absl::Now();
  };
  auto state = std::make_shared<State>();
  response.set_header("Cache-Control", "no-store");
  response.set_chunked_content_provider(
      "text/event-stream",
      [this, interval, tick = std::move(tick), state](size_t, httplib::DataSink& sink) {
        bool stopping = false;
        {
          std::unique_lock lock(mutex_);
          if (!state->first) {
            stopped_.wait_for(lock, absl::ToChronoMilliseconds(interval),
                              [this] { return stopping_; });
          }
          stopping = stopping_;
        }
        // Ended outside the lock: done() writes, and a slow client must not hold up
        // every other stream.
        if (stopping) {
          sink.done();
          return true;
        }
        std::optional<std::string> text;
        try {
          text = tick(std::exchange(state->first, false));
        } catch (const std::exception& error) {
          // httplib would not catch it: the process would end. The stream ends instead.
          text = SseEvent("closed", {{"error", error.what()}});
          state->ended = true;
        }
        if (!text) {
          sink.done();
          return true;
        }
        if (!text->empty()) {
          state->last_write = absl::Now();
          if (!Send(sink, *text)) return false;
          if (state->ended) sink.done();
          return true;
        }
        if (absl::Now() - state->last_write > kKeepalive) {
          state->last_write = absl::Now();
          return Send(sink, ": keepalive\n\n");
        }
        return sink.is_writable();
      },
      [this, on_end = std::move(on_end)](bool) {
        if (on_end) on_end();
        std::lock_guard lock(mutex_);
        --open_;
      });
  return true;
}

}  // namespace mosdat

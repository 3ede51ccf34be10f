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

bool SseStreams::Serve(httplib::Response& response, absl::Duration interval, SseTick tick) {
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
    absl::Time last_write = absl::Now();
  };
  auto state = std::make_shared<State>();
  response.set_header("Cache-Control", "no-store");
  response.set_chunked_content_provider(
      "text/event-stream",
      [this, interval, tick = std::move(tick), state](size_t, httplib::DataSink& sink) {
        {
          std::unique_lock lock(mutex_);
          if (!state->first) {
            stopped_.wait_for(lock, absl::ToChronoMilliseconds(interval),
                              [this] { return stopping_; });
          }
          if (stopping_) {
            sink.done();
            return true;
          }
        }
        std::optional<std::string> text = tick(std::exchange(state->first, false));
        if (!text) {
          sink.done();
          return true;
        }
        if (!text->empty()) {
          state->last_write = absl::Now();
          return Send(sink, *text);
        }
        if (absl::Now() - state->last_write > kKeepalive) {
          state->last_write = absl::Now();
          return Send(sink, ": keepalive\n\n");
        }
        return sink.is_writable();
      },
      [this](bool) {
        std::lock_guard lock(mutex_);
        --open_;
      });
  return true;
}

}  // namespace mosdat

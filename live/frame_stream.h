// The live screen of a session as server-sent events: an event `frame` with
// {"frame_seq", "width", "height", "png_base64"} each time the screen shows a new frame
// (the first at once), and an event `closed` with {"error"} when the session is gone,
// which ends the stream. The screen is asked for a frame newer than the last one sent;
// it makes a PNG only when there is one, so a still screen costs next to nothing.
#ifndef MOSDAT_LIVE_FRAME_STREAM_H_
#define MOSDAT_LIVE_FRAME_STREAM_H_

#include <string>

#include "live/screen_backend.h"
#include "live/sse_streams.h"

namespace mosdat {

// How often the screen is asked.
inline constexpr absl::Duration kFrameInterval = absl::Milliseconds(200);

SseTick FrameTick(ScreenBackend& backend, std::string screen);

}  // namespace mosdat

#endif  // MOSDAT_LIVE_FRAME_STREAM_H_

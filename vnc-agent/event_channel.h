// One job's event stream to the coordinator, pipelined and reopened when it breaks.
//
// Send() returns as soon as the event is on the wire, as long as at most kEventWindow
// events (kEventWindowBytes of them) await their acks; the coordinator stores what it
// has read in one commit and acknowledges cumulatively (coordinator/event_stream.h).
// Waiting for each ack instead would cost a network round trip and a commit per event:
// against a coordinator across a WAN, most of a step's time. Flush() waits until every
// event sent is acknowledged, i.e. durably stored: a job's last event goes through it.
//
// After a break, the next Send() or Flush() opens a new stream and sends every
// unacknowledged event again, in order; the coordinator stores each (job, attempt,
// seq) once. A refusal (the lease is gone, the events are out of order, a wrong
// credential) is final: every later call returns it.
#ifndef MOSDAT_VNC_AGENT_EVENT_CHANNEL_H_
#define MOSDAT_VNC_AGENT_EVENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "mosdat/v1/coordinator.grpc.pb.h"

namespace mosdat {

inline constexpr size_t kEventWindow = 64;
inline constexpr size_t kEventWindowBytes = 8 << 20;  // screenshots are large

class EventChannel {
 public:
  EventChannel(v1::Coordinator::Stub* stub, std::string token);
  ~EventChannel();  // closes the stream; unacknowledged events are not waited for

  // Queues `event` (its seq must follow the last one queued; calling again with the
  // same event after an Unavailable is fine) and sends what is unsent. OK once it is
  // sent and the window has room; Unavailable when the stream broke (call again:
  // a new stream re-sends what is unacknowledged); the refusal's status otherwise.
  absl::Status Send(const v1::JobEvent& event);

  // OK once every event queued is acknowledged; Unavailable or the refusal as Send.
  absl::Status Flush();

  // Ends the stream (not waiting for outstanding acks); the refusal, if there was one.
  grpc::Status Close();

 private:
  // Opens a stream when there is none (a new one starts with every unacknowledged
  // event) and writes the events not written on it yet. Only Send/Flush's thread writes.
  absl::Status WriteUnsent();
  // Waits until `done` holds (OK) or the stream ends (Unavailable or the refusal).
  template <typename Done>
  absl::Status WaitFor(Done done);
  // The reader thread: removes acknowledged events until the stream ends.
  void ReadAcks();
  // Cancels the stream unless every event is acknowledged, joins the reader, finishes.
  grpc::Status EndStream();
  // The status a broken or refused stream gives the caller; records a refusal.
  absl::Status Classify(const grpc::Status& ended);

  v1::Coordinator::Stub* stub_;
  std::string token_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::JobEvent, v1::EventAck>> stream_;
  std::thread reader_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<v1::JobEvent> unacked_;  // in seq order
  size_t unacked_bytes_ = 0;
  uint64_t last_queued_seq_ = 0;
  uint64_t last_written_seq_ = 0;  // on the current stream
  bool reads_done_ = false;        // the current stream's reader saw its end
  absl::Status wrong_ack_;         // an ack for an event never sent
  absl::Status refused_;           // final
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_EVENT_CHANNEL_H_

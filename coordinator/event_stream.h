// The server side of ReportEvents: one agent's stream of job events, stored in batches.
//
// Events are read as fast as the agent sends them (up to kMaxQueuedEvents ahead), so
// while one batch waits for its durable commit the next one gathers: an agent that
// sends several events before reading their acks gets them all stored in one commit
// instead of one commit (one fsync) each. An ack is sent only after its events are
// stored, and acks are cumulative: one ack per batch of a job's events, naming the
// last. An agent that waits for each ack before sending on sees exactly one ack per
// event, as before.
//
// A refused event ends the stream with the status saying why (FAILED_PRECONDITION:
// the lease is gone, INVALID_ARGUMENT: out of order...), after the acks of the events
// before it.
#ifndef MOSDAT_COORDINATOR_EVENT_STREAM_H_
#define MOSDAT_COORDINATOR_EVENT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "core/events.h"
#include "mosdat/v1/coordinator.pb.h"

namespace mosdat {

// The most events, and bytes of them (screenshots are large), read ahead of the batch
// being stored; past either, the agent's further writes wait.
inline constexpr size_t kMaxQueuedEvents = 1024;
inline constexpr size_t kMaxQueuedBytes = 16 << 20;

// Stores consecutive events of one job sent under `lease_id` (RunStore::RecordAll):
// sets *recorded to how many from the front are durably stored; the status says why
// the next one was refused.
using RecordEvents = std::function<absl::Status(std::span<const Event> events,
                                                const std::string& lease_id, size_t* recorded)>;

// The reactor of one ReportEvents call (deletes itself when the call is done).
grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck>* NewEventStream(RecordEvents record);

// A reactor that ends the call at once with `status` (e.g. a wrong credential).
grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck>* RefusedEventStream(grpc::Status status);

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_EVENT_STREAM_H_

#include "coordinator/event_stream.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/grpc_status.h"
#include "runtime/proto_convert.h"

namespace mosdat {
namespace {

// gRPC calls the On* reactions on its own threads, which must not block; storing waits
// for a commit, so a worker thread of the stream's own does that and the writes. Every
// field below mutex_ is shared between the two.
class EventStream final : public grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck> {
 public:
  explicit EventStream(RecordEvents record) : record_(std::move(record)) {
    {
      // The worker's first act takes mutex_: it starts once worker_ is set, which
      // OnDone() joins.
      std::lock_guard lock(mutex_);
      worker_ = std::thread([this] { Work(); });
    }
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    std::lock_guard lock(mutex_);
    if (!ok) {
      reads_done_ = true;  // the agent closed its side (or the call ended)
    } else {
      queued_bytes_ += incoming_.ByteSizeLong();
      queue_.push_back(std::move(incoming_));
      incoming_.Clear();
      if (queue_.size() < kMaxQueuedEvents && queued_bytes_ < kMaxQueuedBytes) {
        StartRead(&incoming_);
      } else {
        reading_ = false;  // resumed by the worker once it took the queue
      }
    }
    changed_.notify_all();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    writing_ = false;
    if (!ok) gone_ = true;
    changed_.notify_all();
  }

  void OnCancel() override {
    std::lock_guard lock(mutex_);
    gone_ = true;
    changed_.notify_all();
  }

  void OnDone() override {
    // The worker called Finish() as its last act; gRPC does not run OnDone inline in
    // Finish(), but if it ever did, the worker must not join itself.
    if (worker_.get_id() == std::this_thread::get_id()) {
      worker_.detach();
    } else {
      worker_.join();
    }
    delete this;
  }

 private:
  void Work() { Finish(Serve()); }

  // Stores and acknowledges batches until the agent closes its side, an event is
  // refused or the call ends. The status to finish with.
  grpc::Status Serve() {
    for (;;) {
      std::deque<v1::JobEvent> batch;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return gone_ || reads_done_ || !queue_.empty(); });
        if (gone_) return grpc::Status::CANCELLED;
        if (queue_.empty()) {  // closed by the agent, everything answered
          changed_.wait(lock, [&] { return gone_ || !writing_; });
          return grpc::Status::OK;
        }
        batch.swap(queue_);
        queued_bytes_ = 0;
        if (!reading_ && !reads_done_) {
          reading_ = true;
          StartRead(&incoming_);
        }
      }
      if (grpc::Status s = StoreAndAck(batch); !s.ok()) return s;
    }
  }

  // Stores the batch a job at a time (consecutive events with the same job and lease)
  // and acknowledges each run of stored events with its last.
  grpc::Status StoreAndAck(const std::deque<v1::JobEvent>& batch) {
    size_t begin = 0;
    while (begin < batch.size()) {
      const v1::JobEvent& first = batch[begin];
      std::vector<Event> events;
      size_t end = begin;
      while (end < batch.size() && batch[end].job_id() == first.job_id() &&
             batch[end].lease_id() == first.lease_id()) {
        events.push_back(FromProto(batch[end]));
        ++end;
      }
      size_t recorded = 0;
      absl::Status stored = record_(events, first.lease_id(), &recorded);
      if (recorded > 0) {
        const Event& last = events[recorded - 1];
        v1::EventAck ack;
        ack.set_job_id(last.job_id);
        ack.set_seq(last.seq);
        ack.set_attempt(last.job_attempt);
        if (!Send(std::move(ack))) return grpc::Status::CANCELLED;
      }
      if (!stored.ok()) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return gone_ || !writing_; });  // the ack goes first
        return ToGrpcStatus(stored);
      }
      begin = end;
    }
    return grpc::Status::OK;
  }

  // One write at a time: waits for the previous one. False when the agent is gone.
  bool Send(v1::EventAck ack) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return gone_ || !writing_; });
    if (gone_) return false;
    outgoing_ = std::move(ack);
    writing_ = true;
    StartWrite(&outgoing_);
    return true;
  }

  RecordEvents record_;
  std::thread worker_;

  std::mutex mutex_;
  std::condition_variable changed_;
  v1::JobEvent incoming_;  // the read in flight
  bool reading_ = true;    // a read is in flight (or the reads are done)
  bool reads_done_ = false;
  std::deque<v1::JobEvent> queue_;  // read, not yet taken by the worker
  size_t queued_bytes_ = 0;
  v1::EventAck outgoing_;  // the write in flight
  bool writing_ = false;
  bool gone_ = false;  // cancelled, or a write failed: the agent is not listening
};

class Refused final : public grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck> {
 public:
  explicit Refused(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck>* NewEventStream(RecordEvents record) {
  return new EventStream(std::move(record));
}

grpc::ServerBidiReactor<v1::JobEvent, v1::EventAck>* RefusedEventStream(grpc::Status status) {
  return new Refused(std::move(status));
}

}  // namespace mosdat

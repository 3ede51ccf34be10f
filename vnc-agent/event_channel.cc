#include "vnc-agent/event_channel.h"

#include "absl/strings/str_cat.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

// The coordinator's answers that no new stream changes: the lease is gone, the events
// are wrong, the credential is.
bool IsRefusal(grpc::StatusCode code) {
  return code == grpc::StatusCode::FAILED_PRECONDITION ||
         code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::UNAUTHENTICATED;
}

}  // namespace

EventChannel::EventChannel(v1::Coordinator::Stub* stub, std::string token)
    : stub_(stub), token_(std::move(token)) {}

EventChannel::~EventChannel() { Close(); }

absl::Status EventChannel::Send(const v1::JobEvent& event) {
  {
    std::lock_guard lock(mutex_);
    if (!refused_.ok()) return refused_;
    if (event.seq() > last_queued_seq_) {  // else: the same event again, after a break
      unacked_bytes_ += event.ByteSizeLong();
      unacked_.push_back(event);
      last_queued_seq_ = event.seq();
    }
  }
  if (absl::Status s = WriteUnsent(); !s.ok()) return s;
  return WaitFor(
      [&] { return unacked_.size() <= kEventWindow && unacked_bytes_ <= kEventWindowBytes; });
}

absl::Status EventChannel::Flush() {
  {
    std::lock_guard lock(mutex_);
    if (!refused_.ok()) return refused_;
    if (unacked_.empty()) return absl::OkStatus();
  }
  if (absl::Status s = WriteUnsent(); !s.ok()) return s;
  return WaitFor([&] { return unacked_.empty(); });
}

absl::Status EventChannel::WriteUnsent() {
  if (stream_ == nullptr) {
    context_ = std::make_unique<grpc::ClientContext>();
    AttachToken(*context_, token_);
    stream_ = stub_->ReportEvents(context_.get());
    std::lock_guard lock(mutex_);
    reads_done_ = false;
    last_written_seq_ = 0;  // a new stream: everything unacknowledged goes again
    reader_ = std::thread([this] { ReadAcks(); });
  }
  for (;;) {
    const v1::JobEvent* next = nullptr;
    {
      std::lock_guard lock(mutex_);
      for (const v1::JobEvent& event : unacked_) {
        if (event.seq() > last_written_seq_) {
          next = &event;  // stays valid: the reader only removes events written already
          break;
        }
      }
      if (next == nullptr) return absl::OkStatus();
      // Counted as written before it is: its ack may come back before Write returns.
      last_written_seq_ = next->seq();
    }
    if (!stream_->Write(*next)) return Classify(EndStream());
  }
}

template <typename Done>
absl::Status EventChannel::WaitFor(Done done) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return done() || reads_done_; });
    if (done()) return absl::OkStatus();
  }
  return Classify(EndStream());
}

void EventChannel::ReadAcks() {
  v1::EventAck ack;
  while (stream_->Read(&ack)) {
    std::lock_guard lock(mutex_);
    if (ack.seq() > last_written_seq_) {
      wrong_ack_ = absl::DataLossError(
          absl::StrCat("the coordinator acknowledged event ", ack.seq(), ", which was never sent"));
      context_->TryCancel();
      break;
    }
    while (!unacked_.empty() && unacked_.front().seq() <= ack.seq()) {
      unacked_bytes_ -= unacked_.front().ByteSizeLong();
      unacked_.pop_front();
    }
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  reads_done_ = true;
  changed_.notify_all();
}

grpc::Status EventChannel::EndStream() {
  if (stream_ == nullptr) return grpc::Status::OK;
  bool all_acked;
  bool ended;
  {
    std::lock_guard lock(mutex_);
    all_acked = unacked_.empty();
    ended = reads_done_;
  }
  // A call the coordinator ended has its status (a refusal) waiting: a cancel would
  // replace it. With acks outstanding, the coordinator may never answer them (it is
  // gone, or this is Close()): cancel rather than wait. Otherwise end the call cleanly.
  if (!ended) {
    if (all_acked) {
      stream_->WritesDone();
    } else {
      context_->TryCancel();
    }
  }
  reader_.join();
  grpc::Status status = stream_->Finish();
  stream_.reset();
  context_.reset();
  return status;
}

absl::Status EventChannel::Classify(const grpc::Status& ended) {
  std::lock_guard lock(mutex_);
  if (!wrong_ack_.ok()) {
    refused_ = wrong_ack_;
  } else if (IsRefusal(ended.error_code())) {
    refused_ = FromGrpcStatus(ended);
  }
  if (!refused_.ok()) return refused_;
  return absl::UnavailableError(
      absl::StrCat("the event stream broke: ",
                   ended.ok() ? "closed by the coordinator" : ended.error_message()));
}

grpc::Status EventChannel::Close() { return EndStream(); }

}  // namespace mosdat

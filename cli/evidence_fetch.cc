#include "cli/evidence_fetch.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "runtime/evidence_copy.h"
#include "runtime/grpc_status.h"
#include "runtime/token_auth.h"

namespace mosdat {
namespace {

// Long enough for gigabytes over a slow link...
constexpr auto kFetchDeadline = std::chrono::minutes(30);
// ...but a coordinator that stops sending does not hold the command for that long.
constexpr auto kStallTimeout = std::chrono::seconds(60);

// Cancels `context` when no chunk came for kStallTimeout; stops with the fetch.
class StallWatchdog {
 public:
  explicit StallWatchdog(grpc::ClientContext& context)
      : thread_([this, &context] {
          std::unique_lock lock(mutex_);
          while (!done_) {
            const bool progressed = changed_.wait_for(
                lock, kStallTimeout, [&] { return done_ || std::exchange(progress_, false); });
            if (!progressed) {
              context.TryCancel();
              return;
            }
          }
        }) {}
  ~StallWatchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  void Progress() {
    {
      std::lock_guard lock(mutex_);
      progress_ = true;
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  bool progress_ = false;
  std::thread thread_;  // last: starts once the rest is set
};

absl::StatusOr<CopiedEvidence> FetchRunEvidence(v1::Coordinator::Stub& coordinator,
                                                const std::string& token,
                                                const std::string& results_root, v1::Run* run) {
  grpc::ClientContext context;
  AttachToken(context, token);
  context.set_deadline(std::chrono::system_clock::now() + kFetchDeadline);
  v1::FetchEvidenceRequest request;
  request.set_run_id(run->run_id());
  std::unique_ptr<grpc::ClientReader<v1::FileChunk>> reader =
      coordinator.FetchEvidence(&context, request);
  StallWatchdog watchdog(context);
  return CopyRunEvidence(
      [&](v1::FileChunk* chunk) {
        if (!reader->Read(chunk)) return false;
        watchdog.Progress();
        return true;
      },
      [&](bool cancel) {
        if (cancel) context.TryCancel();  // the rest is not wanted
        return FromGrpcStatus(reader->Finish());
      },
      results_root, run);
}

}  // namespace

void FetchRunEvidenceSaying(v1::Coordinator::Stub& coordinator, const std::string& token,
                            const std::string& results_root, const std::string& command,
                            v1::Run* run) {
  const std::string remote = run->results_dir();
  std::error_code error;
  if (remote.empty() || std::filesystem::is_directory(remote, error)) return;  // here already
  absl::StatusOr<CopiedEvidence> copied = FetchRunEvidence(coordinator, token, results_root, run);
  if (!copied.ok()) {
    std::cerr << command << ": warning: the evidence stays on the coordinator's machine (" << remote
              << "): " << copied.status().message() << "\n";
  } else if (copied->files == 0) {
    std::cerr << "evidence: the coordinator holds no file of this run\n";
  } else {
    std::cerr << "evidence: " << copied->files << " file(s), " << copied->bytes
              << " bytes, copied from the coordinator to " << run->results_dir() << "\n";
  }
}

}  // namespace mosdat

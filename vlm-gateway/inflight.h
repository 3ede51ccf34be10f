// In-flight de-duplication: identical calls (same key) that overlap in time share one
// execution. The first caller runs the work; callers arriving while it runs wait for
// its result instead of sending the same request upstream again. Nothing is
// remembered once the work is done — that is the cache's job.
#ifndef MOSDAT_VLM_GATEWAY_INFLIGHT_H_
#define MOSDAT_VLM_GATEWAY_INFLIGHT_H_

#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"

namespace mosdat {

template <typename T>
class InflightGroup {
 public:
  // Runs `work` unless a call with the same key is running; then calls `on_join` (if
  // given) and waits for that call's result. *shared (if given) tells which happened.
  absl::StatusOr<T> Do(const std::string& key, const std::function<absl::StatusOr<T>()>& work,
                       bool* shared = nullptr, const std::function<void()>& on_join = nullptr) {
    std::promise<absl::StatusOr<T>> promise;
    {
      std::unique_lock lock(mu_);
      auto it = calls_.find(key);
      if (it != calls_.end()) {
        std::shared_future<absl::StatusOr<T>> running = it->second;
        lock.unlock();
        if (shared != nullptr) *shared = true;
        if (on_join) on_join();
        return running.get();
      }
      calls_.emplace(key, promise.get_future().share());
    }
    if (shared != nullptr) *shared = false;
    absl::StatusOr<T> result = absl::InternalError("the de-duplicated call threw an exception");
    try {
      result = work();
    } catch (...) {
      // Waiters must never hang on a promise nobody fulfils.
    }
    {
      std::lock_guard lock(mu_);
      calls_.erase(key);
    }
    promise.set_value(result);
    return result;
  }

  // Calls running now (for tests and metrics).
  size_t running() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_future<absl::StatusOr<T>>> calls_;
};

}  // namespace mosdat

#endif  // MOSDAT_VLM_GATEWAY_INFLIGHT_H_

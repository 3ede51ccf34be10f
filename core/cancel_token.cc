#include "core/cancel_token.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mosdat {

void CancelToken::Cancel(std::string reason) { Set(State::kCancelled, std::move(reason)); }

void CancelToken::Lose(std::string reason) { Set(State::kLost, std::move(reason)); }

void CancelToken::Set(State state, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state || state_ == State::kLost) return;
    state_ = state;
    reason_ = std::move(reason);
  }
  changed_.notify_all();
}

CancelToken::State CancelToken::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::string CancelToken::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

absl::Status CancelToken::AsStatus() const {
  std::lock_guard lock(mutex_);
  switch (state_) {
    case State::kRunning:
      return absl::OkStatus();
    case State::kCancelled:
      return absl::CancelledError(absl::StrCat("cancelled: ", reason_));
    case State::kLost:
      return absl::CancelledError(absl::StrCat("lost: ", reason_));
  }
  return absl::OkStatus();
}

bool CancelToken::WaitUntil(absl::Time deadline, State at_least) const {
  std::unique_lock lock(mutex_);
  while (state_ < at_least) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // In slices: a far deadline (InfiniteFuture) must not overflow the clock arithmetic.
    changed_.wait_for(lock, absl::ToChronoNanoseconds(std::min(left, absl::Hours(1))));
  }
  return true;
}

}  // namespace mosdat

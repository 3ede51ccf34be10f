// Time until a deadline, for the many calls that pass "whatever is left" on as a
// timeout.
#ifndef MOSDAT_CORE_TIME_LEFT_H_
#define MOSDAT_CORE_TIME_LEFT_H_

#include <algorithm>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mosdat {

// Never negative: a passed deadline leaves zero.
inline absl::Duration TimeLeft(absl::Time deadline) {
  return std::max(deadline - absl::Now(), absl::ZeroDuration());
}

}  // namespace mosdat

#endif  // MOSDAT_CORE_TIME_LEFT_H_

#include "coordinator/store.h"

namespace mosdat {

std::string_view ToString(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kPreparing:
      return "preparing";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

bool JobStateFromString(std::string_view text, JobState* state) {
  for (JobState s : {JobState::kQueued, JobState::kPreparing, JobState::kRunning, JobState::kDone,
                     JobState::kCancelled}) {
    if (ToString(s) == text) {
      *state = s;
      return true;
    }
  }
  return false;
}

}  // namespace mosdat

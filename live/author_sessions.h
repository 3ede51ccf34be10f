// The authoring sessions of a live server: which principal opened which VM's screen
// session, with its scenario draft. A session belongs to the principal that opened it
// (another one gets PermissionDenied, not its screen), expires after `idle_ttl` without
// use, and closing or expiring it closes its screen session, so no VNC connection is
// left behind. At most `max_sessions` are open at once.
#ifndef MOSDAT_LIVE_AUTHOR_SESSIONS_H_
#define MOSDAT_LIVE_AUTHOR_SESSIONS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "live/scenario_draft.h"
#include "live/screen_backend.h"

namespace mosdat {

class AuthorSessions {
 public:
  // One session; its mutex serializes what is done with it (one action at a time).
  struct Session {
    std::string id;
    std::string owner;
    std::string vm;
    std::string screen;    // the backend's session id
    std::string held_job;  // attached to a job a failed step holds ("" = a VM's own screen)
    // Watches a running job's screen: read-only, and closed when its stream ends (a page
    // that goes leaves no session behind).
    bool watch_only = false;
    std::mutex mutex;
    ScenarioDraft draft;  // guarded by mutex
    uint64_t last_input = 0;
  };

  AuthorSessions(ScreenBackend& backend, absl::Duration idle_ttl, size_t max_sessions = 8);
  ~AuthorSessions();  // closes every session's screen

  // Opens a screen session on `vm` for `owner`. ResourceExhausted when max_sessions are
  // open; the backend's error when the VM cannot be reached.
  absl::StatusOr<std::shared_ptr<Session>> Open(const std::string& owner, const std::string& vm);
  // Opens a session on the screen of a job a failed step holds (ScreenBackend::Attach);
  // `held` gets the job. Bounded as Open is.
  absl::StatusOr<std::shared_ptr<Session>> Attach(const std::string& owner,
                                                  const std::string& job_id, HeldJob* held);
  // Opens a session that watches a running job's screen (ScreenBackend::Watch).
  absl::StatusOr<std::shared_ptr<Session>> Watch(const std::string& owner,
                                                 const std::string& job_id);
  // NotFound for an unknown (or expired) id, PermissionDenied for another owner's.
  // Counts as use.
  absl::StatusOr<std::shared_ptr<Session>> Find(const std::string& owner, const std::string& id);
  absl::Status Close(const std::string& owner, const std::string& id);
  // Closes the sessions idle since before now - idle_ttl; returns how many.
  int ExpireIdle(absl::Time now = absl::Now());

  ScreenBackend& backend() { return backend_; }

 private:
  // ResourceExhausted when max_sessions are open.
  absl::Status CheckRoom();
  std::shared_ptr<Session> Add(const std::string& owner, const std::string& vm,
                               const std::string& screen, const std::string& held_job,
                               bool watch_only = false);
  struct Entry {
    std::shared_ptr<Session> session;
    absl::Time last_used;
  };
  ScreenBackend& backend_;
  const absl::Duration idle_ttl_;
  const size_t max_sessions_;
  std::mutex mutex_;
  std::map<std::string, Entry> sessions_;
};

}  // namespace mosdat

#endif  // MOSDAT_LIVE_AUTHOR_SESSIONS_H_

#include "live/author_sessions.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace mosdat {
namespace {

std::string NewSessionId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) absl::StrAppendFormat(&id, "%08x", random());
  return id;
}

}  // namespace

AuthorSessions::AuthorSessions(ScreenBackend& backend, absl::Duration idle_ttl, size_t max_sessions)
    : backend_(backend), idle_ttl_(idle_ttl), max_sessions_(max_sessions) {}

AuthorSessions::~AuthorSessions() {
  std::map<std::string, Entry> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(sessions_);
  }
  for (auto& [id, entry] : left) backend_.Close(entry.session->screen).IgnoreError();
}

absl::Status AuthorSessions::CheckRoom() {
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= max_sessions_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(max_sessions_, " authoring sessions are open, the most this server ",
                     "keeps: close one (POST /api/author/close)"));
  }
  return absl::OkStatus();
}

std::shared_ptr<AuthorSessions::Session> AuthorSessions::Add(const std::string& owner,
                                                             const std::string& vm,
                                                             const std::string& screen,
                                                             const std::string& held_job,
                                                             bool watch_only) {
  auto session = std::make_shared<Session>();
  session->held_job = held_job;
  session->watch_only = watch_only;
  session->id = NewSessionId();
  session->owner = owner;
  session->vm = vm;
  session->screen = screen;
  std::lock_guard lock(mutex_);
  sessions_[session->id] = {session, absl::Now()};
  return session;
}

absl::StatusOr<std::shared_ptr<AuthorSessions::Session>> AuthorSessions::Open(
    const std::string& owner, const std::string& vm) {
  if (absl::Status room = CheckRoom(); !room.ok()) return room;
  absl::StatusOr<std::string> screen = backend_.Open(vm);
  if (!screen.ok()) return screen.status();
  return Add(owner, vm, *screen, "");
}

absl::StatusOr<std::shared_ptr<AuthorSessions::Session>> AuthorSessions::Attach(
    const std::string& owner, const std::string& job_id, HeldJob* held) {
  if (absl::Status room = CheckRoom(); !room.ok()) return room;
  absl::StatusOr<std::string> screen = backend_.Attach(job_id, held);
  if (!screen.ok()) return screen.status();
  return Add(owner, held->vm, *screen, job_id);
}

absl::StatusOr<std::shared_ptr<AuthorSessions::Session>> AuthorSessions::Watch(
    const std::string& owner, const std::string& job_id) {
  if (absl::Status room = CheckRoom(); !room.ok()) return room;
  std::string vm;
  absl::StatusOr<std::string> screen = backend_.Watch(job_id, &vm);
  if (!screen.ok()) return screen.status();
  return Add(owner, vm, *screen, job_id, /*watch_only=*/true);
}

absl::StatusOr<std::shared_ptr<AuthorSessions::Session>> AuthorSessions::Find(
    const std::string& owner, const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no authoring session \"", id, "\" (closed, expired, or never opened)"));
  }
  if (it->second.session->owner != owner) {
    return absl::PermissionDeniedError(
        absl::StrCat("authoring session \"", id, "\" belongs to someone else"));
  }
  it->second.last_used = absl::Now();
  return it->second.session;
}

absl::Status AuthorSessions::Close(const std::string& owner, const std::string& id) {
  std::shared_ptr<Session> session;
  {
    absl::StatusOr<std::shared_ptr<Session>> found = Find(owner, id);
    if (!found.ok()) return found.status();
    session = *found;
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
  }
  return backend_.Close(session->screen);
}

int AuthorSessions::ExpireIdle(absl::Time now) {
  std::vector<std::shared_ptr<Session>> expired;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (now - it->second.last_used > idle_ttl_) {
        expired.push_back(it->second.session);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& session : expired) backend_.Close(session->screen).IgnoreError();
  return static_cast<int>(expired.size());
}

}  // namespace mosdat

// GuestAccess: the way into one VM for a job or an interactive request — its
// GuestSession (SSH, shell, launch, AT-SPI), connected on first use, so work that only
// needs the screen never requires SSH. A local VM gets a private sshd whose sessions
// land in the local desktop's session (DISPLAY, D-Bus, HOME), like a logged-in VM.
#ifndef MOSDAT_VNC_AGENT_STEPS_GUEST_ACCESS_H_
#define MOSDAT_VNC_AGENT_STEPS_GUEST_ACCESS_H_

#include <functional>
#include <memory>
#include <string>

#include "core/job.h"
#include "vnc-agent/guest/guest_session.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/local/local_sshd.h"

namespace mosdat {

class GuestAccess {
 public:
  // `desktop`: the local VM's desktop (must outlive this), or null for a remote VM.
  GuestAccess(const VmTarget& vm, const LocalDesktop* desktop,
              std::function<void(const std::string&)> log);
  ~GuestAccess();  // closes SSH before stopping the private sshd

  GuestAccess(const GuestAccess&) = delete;
  GuestAccess& operator=(const GuestAccess&) = delete;

  // The connected session. A failed set-up is remembered and returned again rather
  // than retried on every step; messages start with `SSH to VM "<name>": `.
  absl::StatusOr<GuestSession*> Get();

 private:
  absl::StatusOr<std::unique_ptr<GuestSession>> Connect();

  VmTarget vm_;
  const LocalDesktop* desktop_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<LocalSshd> sshd_;
  std::unique_ptr<GuestSession> session_;
  absl::Status failure_;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_STEPS_GUEST_ACCESS_H_

// AgentRegistry: which vnc-agents are alive and which VMs each one owns. The
// coordinator leases a VM's jobs only to its owner, so a VM is owned by one live agent.
#ifndef MOSDAT_COORDINATOR_AGENT_REGISTRY_H_
#define MOSDAT_COORDINATOR_AGENT_REGISTRY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mosdat {

struct AgentRecord {
  std::string id;
  std::string address;
  std::vector<std::string> vms;
  std::string version;
  absl::Time last_seen;
};

class AgentRegistry {
 public:
  // An agent not heard from for `liveness_timeout` is dead and owns nothing.
  explicit AgentRegistry(absl::Duration liveness_timeout);

  // Adds or replaces an agent. Fails when one of its VMs belongs to another live agent.
  absl::Status Register(AgentRecord record, absl::Time now);
  // NotFound for an agent that never registered (or was forgotten): it must register.
  absl::Status Heartbeat(const std::string& id, absl::Time now);

  std::vector<AgentRecord> List() const;
  bool IsAlive(const AgentRecord& record, absl::Time now) const;
  // The VMs an agent registered (empty for an unknown agent).
  std::vector<std::string> VmsOf(const std::string& id) const;
  // The live agent that owns `vm`, if any.
  std::optional<std::string> OwnerOf(const std::string& vm, absl::Time now) const;
  size_t LiveCount(absl::Time now) const;

 private:
  const absl::Duration liveness_timeout_;
  mutable absl::Mutex mutex_;
  std::map<std::string, AgentRecord> agents_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_AGENT_REGISTRY_H_

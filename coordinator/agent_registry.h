// AgentRegistry: the vnc-agents that registered, which VMs each can drive, how many
// jobs each runs at once, and whether it is alive (heard from within the liveness
// timeout). Several agents may name the same VM; the scheduler (scheduler.h) decides
// who runs what.
#ifndef MOSDAT_COORDINATOR_AGENT_REGISTRY_H_
#define MOSDAT_COORDINATOR_AGENT_REGISTRY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/scheduler.h"

namespace mosdat {

struct AgentRecord {
  std::string id;
  std::string address;
  std::vector<std::string> vms;
  int capacity = 1;
  std::string version;
  absl::Time last_seen;
};

class AgentRegistry {
 public:
  // An agent not heard from for `liveness_timeout` is dead: it is offered no jobs.
  explicit AgentRegistry(absl::Duration liveness_timeout);

  // Adds or replaces an agent (a restarted agent registers again under its id).
  absl::Status Register(AgentRecord record, absl::Time now);
  // NotFound for an agent that never registered (or registered with a coordinator that
  // restarted since): it must register again.
  absl::Status Heartbeat(const std::string& id, absl::Time now);

  std::vector<AgentRecord> List() const;
  bool IsAlive(const AgentRecord& record, absl::Time now) const;
  // What the scheduler needs of an agent; nullopt for an unknown one.
  std::optional<AgentSlots> Slots(const std::string& id) const;
  // Whether some live agent drives `vm`.
  bool LiveAgentDrives(const std::string& vm, absl::Time now) const;
  size_t LiveCount(absl::Time now) const;
  // The job slots of live agents.
  int LiveCapacity(absl::Time now) const;

 private:
  const absl::Duration liveness_timeout_;
  mutable absl::Mutex mutex_;
  std::map<std::string, AgentRecord> agents_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mosdat

#endif  // MOSDAT_COORDINATOR_AGENT_REGISTRY_H_

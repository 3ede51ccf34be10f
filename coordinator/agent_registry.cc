#include "coordinator/agent_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace mosdat {

AgentRegistry::AgentRegistry(absl::Duration liveness_timeout)
    : liveness_timeout_(liveness_timeout) {}

bool AgentRegistry::IsAlive(const AgentRecord& record, absl::Time now) const {
  return now - record.last_seen <= liveness_timeout_;
}

absl::Status AgentRegistry::Register(AgentRecord record, absl::Time now) {
  if (record.id.empty()) return absl::InvalidArgumentError("agent_id is empty");
  if (record.id.size() > 256) return absl::InvalidArgumentError("agent_id is longer than 256");
  if (record.vms.size() > 4096) return absl::InvalidArgumentError("more than 4096 VMs");
  record.capacity = std::clamp(record.capacity, 1, 1024);
  record.last_seen = now;
  absl::MutexLock lock(&mutex_);
  agents_[record.id] = std::move(record);
  return absl::OkStatus();
}

absl::Status AgentRegistry::Heartbeat(const std::string& id, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  auto it = agents_.find(id);
  if (it == agents_.end()) {
    return absl::NotFoundError(absl::StrCat("agent \"", id, "\" is not registered"));
  }
  it->second.last_seen = now;
  return absl::OkStatus();
}

std::vector<AgentRecord> AgentRegistry::List() const {
  absl::MutexLock lock(&mutex_);
  std::vector<AgentRecord> out;
  for (const auto& [id, record] : agents_) out.push_back(record);
  return out;
}

std::optional<AgentSlots> AgentRegistry::Slots(const std::string& id) const {
  absl::MutexLock lock(&mutex_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return std::nullopt;
  return AgentSlots{.id = id, .vms = it->second.vms, .capacity = it->second.capacity};
}

bool AgentRegistry::LiveAgentDrives(const std::string& vm, absl::Time now) const {
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, record] : agents_) {
    if (IsAlive(record, now) &&
        std::find(record.vms.begin(), record.vms.end(), vm) != record.vms.end()) {
      return true;
    }
  }
  return false;
}

size_t AgentRegistry::LiveCount(absl::Time now) const {
  absl::MutexLock lock(&mutex_);
  return std::count_if(agents_.begin(), agents_.end(),
                       [&](const auto& entry) { return IsAlive(entry.second, now); });
}

int AgentRegistry::LiveCapacity(absl::Time now) const {
  absl::MutexLock lock(&mutex_);
  int capacity = 0;
  for (const auto& [id, record] : agents_) {
    if (IsAlive(record, now)) capacity += record.capacity;
  }
  return capacity;
}

}  // namespace mosdat

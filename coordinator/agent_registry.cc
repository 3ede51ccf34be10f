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
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, other] : agents_) {
    if (id == record.id || !IsAlive(other, now)) continue;
    for (const std::string& vm : record.vms) {
      if (std::find(other.vms.begin(), other.vms.end(), vm) != other.vms.end()) {
        return absl::AlreadyExistsError(
            absl::StrCat("VM \"", vm, "\" is already owned by live agent \"", id, "\""));
      }
    }
  }
  record.last_seen = now;
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

std::vector<std::string> AgentRegistry::VmsOf(const std::string& id) const {
  absl::MutexLock lock(&mutex_);
  auto it = agents_.find(id);
  return it == agents_.end() ? std::vector<std::string>() : it->second.vms;
}

std::optional<std::string> AgentRegistry::OwnerOf(const std::string& vm, absl::Time now) const {
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, record] : agents_) {
    if (IsAlive(record, now) &&
        std::find(record.vms.begin(), record.vms.end(), vm) != record.vms.end()) {
      return id;
    }
  }
  return std::nullopt;
}

size_t AgentRegistry::LiveCount(absl::Time now) const {
  absl::MutexLock lock(&mutex_);
  return std::count_if(agents_.begin(), agents_.end(),
                       [&](const auto& entry) { return IsAlive(entry.second, now); });
}

}  // namespace mosdat

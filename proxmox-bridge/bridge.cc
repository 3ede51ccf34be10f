#include "proxmox-bridge/bridge.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/absl_compat.h"

namespace mosdat {
namespace {

std::string KeyOf(const PveEndpointSpec& e) {
  return absl::StrJoin({e.host, absl::StrCat(e.port), e.user, e.token.ToString(),
                        e.password.ToString(), e.fingerprint, e.ca_file},
                       "\n");
}

}  // namespace

Bridge::Bridge(BridgeOptions options) : options_(std::move(options)) {
  if (options_.metrics != nullptr) metrics_ = std::make_unique<BridgeMetrics>(*options_.metrics);
}

Bridge::~Bridge() {
  std::map<std::string, Lease> leases;
  {
    absl::MutexLock lock(&mutex_);
    leases.swap(leases_);
    consoles_.clear();
  }
  for (auto& [id, lease] : leases) (void)ReleaseVm(*lease.client, lease.spec, *lease.ready);
}

absl::StatusOr<std::shared_ptr<PveClient>> Bridge::Client(const PveEndpointSpec& endpoint) {
  const std::string key = KeyOf(endpoint);
  {
    absl::MutexLock lock(&mutex_);
    if (auto it = clients_.find(key); it != clients_.end()) return it->second;
  }
  PveClientOptions options{
      .host = endpoint.host,
      .port = endpoint.port,
      .trust = {.ca_file = endpoint.ca_file, .fingerprint = endpoint.fingerprint},
      .credentials = {.user = endpoint.user}};
  // The token wins when both are set (the config allows only one).
  const bool by_token = endpoint.token.is_set();
  const SecretRef& ref = by_token ? endpoint.token : endpoint.password;
  if (ref.is_set()) {
    absl::StatusOr<std::string> secret = ref.Resolve();
    if (!secret.ok()) {
      return absl::UnauthenticatedError(
          absl::StrCat(by_token ? "the Proxmox API token secret: " : "the Proxmox password: ",
                       secret.status().message()));
    }
    (by_token ? options.credentials.token_secret : options.credentials.password) = *secret;
  }
  if (metrics_ != nullptr) {
    BridgeMetrics* metrics = metrics_.get();
    options.on_call = [metrics](const PveCallRecord& call) { metrics->Call(call); };
    options.on_task = [metrics](const std::string& type, absl::Duration waited, bool ok) {
      metrics->Task(type, waited, ok);
    };
  }
  absl::StatusOr<std::unique_ptr<PveClient>> client = PveClient::Create(std::move(options));
  if (!client.ok()) return client.status();
  std::shared_ptr<PveClient> shared = *std::move(client);
  absl::MutexLock lock(&mutex_);
  return clients_.emplace(key, std::move(shared)).first->second;
}

std::string Bridge::NewId(std::string_view prefix) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrCat(Absl(prefix), "-", next_id_++, "-",
                      static_cast<uint64_t>(random() % 1000000));
}

int Bridge::CountConsoles() const {
  int count = static_cast<int>(consoles_.size());
  for (const auto& [id, lease] : leases_) count += lease.ready->console != nullptr ? 1 : 0;
  return count;
}

void Bridge::UpdateConsoleGauge() {
  if (metrics_ != nullptr) metrics_->ConsolesOpen(CountConsoles());
}

absl::StatusOr<ConsoleInfo> Bridge::OpenConsole(const PveEndpointSpec& endpoint, const PveVm& vm) {
  absl::StatusOr<std::shared_ptr<PveClient>> client = Client(endpoint);
  if (!client.ok()) return client.status();
  absl::StatusOr<std::unique_ptr<ConsoleHandle>> console = options_.open_console(**client, vm);
  if (!console.ok()) return console.status();
  absl::MutexLock lock(&mutex_);
  ConsoleInfo info{
      .id = NewId("console"), .address = (*console)->address(), .password = (*console)->password()};
  consoles_[info.id] = *std::move(console);
  UpdateConsoleGauge();
  return info;
}

absl::Status Bridge::CloseConsole(const std::string& id) {
  std::unique_ptr<ConsoleHandle> console;
  absl::MutexLock lock(&mutex_);
  auto it = consoles_.find(id);
  if (it == consoles_.end()) {
    return absl::NotFoundError(absl::StrCat("no open console \"", id, "\""));
  }
  console = std::move(it->second);
  consoles_.erase(it);
  UpdateConsoleGauge();
  return absl::OkStatus();
}

absl::StatusOr<PreparedVmInfo> Bridge::Prepare(const PveEndpointSpec& endpoint,
                                               const VmReadinessSpec& spec) {
  absl::StatusOr<std::shared_ptr<PveClient>> client = Client(endpoint);
  if (!client.ok()) return client.status();
  std::string failed_step;
  absl::StatusOr<std::unique_ptr<ReadyVm>> ready =
      MakeVmReady(**client, spec, options_.open_console, &failed_step);
  if (!ready.ok()) {
    if (metrics_ != nullptr) metrics_->ReadyFailed(failed_step);
    return ready.status();
  }
  if (metrics_ != nullptr) metrics_->Ready((*ready)->timings);
  PreparedVmInfo info{.vm = (*ready)->vm,
                      .address = (*ready)->address,
                      .gpu = (*ready)->gpu,
                      .warnings = (*ready)->warnings,
                      .timings = (*ready)->timings};
  absl::MutexLock lock(&mutex_);
  info.lease_id = NewId("lease");
  if ((*ready)->console != nullptr) {
    info.console = ConsoleInfo{.id = info.lease_id,
                               .address = (*ready)->console->address(),
                               .password = (*ready)->console->password()};
  }
  leases_[info.lease_id] = Lease{*client, spec, *std::move(ready)};
  UpdateConsoleGauge();
  return info;
}

absl::Status Bridge::Release(const std::string& lease_id) {
  Lease lease;
  {
    absl::MutexLock lock(&mutex_);
    auto it = leases_.find(lease_id);
    if (it == leases_.end()) {
      return absl::NotFoundError(absl::StrCat("no prepared VM with lease \"", lease_id, "\""));
    }
    lease = std::move(it->second);
    leases_.erase(it);
    UpdateConsoleGauge();
  }
  return ReleaseVm(*lease.client, lease.spec, *lease.ready);
}

int Bridge::open_consoles() const {
  absl::MutexLock lock(&mutex_);
  return CountConsoles();
}

int Bridge::leases() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int>(leases_.size());
}

}  // namespace mosdat

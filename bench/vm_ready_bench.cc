// VM-ready benchmark: from "job leased" (the call to Bridge::Prepare) to "VM ready"
// (running, its address known, its console open), per step, against the Proxmox VE
// STAND-IN (tests/pve_standin/: a real QEMU and qemu-ga per VM, its vncwebsocket in front
// of a real Xvnc desktop). Every iteration rolls the VM back to a snapshot, starts it,
// asks the guest agent for its address and opens the console tunnel, then releases it
// (console closed, VM shut down). PVE's own task times are NOT modelled: the stand-in's
// tasks take `task_duration_s` (default 0) plus what its QEMU really does, so the figures
// are the bridge's overhead plus a local QEMU's start, not a Proxmox host's.
//   build/bench/mosdat_bench_vm_ready [iterations] [task_duration_s]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/latency.h"
#include "core/file_util.h"
#include "core/net.h"
#include "core/process.h"
#include "proxmox-bridge/bridge.h"
#include "proxmox-bridge/pve_console.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/rfb/vnc_session.h"

namespace mosdat {
namespace {

constexpr char kDesktopPassword[] = "xvnc-pw1";
constexpr int kWidth = 800;
constexpr int kHeight = 600;
// The stand-in's QEMU runs no guest OS, so an ACPI shutdown is never answered: release
// waits this long, then stops the VM.
constexpr absl::Duration kShutdownTimeout = absl::Seconds(1);
constexpr char kTokenId[] = "root@pam!mosdat";
constexpr char kTokenSecret[] = "11111111-2222-3333-4444-555555555555";

double P95(std::vector<double> ms) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  return ms[std::min(ms.size() - 1, static_cast<size_t>(0.95 * ms.size()))];
}

void Print(const std::string& what, const std::vector<double>& ms) {
  PrintLatency(what, ms, 40, 1, absl::StrFormat("p95 %8.1f ms", P95(ms)));
}

// The stand-in as a process: started with `config`, ready once it wrote ready.json.
struct StandIn {
  std::optional<Process> process;
  int port = 0;
  std::string fingerprint;
};

absl::StatusOr<StandIn> StartStandIn(const std::string& dir, const nlohmann::json& config) {
  std::ofstream(dir + "/config.json") << config.dump(2);
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {"/usr/bin/python3",
                std::string(MOSDAT_SOURCE_DIR) + "/tests/pve_standin/pve_standin.py", "--state-dir",
                dir, "--config", dir + "/config.json", "--pve-version", "9.1"},
       .env = CurrentEnvironment(),
       .stdout_path = dir + "/out",
       .stderr_path = dir + "/err"});
  if (!process.ok()) return process.status();
  StandIn standin;
  standin.process.emplace(*std::move(process));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    nlohmann::json ready =
        nlohmann::json::parse(ReadFileOrEmpty(dir + "/ready.json"), nullptr, false);
    if (ready.is_object() && ready.contains("port")) {
      standin.port = ready["port"].get<int>();
      standin.fingerprint = ready["fingerprint"].get<std::string>();
      return standin;
    }
    if (standin.process->Poll()) break;
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  return absl::UnavailableError("the Proxmox VE stand-in did not start: " +
                                ReadFileOrEmpty(dir + "/err"));
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  return 1;
}

int Run(int iterations, double task_duration_s) {
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.width = kWidth, .height = kHeight, .vnc_password = kDesktopPassword});
  if (!desktop.ok()) return Fail("desktop", desktop.status());
  const std::string dir = (*desktop)->root_dir() + "/pve-standin";
  std::filesystem::create_directories(dir);
  nlohmann::json config = {
      {"nodes", {"pve1", "pve2"}},
      {"users", {{"root@pam", {{"password", "rootpw"}, {"privileges", "all"}}}}},
      {"tokens", {{kTokenId, {{"secret", kTokenSecret}, {"privileges", "all"}}}}},
      {"vms",
       {{{"vmid", 100},
         {"node", "pve1"},
         {"name", "fedora"},
         {"machine", "q35"},
         {"disk", true},
         {"vnc_target", (*desktop)->vnc_address()},
         {"vnc_target_password", kDesktopPassword}}}},
      {"task_duration_s", task_duration_s}};
  absl::StatusOr<StandIn> pve = StartStandIn(dir, config);
  if (!pve.ok()) return Fail("stand-in", pve.status());

  // The token reaches the bridge as a reference, as from a config file.
  setenv("MOSDAT_BENCH_PVE_TOKEN", kTokenSecret, 1);
  const PveEndpointSpec endpoint{.host = "127.0.0.1",
                                 .port = pve->port,
                                 .user = kTokenId,
                                 .token = SecretRef::FromEnv("MOSDAT_BENCH_PVE_TOKEN"),
                                 .fingerprint = pve->fingerprint};
  Bridge bridge(BridgeOptions{.open_console = OpenTunnelConsole});
  absl::StatusOr<std::shared_ptr<PveClient>> client = bridge.Client(endpoint);
  if (!client.ok()) return Fail("client", client.status());
  absl::Status snapshot = CreatePveSnapshot(**client, {.node = "pve1", .vmid = 100}, "clean", "",
                                            {.deadline = absl::Now() + absl::Seconds(60)});
  if (!snapshot.ok()) return Fail("snapshot", snapshot);

  std::printf(
      "mOSdat VM-ready benchmark: Proxmox VE stand-in 9.1 (loopback HTTPS, API token), one "
      "VM (QEMU TCG + qemu-ga), rollback to a snapshot + start + guest address + console "
      "tunnel to an %dx%d Xvnc, released (console closed, VM shut down) between "
      "iterations, %d iterations\n"
      "PVE's own task times are not modelled: stand-in tasks take task_duration_s = %.2f s "
      "plus the local QEMU's real work\n",
      kWidth, kHeight, iterations, task_duration_s);
  std::vector<double> find, rollback, gpu, start, address, console, total, call, connect, release;
  for (int i = 0; i < iterations; ++i) {
    absl::Time leased = absl::Now();
    absl::StatusOr<PreparedVmInfo> prepared =
        bridge.Prepare(endpoint, {.pve_name = "fedora",
                                  .snapshot = "clean",
                                  .after = AfterJob::kShutdown,
                                  .ready_timeout = absl::Seconds(60),
                                  .shutdown_timeout = kShutdownTimeout});
    if (!prepared.ok()) {
      std::fprintf(stderr, "iteration %d:\n", i + 1);
      return Fail("prepare", prepared.status());
    }
    call.push_back(Ms(absl::Now() - leased));
    if (!prepared->console.has_value()) return Fail("prepare", absl::InternalError("no console"));
    const ReadinessTimings& t = prepared->timings;
    find.push_back(Ms(t.find));
    rollback.push_back(Ms(t.rollback));
    gpu.push_back(Ms(t.gpu));
    start.push_back(Ms(t.start));
    address.push_back(Ms(t.address));
    console.push_back(Ms(t.console));
    total.push_back(Ms(t.total));
    // What the agent does next: connect through the console to its first frame.
    absl::StatusOr<std::pair<std::string, int>> local = ParseHostPort(prepared->console->address);
    if (!local.ok()) return Fail("console", local.status());
    absl::Time connecting = absl::Now();
    absl::StatusOr<std::unique_ptr<VncSession>> vnc = VncSession::Connect(
        {.host = local->first, .port = local->second, .password = prepared->console->password});
    if (!vnc.ok()) return Fail("console", vnc.status());
    connect.push_back(Ms(absl::Now() - connecting));
    vnc->reset();
    absl::Time released = absl::Now();
    if (absl::Status s = bridge.Release(prepared->lease_id); !s.ok()) return Fail("release", s);
    release.push_back(Ms(absl::Now() - released));
  }

  Print("find (cluster resources)", find);
  Print("rollback (qmrollback task)", rollback);
  Print("gpu (none asked)", gpu);
  Print("start (qmstart task)", start);
  Print("address (guest agent)", address);
  Print("console (vncproxy + tunnel)", console);
  Print("total (steps)", total);
  Print("leased to ready (Bridge::Prepare call)", call);
  Print("then: console connect to first frame", connect);
  Print("release (console; 1 s ACPI wait, stop)", release);
  pve->process->Terminate(absl::Seconds(10));
  return 0;
}

}  // namespace
}  // namespace mosdat

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 20;
  double task_duration_s = argc > 2 ? std::atof(argv[2]) : 0;
  return mosdat::Run(std::max(iterations, 5), std::max(task_duration_s, 0.0));
}

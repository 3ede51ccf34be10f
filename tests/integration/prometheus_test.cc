// A real Prometheus server (Debian's) scrapes a real mosdat-coordinator, a real
// mosdat-vlm-gateway (asking the VLM stand-in, tests/data/vlm_standin.py) and a real
// mosdat-proxmox-bridge that prepared and failed to prepare VMs on the Proxmox VE
// stand-in (tests/pve_standin/: real QEMU and qemu-ga, its console in front of a real
// Xvnc), and every query of the shipped Grafana dashboard (deploy/grafana/mosdat.json)
// is valid PromQL that Prometheus evaluates against that data; the VLM panels' metrics
// carry data, and every panel of the "Proxmox bridge" row returns series. The shipped
// alert rules (deploy/prometheus/mosdat-alerts.yml) load and evaluate without error, and
// MosdatNoLiveAgents goes pending for the coordinator, which no agent registered with.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/frame.h"
#include "core/net.h"
#include "core/process.h"
#include "mosdat/v1/proxmox_bridge.grpc.pb.h"
#include "runtime/token_auth.h"
#include "tests/integration/pve_standin.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/vlm_standin.h"
#include "vnc-agent/local/local_desktop.h"
#include "vnc-agent/vlm_gateway_client.h"

namespace mosdat::testing {
namespace {

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      snprintf(buffer, sizeof(buffer), "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

nlohmann::json Query(int port, const std::string& promql) {
  std::string body = HttpGet(port, "/api/v1/query?query=" + UrlEncode(promql));
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

constexpr char kBridgeToken[] = "prometheus-test-bridge-token";

// One RPC to the bridge, with its bearer token.
template <typename Request, typename Response, typename Method>
grpc::Status CallBridge(v1::ProxmoxBridge::Stub& stub, Method method, const Request& request,
                        Response* response) {
  grpc::ClientContext context;
  AttachToken(context, kBridgeToken);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return (stub.*method)(&context, request, response);
}

// The names of the alerts in the shipped rules file ("- alert: Name" lines).
std::set<std::string> ShippedAlertNames() {
  std::set<std::string> names;
  std::ifstream rules(SourcePath("deploy/prometheus/mosdat-alerts.yml"));
  const std::string marker = "- alert: ";
  for (std::string line; std::getline(rules, line);) {
    size_t at = line.find(marker);
    if (at != std::string::npos) names.insert(line.substr(at + marker.size()));
  }
  return names;
}

// Through Prometheus's HTTP API: every shipped alert rule is loaded and its last
// evaluation succeeded (health "ok"; "unknown" until the first one, so polled), and
// MosdatNoLiveAgents is pending (its `for` keeps it from firing this soon) or firing
// for the coordinator scraped here, which has no agent. The coordinator is up, so
// MosdatCoordinatorDown is not.
void ExpectAlertRulesLoadAndNoLiveAgentsAlerts(int port, absl::Time deadline) {
  const std::set<std::string> shipped = ShippedAlertNames();
  ASSERT_GE(shipped.size(), 4u);
  std::map<std::string, std::string> health;  // alert → health of its rule
  nlohmann::json rules;
  auto all_ok = [&] {
    return health.size() == shipped.size() &&
           std::all_of(health.begin(), health.end(),
                       [](const auto& entry) { return entry.second == "ok"; });
  };
  while (absl::Now() < deadline) {
    rules = nlohmann::json::parse(HttpGet(port, "/api/v1/rules?type=alert"), nullptr, false);
    health.clear();
    if (rules.is_object() && rules.value("status", "") == "success") {
      for (const nlohmann::json& group : rules["data"]["groups"]) {
        for (const nlohmann::json& rule : group["rules"]) {
          health[rule.value("name", "")] = rule.value("health", "");
        }
      }
    }
    if (all_ok()) break;
    absl::SleepFor(absl::Milliseconds(100));  // poll interval
  }
  EXPECT_TRUE(all_ok()) << rules.dump();
  for (const std::string& name : shipped) {
    EXPECT_TRUE(health.contains(name)) << name << " was not loaded: " << rules.dump();
  }

  auto state_of = [](const nlohmann::json& alerts, const std::string& name) -> std::string {
    if (!alerts.is_object() || alerts.value("status", "") != "success") return "";
    for (const nlohmann::json& alert : alerts["data"]["alerts"]) {
      if (alert["labels"].value("alertname", "") == name) return alert.value("state", "");
    }
    return "";
  };
  nlohmann::json alerts;
  std::string no_agents;
  while (absl::Now() < deadline) {
    alerts = nlohmann::json::parse(HttpGet(port, "/api/v1/alerts"), nullptr, false);
    no_agents = state_of(alerts, "MosdatNoLiveAgents");
    if (no_agents == "pending" || no_agents == "firing") break;
    absl::SleepFor(absl::Milliseconds(100));  // poll interval
  }
  EXPECT_THAT(no_agents, ::testing::AnyOf("pending", "firing")) << alerts.dump();
  EXPECT_EQ(state_of(alerts, "MosdatCoordinatorDown"), "") << alerts.dump();
}

TEST(PrometheusTest, ScrapesTheServicesAndRunsEveryDashboardQuery) {
  TempDir state;
  ServiceProcess coordinator({BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:T",
                              "--agent-token=env:A", "--results-dir=" + state.File("results")},
                             {{"T", "prometheus-test-token"}, {"A", "prometheus-agent-token"}});
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();

  TempDir dir;
  StandIn model;
  ServiceProcess gateway({BuiltBinary("vlm-gateway/mosdat-vlm-gateway"),
                          "--base-url=" + model.base_url(), std::string("--model=") + kUiTars,
                          "--cache-dir=" + dir.File("vlm-cache")});
  ASSERT_TRUE(gateway.Start()) << gateway.stderr_text();
  // The same question twice: one model call (a miss), then a cache hit.
  Frame screen{.width = 320, .height = 200};
  screen.rgb.resize(320 * 200 * 3);
  for (size_t i = 0; i < screen.rgb.size(); ++i) screen.rgb[i] = static_cast<uint8_t>(i * 7);
  std::unique_ptr<VlmClient> vlm = NewVlmGatewayClient(
      grpc::CreateChannel(gateway.grpc_address(), grpc::InsecureChannelCredentials()), "");
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<LocalizeResult> found =
        vlm->Localize({.image = {.png = *EncodePng(screen)}, .prompt = "the OK button at 100,50"},
                      absl::Seconds(30));
    ASSERT_TRUE(found.ok()) << found.status();
  }

  // The bridge, its Proxmox VE the stand-in with one VM whose console shows a real Xvnc.
  absl::StatusOr<std::unique_ptr<LocalDesktop>> desktop =
      LocalDesktop::Start({.width = 640, .height = 480, .vnc_password = "xvnc-pw1"});
  ASSERT_TRUE(desktop.ok()) << desktop.status();
  PveStandIn pve(PveStandInConfig(nlohmann::json::array(
      {testing::PveStandInVm(100, "fedora", (*desktop)->vnc_address(), "xvnc-pw1")})));
  ASSERT_TRUE(pve.started());
  ServiceProcess bridge({BuiltBinary("proxmox-bridge/mosdat-proxmox-bridge"), "--token=env:T"},
                        {{"T", kBridgeToken},
                         {"MOSDAT_TEST_PVE_TOKEN", kPveTokenSecret},
                         {"MOSDAT_TEST_PVE_REVOKED", "00000000-0000-0000-0000-000000000000"}});
  ASSERT_TRUE(bridge.Start()) << bridge.stderr_text();
  std::unique_ptr<v1::ProxmoxBridge::Stub> stub = v1::ProxmoxBridge::NewStub(
      grpc::CreateChannel(bridge.grpc_address(), grpc::InsecureChannelCredentials()));
  v1::VmRequest vm;
  vm.mutable_endpoint()->set_host("127.0.0.1");
  vm.mutable_endpoint()->set_port(pve.port());
  vm.mutable_endpoint()->set_user(kPveTokenId);
  vm.mutable_endpoint()->set_token_ref("env:MOSDAT_TEST_PVE_TOKEN");
  vm.mutable_endpoint()->set_fingerprint(pve.fingerprint());
  vm.mutable_vm()->set_name("fedora");
  // A start task that fails: PrepareVm fails at its start step.
  pve.Fault({{"fail_next_task", {{"type", "qmstart"}, {"exitstatus", "boom"}}}});
  v1::PrepareVmRequest prepare;
  *prepare.mutable_vm() = vm;
  prepare.set_after("shutdown");
  prepare.set_shutdown_timeout_seconds(1);
  v1::PreparedVm prepared;
  EXPECT_FALSE(CallBridge(*stub, &v1::ProxmoxBridge::Stub::PrepareVm, prepare, &prepared).ok());
  // A token Proxmox VE does not know (revoked): HTTP 401.
  v1::ListVmsRequest list;
  *list.mutable_endpoint() = vm.endpoint();
  list.mutable_endpoint()->set_token_ref("env:MOSDAT_TEST_PVE_REVOKED");
  v1::ListVmsResponse vms;
  EXPECT_FALSE(CallBridge(*stub, &v1::ProxmoxBridge::Stub::ListVms, list, &vms).ok());
  v1::SnapshotRequest snapshot;
  *snapshot.mutable_vm() = vm;
  snapshot.set_snapshot("clean");
  v1::VmStatus status;
  grpc::Status created =
      CallBridge(*stub, &v1::ProxmoxBridge::Stub::CreateSnapshot, snapshot, &status);
  ASSERT_TRUE(created.ok()) << created.error_message();
  // A job's VM: rolled back, started, its address found and its console open.
  prepare.set_snapshot("clean");
  grpc::Status ready = CallBridge(*stub, &v1::ProxmoxBridge::Stub::PrepareVm, prepare, &prepared);
  ASSERT_TRUE(ready.ok()) << ready.error_message() << "\n" << bridge.stderr_text();
  ASSERT_FALSE(prepared.console().local_address().empty());

  std::ofstream(dir.File("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "rule_files: [\"" << SourcePath("deploy/prometheus/mosdat-alerts.yml") << "\"]\n"
      << "scrape_configs:\n  - job_name: mosdat-coordinator\n"
      << "    static_configs: [{targets: [\"127.0.0.1:" << coordinator.metrics_port() << "\"]}]\n"
      << "  - job_name: mosdat-vlm-gateway\n"
      << "    static_configs: [{targets: [\"127.0.0.1:" << gateway.metrics_port() << "\"]}]\n"
      << "  - job_name: mosdat-proxmox-bridge\n"
      << "    static_configs: [{targets: [\"127.0.0.1:" << bridge.metrics_port() << "\"]}]\n";
  absl::StatusOr<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  absl::StatusOr<Process> prometheus =
      Process::Spawn({.argv = {"prometheus", "--config.file=" + dir.File("prometheus.yml"),
                               "--storage.tsdb.path=" + dir.File("data"),
                               "--web.listen-address=127.0.0.1:" + std::to_string(*port)},
                      .env = CurrentEnvironment(),
                      .stdout_path = dir.File("prometheus.log"),
                      .stderr_path = dir.File("prometheus.log")});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // Poll until Prometheus has scraped every service successfully.
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  auto scraped = [&](const std::string& job) {
    bool up = false;
    while (!up && absl::Now() < deadline) {
      nlohmann::json result = Query(*port, "up{job=\"" + job + "\"}");
      up = result.is_object() && result.value("status", "") == "success" &&
           !result["data"]["result"].empty() && result["data"]["result"][0]["value"][1] == "1";
      if (!up) absl::SleepFor(absl::Milliseconds(100));  // poll interval
    }
    return up;
  };
  ASSERT_TRUE(scraped("mosdat-coordinator")) << "Prometheus never scraped the coordinator";
  ASSERT_TRUE(scraped("mosdat-vlm-gateway")) << "Prometheus never scraped the vlm-gateway";
  ASSERT_TRUE(scraped("mosdat-proxmox-bridge")) << "Prometheus never scraped the bridge";
  nlohmann::json agents = Query(*port, "mosdat_coordinator_live_agents");
  ASSERT_FALSE(agents["data"]["result"].empty()) << agents.dump();
  EXPECT_EQ(agents["data"]["result"][0]["value"][1], "0");

  ExpectAlertRulesLoadAndNoLiveAgentsAlerts(*port, deadline);

  std::ifstream file(SourcePath("deploy/grafana/mosdat.json"));
  nlohmann::json dashboard = nlohmann::json::parse(file);
  int queries = 0;
  int bridge_queries = 0;
  bool in_bridge_row = false;
  for (const nlohmann::json& panel : dashboard["panels"]) {
    if (panel.value("type", "") == "row") {
      in_bridge_row = panel.value("title", "") == "Proxmox bridge";
      continue;
    }
    for (const nlohmann::json& target : panel.value("targets", nlohmann::json::array())) {
      std::string expr = target["expr"];
      nlohmann::json result = Query(*port, expr);
      EXPECT_EQ(result.value("status", ""), "success")
          << panel["title"] << ": " << expr << " -> " << result.dump();
      ++queries;
      if (!in_bridge_row) continue;
      // The bridge's panels return series once Prometheus has two samples of them
      // (rate() needs two): poll with the deadline.
      while (result.is_object() && result["data"]["result"].empty() && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(100));  // poll interval
        result = Query(*port, expr);
      }
      EXPECT_TRUE(result.is_object() && !result["data"]["result"].empty())
          << panel["title"] << ": " << expr << " returned no series";
      ++bridge_queries;
    }
  }
  EXPECT_GE(queries, 23);
  EXPECT_EQ(bridge_queries, 11);

  // The series the VLM panels read exist, with the calls made above.
  auto value = [&](const std::string& promql) -> std::string {
    nlohmann::json result = Query(*port, promql);
    if (!result.is_object() || result["data"]["result"].empty()) return "none";
    return result["data"]["result"][0]["value"][1];
  };
  EXPECT_EQ(value("sum(mosdat_vlm_cache_hits_total)"), "1");
  EXPECT_EQ(value("sum(mosdat_vlm_cache_misses_total)"), "1");
  EXPECT_EQ(value("sum(mosdat_vlm_request_seconds_count)"), "2");
  EXPECT_EQ(value("sum(mosdat_vlm_upstream_requests_total)"), "1");
  EXPECT_NE(value("count(mosdat_vlm_upstream_seconds_bucket)"), "none");

  // The bridge's series count what it did above.
  const std::string bridge_rpcs = "mosdat_grpc_requests_total{service=\"mosdat-proxmox-bridge\"";
  EXPECT_EQ(value("sum(" + bridge_rpcs + ", code=\"OK\"})"), "2");
  EXPECT_EQ(value("sum(" + bridge_rpcs + ", code!=\"OK\"})"), "2");
  EXPECT_EQ(value("sum(mosdat_bridge_vm_ready_failures_total{step=\"start\"})"), "1");
  EXPECT_EQ(value("count(mosdat_bridge_vm_ready_seconds_count)"), "7") << "one series per step";
  EXPECT_EQ(value("sum(mosdat_bridge_vm_ready_seconds_count{step=\"total\"})"), "1");
  EXPECT_EQ(value("sum(mosdat_bridge_pve_task_seconds_count{type=\"qmstart\", result=\"error\"})"),
            "1");
  EXPECT_EQ(value("sum(mosdat_bridge_pve_task_seconds_count{type=\"qmrollback\", result=\"ok\"})"),
            "1");
  EXPECT_NE(value("sum(mosdat_bridge_pve_requests_total{code=\"401\"})"), "none");
  EXPECT_EQ(value("sum(mosdat_bridge_open_consoles)"), "1");
  v1::ReleaseVmRequest release;
  release.set_lease_id(prepared.lease_id());
  v1::ReleaseVmResponse released;
  grpc::Status done = CallBridge(*stub, &v1::ProxmoxBridge::Stub::ReleaseVm, release, &released);
  EXPECT_TRUE(done.ok()) << done.error_message();
  EXPECT_FALSE(pve.VmState(100)["running"].get<bool>()) << "after = shutdown";
  EXPECT_EQ(bridge.Terminate(), 0);
  EXPECT_EQ(gateway.Terminate(), 0);
  prometheus->Terminate(absl::Seconds(5));
  EXPECT_EQ(coordinator.Terminate(), 0);
}

}  // namespace
}  // namespace mosdat::testing

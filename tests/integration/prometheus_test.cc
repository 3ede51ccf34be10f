// A real Prometheus server (Debian's) scrapes a real mosdat-coordinator and a real
// mosdat-vlm-gateway (asking the VLM stand-in, tests/data/vlm_standin.py), and every
// query of the shipped Grafana dashboard (deploy/grafana/mosdat.json) is valid PromQL
// that Prometheus evaluates against that data; the VLM panels' metrics carry data.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/frame.h"
#include "core/net.h"
#include "core/process.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/vlm_standin.h"
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

TEST(PrometheusTest, ScrapesCoordinatorAndVlmGatewayAndRunsEveryDashboardQuery) {
  ServiceProcess coordinator({BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:T"},
                             {{"T", "prometheus-test-token"}});
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

  std::ofstream(dir.File("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n"
      << "scrape_configs:\n  - job_name: mosdat-coordinator\n"
      << "    static_configs: [{targets: [\"127.0.0.1:" << coordinator.metrics_port() << "\"]}]\n"
      << "  - job_name: mosdat-vlm-gateway\n"
      << "    static_configs: [{targets: [\"127.0.0.1:" << gateway.metrics_port() << "\"]}]\n";
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

  // Poll until Prometheus has scraped both services successfully.
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
  nlohmann::json agents = Query(*port, "mosdat_coordinator_live_agents");
  ASSERT_FALSE(agents["data"]["result"].empty()) << agents.dump();
  EXPECT_EQ(agents["data"]["result"][0]["value"][1], "0");

  std::ifstream file(SourcePath("deploy/grafana/mosdat.json"));
  nlohmann::json dashboard = nlohmann::json::parse(file);
  int queries = 0;
  for (const nlohmann::json& panel : dashboard["panels"]) {
    for (const nlohmann::json& target : panel["targets"]) {
      std::string expr = target["expr"];
      nlohmann::json result = Query(*port, expr);
      EXPECT_EQ(result.value("status", ""), "success")
          << panel["title"] << ": " << expr << " -> " << result.dump();
      ++queries;
    }
  }
  EXPECT_GE(queries, 12);

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
  EXPECT_EQ(gateway.Terminate(), 0);
  prometheus->Terminate(absl::Seconds(5));
  EXPECT_EQ(coordinator.Terminate(), 0);
}

}  // namespace
}  // namespace mosdat::testing

// A real Prometheus server (Debian's) scrapes a real mosdat-coordinator, and every query
// of the shipped Grafana dashboard (deploy/grafana/mosdat.json) is valid PromQL that
// Prometheus evaluates against that data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/net.h"
#include "core/process.h"
#include "tests/integration/subprocess.h"

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

TEST(PrometheusTest, ScrapesTheCoordinatorAndRunsEveryDashboardQuery) {
  ServiceProcess coordinator({BuiltBinary("coordinator/mosdat-coordinator"), "--token=env:T"},
                             {{"T", "prometheus-test-token"}});
  ASSERT_TRUE(coordinator.Start()) << coordinator.stderr_text();

  TempDir dir;
  std::ofstream(dir.File("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n"
      << "scrape_configs:\n  - job_name: mosdat-coordinator\n"
      << "    static_configs: [{targets: [\"127.0.0.1:" << coordinator.metrics_port() << "\"]}]\n";
  absl::StatusOr<int> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  absl::StatusOr<Process> prometheus = Process::Spawn(
      {.argv = {"prometheus", "--config.file=" + dir.File("prometheus.yml"),
                "--storage.tsdb.path=" + dir.File("data"),
                "--web.listen-address=127.0.0.1:" + std::to_string(*port)},
       .env = CurrentEnvironment(),
       .stdout_path = dir.File("prometheus.log"),
       .stderr_path = dir.File("prometheus.log")});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // Poll until Prometheus has scraped the coordinator successfully.
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  bool up = false;
  while (!up && absl::Now() < deadline) {
    nlohmann::json result = Query(*port, "up{job=\"mosdat-coordinator\"}");
    up = result.is_object() && result.value("status", "") == "success" &&
         !result["data"]["result"].empty() && result["data"]["result"][0]["value"][1] == "1";
    if (!up) absl::SleepFor(absl::Milliseconds(100));  // poll interval
  }
  ASSERT_TRUE(up) << "Prometheus never scraped the coordinator";
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
  EXPECT_GE(queries, 6);
  prometheus->Terminate(absl::Seconds(5));
  EXPECT_EQ(coordinator.Terminate(), 0);
}

}  // namespace
}  // namespace mosdat::testing

#include "tests/integration/pve_standin.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/file_util.h"

namespace mosdat::testing {
namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Where the official API schemas are (read, never copied: AGPL data); "" = none.
std::string SchemaDir() {
  if (const char* dir = std::getenv("MOSDAT_PVE_SCHEMAS"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  std::filesystem::path beside = std::filesystem::path(MOSDAT_SOURCE_DIR) / ".." / "shared" / "pve";
  return std::filesystem::exists(beside / "apidata-9.1.3.js") ? beside.string() : "";
}

}  // namespace

nlohmann::json PveStandInConfig(nlohmann::json vms) {
  return {{"nodes", {"pve1", "pve2"}},
          {"users", {{"root@pam", {{"password", kPveRootPassword}, {"privileges", "all"}}}}},
          {"tokens", {{kPveTokenId, {{"secret", kPveTokenSecret}, {"privileges", "all"}}}}},
          {"vms", std::move(vms)},
          {"task_duration_s", 0.1}};
}

nlohmann::json PveStandInVm(int vmid, const std::string& name, const std::string& vnc_address,
                            const std::string& vnc_password) {
  nlohmann::json vm = {
      {"vmid", vmid}, {"node", "pve1"}, {"name", name}, {"machine", "q35"}, {"disk", true}};
  if (!vnc_address.empty()) {
    vm["vnc_target"] = vnc_address;
    vm["vnc_target_password"] = vnc_password;
  }
  return vm;
}

void AddPveStandInGpu(nlohmann::json* config) {
  (*config)["pci_devices"] = {{"pve1",
                               {{{"id", "0000:01:00.0"},
                                 {"class", "0x030000"},
                                 {"vendor", "0x10de"},
                                 {"device", "0x2204"},
                                 {"device_name", "GA102"}}}}};
  (*config)["pci_mappings"] = {
      {{"id", "gpu0"}, {"map", {"node=pve1,path=0000:01:00.0,id=10de:2204"}}}};
}

PveStandIn::PveStandIn(const nlohmann::json& config, const std::string& pve_version)
    : version_(pve_version) {
  {
    std::ofstream out(dir_.File("config.json"));
    out << config.dump(2);
  }
  absl::StatusOr<Process> process = Process::Spawn(
      {.argv = {"/usr/bin/python3", SourcePath("tests/pve_standin/pve_standin.py"), "--state-dir",
                dir_.path(), "--config", dir_.File("config.json"), "--pve-version", pve_version},
       .env = CurrentEnvironment(),
       .stdout_path = dir_.File("out"),
       .stderr_path = dir_.File("err")});
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return;
  }
  process_.emplace(std::move(*process));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    nlohmann::json ready =
        nlohmann::json::parse(ReadFileOrEmpty(dir_.File("ready.json")), nullptr, false);
    if (ready.is_object() && ready.contains("port")) {
      port_ = ready["port"].get<int>();
      fingerprint_ = ready["fingerprint"].get<std::string>();
      cert_file_ = ready["cert_file"].get<std::string>();
      return;
    }
    if (process_->Poll()) break;
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  ADD_FAILURE() << "the Proxmox VE stand-in did not start: " << ReadFileOrEmpty(dir_.File("err"));
}

PveStandIn::~PveStandIn() {
  if (started()) CheckConformance();
  if (::testing::Test::HasFailure()) {
    std::string log = ReadFileOrEmpty(dir_.File("err"));
    if (log.size() > 6000) log = log.substr(log.size() - 6000);
    std::cerr << "--- the Proxmox VE stand-in's log (tail):\n" << log << "\n";
    std::vector<nlohmann::json> requests = Requests();
    std::cerr << "--- its last requests:\n";
    for (size_t i = requests.size() > 8 ? requests.size() - 8 : 0; i < requests.size(); ++i) {
      std::cerr << requests[i].dump().substr(0, 300) << "\n";
    }
  }
  if (process_) process_->Terminate(absl::Seconds(10));
}

PveClientOptions PveStandIn::TokenOptions() const {
  return {.host = "127.0.0.1",
          .port = port_,
          .trust = {.fingerprint = fingerprint_},
          .credentials = {.user = kPveTokenId, .token_secret = kPveTokenSecret}};
}

PveClientOptions PveStandIn::PasswordOptions() const {
  return {.host = "127.0.0.1",
          .port = port_,
          .trust = {.fingerprint = fingerprint_},
          .credentials = {.user = "root@pam", .password = kPveRootPassword}};
}

std::string PveStandIn::Https(const std::string& method, const std::string& path,
                              const std::string& body) const {
  std::string answer;
  CURL* curl = curl_easy_init();
  const std::string url = absl::StrCat("https://127.0.0.1:", port_, path);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  // The test trusts the stand-in's own certificate as its CA (it is self-signed).
  curl_easy_setopt(curl, CURLOPT_CAINFO, cert_file_.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  if (method == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code) << " " << path;
  EXPECT_EQ(status, 200) << path << ": " << answer;
  return answer;
}

void PveStandIn::Fault(const nlohmann::json& fault) const {
  Https("POST", "/_standin/fault", fault.dump());
}

nlohmann::json PveStandIn::State() const {
  return nlohmann::json::parse(Https("GET", "/_standin/state", ""), nullptr, false);
}

nlohmann::json PveStandIn::VmState(int vmid) const {
  nlohmann::json state = State();
  for (const auto& vm : state["vms"]) {
    if (vm.value("vmid", 0) == vmid) return vm;
  }
  ADD_FAILURE() << "no VM " << vmid << " in the stand-in's state";
  return nlohmann::json::object();
}

std::vector<nlohmann::json> PveStandIn::Requests() const {
  std::vector<nlohmann::json> requests;
  std::ifstream in(dir_.File("requests.jsonl"));
  for (std::string line; std::getline(in, line);) {
    nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
    if (!request.is_discarded()) requests.push_back(std::move(request));
  }
  return requests;
}

void PveStandIn::CheckConformance() const {
  const std::string schemas = SchemaDir();
  if (schemas.empty()) return;  // the schemas are not shipped with the project (AGPL data)
  const std::string schema = version_.rfind("8.", 0) == 0 ? "apidata-8.4.0.js" : "apidata-9.1.3.js";
  std::string requests = dir_.File("requests.jsonl");
  if (allow_refused_) {
    std::ofstream kept(dir_.File("accepted-requests.jsonl"));
    for (const nlohmann::json& request : Requests()) {
      if (request.value("status", 0) != 400) kept << request.dump() << "\n";
    }
    requests = dir_.File("accepted-requests.jsonl");
  }
  RunResult result = RunCommand({"/usr/bin/python3", SourcePath("tests/pve_standin/conformance.py"),
                                 "--schema", schemas + "/" + schema, "--requests", requests},
                                {}, std::chrono::seconds(120));
  EXPECT_EQ(result.exit_code, 0) << "requests the real Proxmox VE API (" << schema
                                 << ") would refuse:\n"
                                 << result.out << result.err;
}

}  // namespace mosdat::testing

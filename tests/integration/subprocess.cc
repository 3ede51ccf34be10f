#include "tests/integration/subprocess.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_util.h"

namespace mosdat::testing {
namespace {

Environment WithExtra(const std::map<std::string, std::string>& extra) {
  Environment env = CurrentEnvironment();
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

absl::Duration ToAbsl(std::chrono::seconds s) { return absl::Seconds(s.count()); }

}  // namespace

std::string BuiltBinary(const std::string& relative) {
  return std::string(MOSDAT_BINARY_DIR) + "/" + relative;
}

std::string SourcePath(const std::string& relative) {
  return std::string(MOSDAT_SOURCE_DIR) + "/" + relative;
}

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path() / "mosdat-test-XXXXXX";
  std::vector<char> buffer(base.begin(), base.end());
  buffer.push_back('\0');
  path_ = mkdtemp(buffer.data());
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunResult RunCommand(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, std::chrono::seconds timeout) {
  RunResult result;
  absl::StatusOr<CommandResult> ran = mosdat::RunCommand(argv, WithExtra(env), ToAbsl(timeout));
  if (!ran.ok()) {
    result.err = std::string(ran.status().message());
    return result;
  }
  result.exit_code = ran->status.exit_code;
  result.signal = ran->status.signal;
  result.out = ran->out;
  result.err = ran->err;
  return result;
}

ServiceProcess::ServiceProcess(std::vector<std::string> argv,
                               std::map<std::string, std::string> env)
    : argv_(std::move(argv)), env_(std::move(env)) {}

ServiceProcess::~ServiceProcess() = default;

bool ServiceProcess::Start(std::chrono::seconds deadline) {
  std::vector<std::string> argv = argv_;
  argv.push_back("--listen=" + listen_);
  argv.push_back("--metrics-listen=127.0.0.1:0");
  argv.push_back("--ready-file=" + dir_.File("ready.json"));
  absl::StatusOr<Process> process = Process::Spawn({.argv = argv,
                                                    .env = WithExtra(env_),
                                                    .stdout_path = dir_.File("out"),
                                                    .stderr_path = dir_.File("err")});
  if (!process.ok()) return false;
  process_.emplace(std::move(*process));
  absl::Time until = absl::Now() + ToAbsl(deadline);
  while (absl::Now() < until) {
    if (std::filesystem::exists(dir_.File("ready.json"))) {
      nlohmann::json ready = nlohmann::json::parse(ReadFileOrEmpty(dir_.File("ready.json")));
      grpc_address_ = ready.at("grpc_address");
      metrics_port_ = ready.at("metrics_port");
      return true;
    }
    if (process_->Poll()) return false;
    absl::SleepFor(absl::Milliseconds(5));  // poll interval
  }
  return false;
}

int ServiceProcess::Terminate(std::chrono::seconds deadline) {
  if (!process_) return -1;
  process_->Signal(SIGTERM);
  std::optional<ExitStatus> status = process_->Wait(ToAbsl(deadline));
  return status ? status->exit_code : -1;
}

void ServiceProcess::Kill() {
  if (!process_) return;
  kill(process_->pid(), SIGKILL);
  process_->Wait(absl::Seconds(10));
}

std::string ServiceProcess::stderr_text() const { return ReadFileOrEmpty(dir_.File("err")); }

std::set<int> ListeningTcpPorts(int pid) {
  // The process's sockets by inode (/proc/PID/fd/N -> "socket:[INODE]"), then the
  // namespace's TCP table: "sl local_address rem_address st ... inode", with local
  // address HEX_IP:HEX_PORT and state 0A for LISTEN.
  std::set<std::string> inodes;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(proc + "/fd", ec)) {
    std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::istringstream lines(ReadFileOrEmpty(proc + table));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state != "0A" || !inodes.contains(inode)) continue;
      ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

std::string HttpGet(int port, const std::string& path) {
  CURL* curl = curl_easy_init();
  std::string body;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  CURLcode code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return code == CURLE_OK ? body : "";
}

}  // namespace mosdat::testing

#include "tests/integration/subprocess.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

extern char** environ;

namespace mosdat::testing {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

pid_t Spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<std::string> envs = MergedEnvironment(env);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(envs);
  pid_t pid = -1;
  if (posix_spawn(&pid, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data()) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Waits for pid until the deadline, polling; returns true when it exited.
bool WaitFor(pid_t pid, std::chrono::steady_clock::time_point deadline, int* status) {
  while (true) {
    pid_t done = waitpid(pid, status, WNOHANG);
    if (done == pid) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, not a wait
  }
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

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

RunResult RunCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::seconds timeout) {
  TempDir dir;
  RunResult result;
  pid_t pid = Spawn(argv, env, dir.File("out"), dir.File("err"));
  if (pid < 0) {
    result.err = "cannot spawn " + argv[0];
    return result;
  }
  int status = 0;
  if (!WaitFor(pid, std::chrono::steady_clock::now() + timeout, &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.out = ReadAll(dir.File("out"));
  result.err = ReadAll(dir.File("err"));
  return result;
}

ServiceProcess::ServiceProcess(std::vector<std::string> argv,
                               std::map<std::string, std::string> env)
    : argv_(std::move(argv)), env_(std::move(env)) {}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ServiceProcess::Start(std::chrono::seconds deadline) {
  std::vector<std::string> argv = argv_;
  for (const char* flag : {"--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0"}) {
    argv.push_back(flag);
  }
  argv.push_back("--ready-file=" + dir_.File("ready.json"));
  pid_ = Spawn(argv, env_, dir_.File("out"), dir_.File("err"));
  if (pid_ < 0) return false;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (std::filesystem::exists(dir_.File("ready.json"))) {
      nlohmann::json ready = nlohmann::json::parse(ReadAll(dir_.File("ready.json")));
      grpc_address_ = ready.at("grpc_address");
      metrics_port_ = ready.at("metrics_port");
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  return false;
}

int ServiceProcess::Terminate(std::chrono::seconds deadline) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  bool exited = WaitFor(pid_, std::chrono::steady_clock::now() + deadline, &status);
  if (!exited) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ServiceProcess::stderr_text() const { return ReadAll(dir_.File("err")); }

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

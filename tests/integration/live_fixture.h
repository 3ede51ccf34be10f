// A `mosdat live` for a test: the real binary serving the authoring API and the
// workbench over the embedded services, on a free loopback port, with a config whose
// one VM is the local desktop running gtk3-widget-factory; calls with its token.
#ifndef MOSDAT_TESTS_INTEGRATION_LIVE_FIXTURE_H_
#define MOSDAT_TESTS_INTEGRATION_LIVE_FIXTURE_H_

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/frame.h"
#include "core/process.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {

constexpr char kToken[] = "authoring-test-token-0123456789";

class LiveServerTest : public ::testing::Test {
 protected:
  // More of the config (a [vlm] table).
  virtual std::string ExtraConfig() { return ""; }
  // The command that serves the live page (after the binary), given the config; it
  // prints the URL it listens on to stdout and takes the token from MOSDAT_LIVE_TOKEN.
  virtual std::vector<std::string> ServerArgs(const std::string& config) {
    return {
        "live", "--config", config, "--listen", "127.0.0.1:0", "--token", "env:MOSDAT_LIVE_TOKEN"};
  }

  void SetUp() override {
    config_ = dir_.File("live.toml");
    std::ofstream(config_) << ExtraConfig() << "[app]\nname = \"gtk3-widget-factory\"\n"
                           << "binary = \"/usr/bin/gtk3-widget-factory\"\n"
                           << "[app.env]\nGTK_THEME = \"Adwaita\"\n\n"
                           << "[[vm]]\nname = \"local\"\nprovider = \"local\"\n"
                           << "geometry = \"1280x800\"\n\n"
                           << "[[test]]\nname = \"authored\"\nscenario = \"authored.yaml\"\n\n"
                           << "[report]\noutput_dir = \"" << dir_.File("results") << "\"\n";
    Environment env = CurrentEnvironment();
    env["MOSDAT_LIVE_TOKEN"] = kToken;
    std::vector<std::string> argv = {BuiltBinary("cli/mosdat")};
    for (std::string& arg : ServerArgs(config_)) argv.push_back(std::move(arg));
    absl::StatusOr<Process> live = Process::Spawn({.argv = argv,
                                                   .env = env,
                                                   .stdout_path = dir_.File("live.out"),
                                                   .stderr_path = dir_.File("live.err")});
    ASSERT_TRUE(live.ok()) << live.status();
    live_.emplace(std::move(*live));
    // The server says where it listens once it does.
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (port_ == 0 && absl::Now() < deadline) {
      const std::string out = ReadFileOrEmpty(dir_.File("live.out"));
      const size_t at = out.find("http://127.0.0.1:");
      const size_t end =
          at == std::string::npos ? at : out.find_first_not_of("0123456789", at + 17);
      if (end != std::string::npos &&
          !absl::SimpleAtoi(out.substr(at + 17, end - at - 17), &port_)) {
        port_ = 0;
      }
      if (port_ == 0) {
        ASSERT_FALSE(live_->Wait(absl::Milliseconds(50)).has_value())
            << ReadFileOrEmpty(dir_.File("live.err"));
      }
    }
    ASSERT_NE(port_, 0) << ReadFileOrEmpty(dir_.File("live.err"));
  }

  void TearDown() override {
    if (!live_) return;
    live_->Signal(SIGTERM);
    std::optional<ExitStatus> status = live_->Wait(absl::Seconds(30));
    EXPECT_TRUE(status.has_value());
  }

  // A call with the bearer token (or `headers` instead); the parsed JSON body, and the
  // HTTP status in *status.
  nlohmann::json Call(const std::string& method, const std::string& path, const std::string& body,
                      int* status,
                      httplib::Headers headers = {
                          {"Authorization", std::string("Bearer ") + kToken}}) {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(180, 0);
    httplib::Result result = method == "GET" ? client.Get(path, headers)
                                             : client.Post(path, headers, body, "application/json");
    if (!result) {
      *status = -1;
      return nlohmann::json();
    }
    *status = result->status;
    return nlohmann::json::parse(result->body, nullptr, false);
  }
  nlohmann::json Post(const std::string& path, const nlohmann::json& body, int expect = 200) {
    int status = 0;
    nlohmann::json answer = Call("POST", path, body.dump(), &status);
    EXPECT_EQ(status, expect) << path << " " << answer.dump();
    return answer;
  }

  // tests/browser/pages.mjs ARGS in Debian's chromium against this server; its
  // screenshots go to MOSDAT_README_SHOTS when set (the README's), else the test's dir.
  RunResult Pages(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"node", SourcePath("tests/browser/pages.mjs")};
    argv.insert(argv.end(), args.begin(), args.end());
    const char* shots = std::getenv("MOSDAT_README_SHOTS");
    return RunCommand(argv,
                      {{"MOSDAT_URL", "http://127.0.0.1:" + std::to_string(port_) + "/"},
                       {"MOSDAT_TOKEN", kToken},
                       {"MOSDAT_EXPORT", dir_.File("authored.yaml")},
                       {"MOSDAT_SHOTS", shots != nullptr ? shots : dir_.path()}},
                      std::chrono::seconds(240));
  }

  // The frame a capture answered.
  Frame Screen(const std::string& session) {
    nlohmann::json capture = Post("/api/author/capture", {{"session_id", session}});
    std::string png;
    EXPECT_TRUE(absl::Base64Unescape(capture.value("png_base64", ""), &png));
    absl::StatusOr<Frame> frame = DecodePng(png);
    EXPECT_TRUE(frame.ok()) << frame.status();
    return frame.ok() ? *frame : Frame{};
  }

  TempDir dir_;
  std::string config_;
  std::optional<Process> live_;
  int port_ = 0;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_LIVE_FIXTURE_H_

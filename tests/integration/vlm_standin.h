// tests/data/vlm_standin.py as a test fixture: a stand-in for a real VLM endpoint (no
// GPU model can run here) that speaks the OpenAI chat-completions protocol, validates
// every request and answers the way grounding models do. See the script's docstring
// for how a prompt's words choose the answer.
#ifndef MOSDAT_TESTS_INTEGRATION_VLM_STANDIN_H_
#define MOSDAT_TESTS_INTEGRATION_VLM_STANDIN_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/process.h"
#include "tests/integration/subprocess.h"

namespace mosdat::testing {

inline constexpr char kQwen[] = "qwen2.5-vl-7b-instruct";  // answers in resized pixels
inline constexpr char kUiTars[] = "ui-tars-7b-sft";        // answers in 0..1000

// A running stand-in server serving kQwen and kUiTars; killed when destroyed.
class StandIn {
 public:
  explicit StandIn(std::vector<std::string> extra_args = {});

  std::string base_url() const;
  int port() const { return port_; }

  // Request counters (GET /stats): chat_requests, chat_valid, ...
  nlohmann::json Stats() const;
  int ChatRequests() const { return Stats().value("chat_requests", -1); }
  int ValidChatRequests() const { return Stats().value("chat_valid", -1); }
  // Lets requests waiting on "hold" answer.
  void Release() const;
  void Kill();

 private:
  TempDir dir_;
  std::optional<Process> process_;
  int port_ = 0;
};

}  // namespace mosdat::testing

#endif  // MOSDAT_TESTS_INTEGRATION_VLM_STANDIN_H_

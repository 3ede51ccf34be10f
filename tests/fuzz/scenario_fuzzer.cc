// libFuzzer target for the YAML scenario parser: any byte string must yield a Scenario
// and/or diagnostics, never a crash, hang, stack overflow or sanitizer report.
// Imports read nothing (NotFound), so the fuzzer never touches the disk.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/diagnostics.h"
#include "core/scenario.h"
#include "core/scenario_parser.h"

namespace {

// Walks the parsed model the way consumers do, so sanitizers see every field read.
void Visit(const std::vector<mosdat::Step>& steps) {
  for (const mosdat::Step& step : steps) {
    (void)mosdat::StepKindName(step.kind);
    (void)step.location.ToString();
    if (const auto* key = std::get_if<mosdat::KeyStep>(&step.kind)) (void)key->combo.ToString();
    if (const auto* wait = std::get_if<mosdat::WaitForStep>(&step.kind)) {
      for (const mosdat::Condition& c : wait->conditions) (void)mosdat::ConditionKindName(c);
    }
    if (const auto* iv = std::get_if<mosdat::IfVisibleStep>(&step.kind)) {
      (void)mosdat::ConditionKindName(iv->target);
      Visit(iv->then_steps);
      Visit(iv->else_steps);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mosdat::ScenarioOptions options;
  options.read_file = [](const std::string& path) -> absl::StatusOr<std::string> {
    return absl::NotFoundError(path);
  };
  options.overrides = {{"app.name", mosdat::Value("fuzz")}};
  mosdat::Diagnostics diagnostics;
  mosdat::Scenario scenario =
      mosdat::ParseScenario(text, "fuzz/scenario.yaml", options, &diagnostics);
  for (const mosdat::Diagnostic& d : diagnostics.items()) (void)d.ToString();
  Visit(scenario.steps);
  Visit(scenario.cleanup);
  for (const auto& [name, value] : scenario.vars) (void)value.ToString();
  return 0;
}

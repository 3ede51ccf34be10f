// libFuzzer target for the TOML config parser: any byte string must yield a Config
// and/or diagnostics, never a crash, hang or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config_parser.h"
#include "core/diagnostics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mosdat::Diagnostics diagnostics;
  mosdat::Config config = mosdat::ParseConfig(text, "fuzz/config.toml", &diagnostics);
  // Exercise the formatting paths too.
  for (const mosdat::Diagnostic& d : diagnostics.items()) (void)d.ToString();
  if (diagnostics.empty()) {
    for (const mosdat::TestConfig& test : config.tests) (void)config.VmsFor(test);
    (void)config.app.VerdictFor(139);
  }
  return 0;
}

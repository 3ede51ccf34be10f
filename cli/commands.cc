#include "cli/commands.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"
#include "runtime/logging.h"

namespace mosdat {

void RunWithLogging(const GlobalOptions& global, int* exit_code, const std::function<int()>& run) {
  if (absl::Status s = InitLogging("mosdat", global.log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    *exit_code = kExitUsage;
    return;
  }
  *exit_code = run();
}

absl::StatusOr<VlmConfig> LoadVlmConfig(const std::string& path, std::string_view command,
                                        std::string_view instead) {
  absl::StatusOr<Config> config = LoadConfig(path);
  if (!config.ok()) return config.status();
  if (!config->vlm) {
    return absl::FailedPreconditionError(
        absl::StrCat(std::string(command), ": ", path,
                     " has no [vlm] table; add one (base_url, model) or ", std::string(instead)));
  }
  return *config->vlm;
}

}  // namespace mosdat

#include "cli/commands.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "core/config_parser.h"
#include "core/secret_ref.h"
#include "runtime/logging.h"
#include "runtime/token_auth.h"

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

absl::StatusOr<Config> LoadConfigPrintingWarnings(const std::string& path) {
  Diagnostics warnings;
  absl::StatusOr<Config> config = LoadConfig(path, &warnings);
  for (const Diagnostic& d : warnings.warnings()) std::cerr << "warning: " << d.ToString() << "\n";
  return config;
}

absl::StatusOr<std::string> ServerToken(const std::string& ref, std::string_view flag, bool* made) {
  *made = ref.empty();
  if (ref.empty()) return GenerateToken();
  absl::StatusOr<std::string> value = SecretRef::ResolveText(ref);
  if (!value.ok()) {
    return absl::InvalidArgumentError(std::string(flag) + ": " +
                                      std::string(value.status().message()));
  }
  if (value->empty()) return absl::InvalidArgumentError(std::string(flag) + ": the token is empty");
  return *value;
}

}  // namespace mosdat

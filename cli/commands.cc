#include "cli/commands.h"

#include <iostream>

#include "cli/exit_codes.h"
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

}  // namespace mosdat

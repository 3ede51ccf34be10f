// One logging set-up for every binary: spdlog to stderr, level by name.
#ifndef MOSDAT_RUNTIME_LOGGING_H_
#define MOSDAT_RUNTIME_LOGGING_H_

#include <string>

#include "absl/status/status.h"

namespace mosdat {

// level: trace|debug|info|warn|error|off. Unknown names are an error.
absl::Status InitLogging(const std::string& program, const std::string& level);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_LOGGING_H_

// A ready file tells a supervisor (tests, systemd wrappers, the CLI) that a service is
// serving and on which ports, so nobody has to guess ports or sleep: it is written
// atomically (temp file + rename) only after both ports are bound.
#ifndef MOSDAT_RUNTIME_READY_FILE_H_
#define MOSDAT_RUNTIME_READY_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace mosdat {

struct ReadyInfo {
  std::string service;
  std::string grpc_address;  // host:port
  int metrics_port = 0;
};

absl::Status WriteReadyFile(const std::string& path, const ReadyInfo& info);

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_READY_FILE_H_

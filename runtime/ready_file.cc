#include "runtime/ready_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace mosdat {

absl::Status WriteReadyFile(const std::string& path, const ReadyInfo& info) {
  nlohmann::json json = {{"service", info.service},
                         {"grpc_address", info.grpc_address},
                         {"metrics_port", info.metrics_port},
                         {"pid", static_cast<int>(getpid())}};
  std::string temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json.dump() << "\n";
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace mosdat

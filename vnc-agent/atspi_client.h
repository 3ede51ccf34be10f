// AtspiClient: the agent's side of the guest AT-SPI helper's JSON-lines protocol
// (guest/mosdat_atspi_helper.py), over any LineChannel (an SSH process on a VM, or a
// local child). Translates the scenario model's AtspiQuery into requests and the
// helper's answers into plain structs; helper errors keep their "near" candidates.
#ifndef MOSDAT_VNC_AGENT_ATSPI_CLIENT_H_
#define MOSDAT_VNC_AGENT_ATSPI_CLIENT_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/frame.h"
#include "core/scenario.h"
#include "vnc-agent/line_channel.h"

namespace mosdat {

struct AccessibleObject {
  std::string role;
  std::string name;
  std::string app;
  std::vector<std::string> states;
  std::vector<std::string> actions;
  Rect box;               // screen pixels
  Point center;           // screen pixels
  bool verified = false;  // hit-testing the center found this object (or kin)
};

class AtspiClient {
 public:
  explicit AtspiClient(LineChannel& channel) : channel_(channel) {}

  // One request/response. NotFound/FailedPrecondition for the helper's "ok": false
  // answers (message includes the near candidates); Unavailable when the helper is gone;
  // DataLoss when it answers something that is not the protocol.
  absl::StatusOr<nlohmann::json> Call(nlohmann::json request, absl::Duration timeout);

  absl::StatusOr<AccessibleObject> Find(const AtspiQuery& query, absl::Duration timeout);
  // Polls inside the guest; nullopt when exists = false and the object is gone.
  absl::StatusOr<std::optional<AccessibleObject>> WaitFor(const AtspiQuery& query, bool exists,
                                                          absl::Duration timeout,
                                                          absl::Duration interval);
  absl::Status Action(const AtspiQuery& query, const std::string& action, absl::Duration timeout);
  absl::StatusOr<std::string> Text(const AtspiQuery& query, absl::Duration timeout);

 private:
  LineChannel& channel_;
  int next_id_ = 1;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_ATSPI_CLIENT_H_

// AtspiClient: the agent's side of the guest AT-SPI helper's JSON-lines protocol
// (guest/mosdat_atspi_helper.py), over any LineChannel (an SSH process on a VM, or a
// local child). Translates the scenario model's AtspiQuery into requests and the
// helper's answers into plain structs; helper errors keep their "near" candidates.
#ifndef MOSDAT_VNC_AGENT_GUEST_ATSPI_CLIENT_H_
#define MOSDAT_VNC_AGENT_GUEST_ATSPI_CLIENT_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/frame.h"
#include "core/scenario.h"
#include "vnc-agent/guest/line_channel.h"
#include "vnc-agent/rfb/text_typing.h"

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
  // What hit-testing the center found, e.g. `self: push button "Close" in gedit` or
  // `covered: the topmost window at (10, 20) is ...`; empty when not verified.
  std::string hit;
  // Why the centre may not be clicked (what is on top there), or why an imprecise hit
  // was accepted.
  std::string hit_reason;
  // The toolkit answered the hit test with the object's own window (GTK 4 does for
  // switches and entries): accepted because that window is on top, but less precise.
  bool hit_imprecise = false;
  std::string coords;  // where box/center come from ("screen", "gtk4 window origin ...")
};

// An application on the guest's accessibility bus.
struct AccessibleApp {
  std::string name;
  int pid = 0;
};

// A query as the helper reads it (the "query" of find, action, text, wait_for).
nlohmann::json AtspiQueryJson(const AtspiQuery& query);

class AtspiClient {
 public:
  explicit AtspiClient(LineChannel& channel) : channel_(channel) {}

  // One request/response. The helper's "ok": false answers by their "code": NotFound
  // (not_found) or FailedPrecondition (state, not_showing, still_present, ambiguous,
  // no_action) — test failures, the message with the near candidates; InvalidArgument
  // (bad_request); Unavailable (bus: the accessibility bus failed); Internal (internal,
  // an unknown code or none). Unavailable when the helper is gone; DataLoss when it
  // answers something that is not the protocol.
  absl::StatusOr<nlohmann::json> Call(nlohmann::json request, absl::Duration timeout);

  // The helper's process id on the guest.
  absl::StatusOr<int> Ping(absl::Duration timeout);
  absl::StatusOr<std::vector<AccessibleApp>> Apps(absl::Duration timeout);
  // `verify` hit-tests the object's centre (costs a few ms); conditions skip it.
  absl::StatusOr<AccessibleObject> Find(const AtspiQuery& query, absl::Duration timeout,
                                        bool verify = true);
  // Polls inside the guest; nullopt when exists = false and the object is gone.
  absl::StatusOr<std::optional<AccessibleObject>> WaitFor(const AtspiQuery& query, bool exists,
                                                          absl::Duration timeout,
                                                          absl::Duration interval);
  absl::Status Action(const AtspiQuery& query, const std::string& action, absl::Duration timeout);
  absl::StatusOr<std::string> Text(const AtspiQuery& query, absl::Duration timeout);
  // Typing support (ops "keymap" and "focused_text"; see text_typing.h).
  absl::StatusOr<GuestKeyboard::KeymapState> Keymap(const std::vector<uint32_t>& keysyms,
                                                    bool place, absl::Duration timeout);
  absl::StatusOr<std::optional<GuestKeyboard::FocusedText>> Focused(int max_chars,
                                                                    absl::Duration timeout);
  // The accessibility tree of one app (empty = every app) as the helper's JSON
  // {"tree", "nodes", "elapsed_ms"}.
  absl::StatusOr<nlohmann::json> Dump(const std::string& app, bool boxes, absl::Duration timeout);

 private:
  LineChannel& channel_;
  int next_id_ = 1;
};

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_ATSPI_CLIENT_H_

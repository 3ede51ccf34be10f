// The guest-side AT-SPI helper (guest/mosdat_atspi_helper.py), embedded in the agent.
#ifndef MOSDAT_VNC_AGENT_GUEST_GUEST_HELPER_H_
#define MOSDAT_VNC_AGENT_GUEST_GUEST_HELPER_H_

#include <string_view>

namespace mosdat {

// The helper's Python source, byte for byte.
std::string_view AtspiHelperSource();

// Lowercase hex SHA-256 of that source, as `sha256sum` prints it: the agent compares
// it with the copy on a VM and uploads the helper only when they differ.
std::string_view AtspiHelperSha256();

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_GUEST_HELPER_H_

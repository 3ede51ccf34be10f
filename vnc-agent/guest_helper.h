// The guest-side AT-SPI helper (guest/mosdat_atspi_helper.py), embedded in the agent.
#ifndef MOSDAT_VNC_AGENT_GUEST_HELPER_H_
#define MOSDAT_VNC_AGENT_GUEST_HELPER_H_

#include <string_view>

namespace mosdat {

// The helper's Python source, byte for byte.
std::string_view AtspiHelperSource();

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_HELPER_H_

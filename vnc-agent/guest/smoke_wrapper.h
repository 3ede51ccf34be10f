// The guest-side smoke-test runner (guest/mosdat_smoke_run.py), embedded in the agent.
// It runs the app once inside the VM and reports its exact wait status (exit code or
// signal), its output tails and, after a crash, a gdb backtrace from its core.
#ifndef MOSDAT_VNC_AGENT_GUEST_SMOKE_WRAPPER_H_
#define MOSDAT_VNC_AGENT_GUEST_SMOKE_WRAPPER_H_

#include <string_view>

namespace mosdat {

// The runner's Python source, byte for byte (run as `python3 -c SOURCE SPEC`).
std::string_view SmokeRunnerSource();

}  // namespace mosdat

#endif  // MOSDAT_VNC_AGENT_GUEST_SMOKE_WRAPPER_H_

// Clean shutdown on SIGTERM/SIGINT: block the signals before any thread starts (so
// gRPC's threads inherit the mask), then wait for one synchronously — no handler runs
// in signal context.
#ifndef MOSDAT_RUNTIME_TERMINATION_SIGNALS_H_
#define MOSDAT_RUNTIME_TERMINATION_SIGNALS_H_

namespace mosdat {

// Call first thing in main().
void BlockTerminationSignals();

// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace mosdat

#endif  // MOSDAT_RUNTIME_TERMINATION_SIGNALS_H_

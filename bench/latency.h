// Latency figures shared by the benchmarks: percentiles of millisecond samples, printed
// one aligned line per measurement.
#ifndef MOSDAT_BENCH_LATENCY_H_
#define MOSDAT_BENCH_LATENCY_H_

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mosdat {

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

inline Percentiles Summarise(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  return {at(0.50), at(0.99), ms.back()};
}

// "<what>  n=N  p50 X ms  p99 Y ms  max Z ms <extra>", `what` padded to `width`.
inline void PrintLatency(const std::string& what, const std::vector<double>& ms, int width,
                         int decimals = 2, const std::string& extra = "") {
  Percentiles p = Summarise(ms);
  std::printf("%-*s n=%5zu  p50 %8.*f ms  p99 %8.*f ms  max %8.*f ms%s%s\n", width, what.c_str(),
              ms.size(), decimals, p.p50, decimals, p.p99, decimals, p.max,
              extra.empty() ? "" : "  ", extra.c_str());
}

inline double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace mosdat

#endif  // MOSDAT_BENCH_LATENCY_H_

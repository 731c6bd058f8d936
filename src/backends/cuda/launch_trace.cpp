// The FS_CUDA_TRACE summary (launch_trace.h): one line per traced launch of the last decode step.
#include "backends/cuda/launch_trace.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "util/error.h"

namespace fs::cuda {
namespace {

struct Spread {
  double first, median, last;  // µs from the step's first stamp
};

Spread spread(std::vector<long long> v) {
  std::sort(v.begin(), v.end());
  return {v.front() / 1e3, v[v.size() / 2] / 1e3, v.back() / 1e3};
}

}  // namespace

void write_trace_summary(const LaunchTrace& t, const std::vector<unsigned long long>& stamps, const char* path) {
  FILE* f = std::fopen(path, "w");
  if (!f) throw Error(std::string("FS_CUDA_TRACE: cannot write '") + path + "'");
  const unsigned long long t0 = stamps.empty() ? 0 : stamps[0];
  std::fprintf(f,
               "# decode step, per launch: first / median / last block, µs from the first launch's block 0 start\n");
  std::fprintf(f, "# gap: previous last end -> this first wait; adds: previous last end -> this last end\n");
  std::fprintf(f, "# phases: medians over the launch's first %d blocks, µs after their waits (launch_trace.h)\n",
               LaunchTrace::kPhaseBlocks);
  std::fprintf(f, "%4s %-16s %6s | %-23s | %-23s | %-23s | %6s %6s\n", "#", "launch", "blocks", "start", "wait",
               "end", "gap", "adds");
  double prev_end = 0;
  for (size_t i = 0; i < t.names.size(); ++i) {
    const unsigned long long* launch = &stamps[i * LaunchTrace::kStride];
    std::vector<long long> at[3];
    for (unsigned b = 0; b < t.blocks[i]; ++b)
      for (int w = 0; w < 3; ++w) at[w].push_back((long long)(launch[3 * b + w] - t0));
    const Spread s = spread(at[0]), w = spread(at[1]), e = spread(at[2]);
    std::fprintf(f, "%4zu %-16s %6u | %7.2f %7.2f %7.2f | %7.2f %7.2f %7.2f | %7.2f %7.2f %7.2f | %6.2f %6.2f\n", i,
                 t.names[i].c_str(), t.blocks[i], s.first, s.median, s.last, w.first, w.median, w.last, e.first,
                 e.median, e.last, i ? w.first - prev_end : 0.0, i ? e.last - prev_end : e.last - s.first);
    prev_end = e.last;
    // The phase stamps, where the kernel has them (a zero stamp was never written), after each block's wait.
    const unsigned long long* phase = launch + LaunchTrace::kPhaseAt;
    const unsigned nb = std::min<unsigned>(t.blocks[i], LaunchTrace::kPhaseBlocks);
    auto after_wait = [&](unsigned b, unsigned long long at) { return (long long)(at - launch[3 * b + 1]); };
    std::vector<std::pair<int, double>> medians;  // (phase, µs after the wait)
    for (int k = 0; k < LaunchTrace::kPhases; ++k) {
      std::vector<long long> d;
      for (unsigned b = 0; b < nb; ++b)
        if (const unsigned long long at = phase[LaunchTrace::kPhases * b + k]) d.push_back(after_wait(b, at));
      if (!d.empty()) medians.emplace_back(k, spread(d).median);
    }
    if (medians.empty()) continue;
    std::vector<long long> d;
    for (unsigned b = 0; b < nb; ++b) d.push_back(after_wait(b, launch[3 * b + 2]));
    std::fprintf(f, "       phases");
    for (const auto& [k, us] : medians) std::fprintf(f, " %d: %.2f", k, us);
    std::fprintf(f, "  end: %.2f\n", spread(d).median);
  }
  std::fclose(f);
}

}  // namespace fs::cuda

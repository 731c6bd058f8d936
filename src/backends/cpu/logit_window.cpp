// logit_window: the head of one row's sampling distribution. For x [cols] and z = x / temperature: the largest z,
// the softmax's denominator Σ exp(z − max) over the whole row, and every (z, id) with z ≥ max − window.
//
// The oracle of Backend::logit_window, which the CUDA backend implements (logit_window.cu) so that a sampled step
// copies the window instead of the whole row. The CPU backend does not offer the op: its row is in host memory
// already, and gathering a window first cost more than it saved for Qwen3's defaults (0.86 against 0.34 ms a draw)
// and saved 0.2 ms for Llama-3.2-Instruct's (0.84 against 1.04; bench/results/2026-11-27-session20.log, part 6):
// the oracle stays plain. One pass finds the largest z; a second sums exp(z − max) in the row's
// order, in double, exactly as Sampler::sample does over a whole row (so both draw the same token), and keeps the
// ids within the window.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "backends/cpu/ops.h"
#include "util/error.h"

namespace fs::cpu {

bool logit_window(const float* x, int cols, float temperature, float window, int cap, LogitWindow& out) {
  if (cols <= 0 || !(temperature > 0) || !(window >= 0) || cap < 0)
    throw Error("logit_window: cols " + std::to_string(cols) + ", temperature " + std::to_string(temperature) +
                ", window " + std::to_string(window) + ", cap " + std::to_string(cap));
  float top = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < cols; ++i) top = std::max(top, x[i] / temperature);
  const float floor = top - window;
  out.cands.clear();
  out.sum = 0;
  for (int32_t i = 0; i < cols; ++i) {
    const float z = x[i] / temperature;
    out.sum += double(std::exp(z - top));
    if (z < floor) continue;
    if (int(out.cands.size()) == cap) return false;
    out.cands.emplace_back(z, i);
  }
  out.max = top;
  out.complete = int(out.cands.size()) == cols;
  return true;
}

}  // namespace fs::cpu

// swiglu: out[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^-x).                gate, up, out [count] f32
//
// The gated activation of the MLP, elementwise, written as Hugging Face's F.silu computes it. For very negative x,
// e^-x overflows to inf and x / inf = −0, the correct limit, so no special case is needed.
#include <cmath>

#include "backends/cpu/ops.h"
#include "backends/cpu/thread_pool.h"

namespace fs::cpu {

void swiglu(ThreadPool& pool, const float* gate, const float* up, size_t count, float* out) {
  const auto total = int64_t(count);
  pool.parallel_for(0, total, pool.chunk_size(total, 8192, 1), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float g = gate[i];
      out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
  });
}

}  // namespace fs::cpu

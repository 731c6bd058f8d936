// argmax: out[r] = index of the largest x[r, :], the first one on ties.           x [rows, cols] f32; out [rows] int32
//
// Greedy decoding's sampler. A NaN never wins (it compares false), so a row with NaNs still returns the largest
// real value; a row of nothing but NaN returns 0.
#include <cmath>
#include <string>

#include "backends/cpu/ops.h"
#include "backends/cpu/thread_pool.h"
#include "util/error.h"

namespace fs::cpu {

void argmax(ThreadPool& pool, const float* x, int rows, int cols, int32_t* out) {
  if (rows < 0 || cols <= 0)
    throw Error("argmax: bad shape rows=" + std::to_string(rows) + " cols=" + std::to_string(cols));
  pool.parallel_for(0, rows, pool.chunk_size(rows, 1 + 65536 / cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * int64_t(cols);
      int32_t best = 0;
      float best_value = -INFINITY;
      for (int c = 0; c < cols; ++c)
        if (xr[c] > best_value) best_value = xr[c], best = c;
      out[r] = best;
    }
  });
}

}  // namespace fs::cpu

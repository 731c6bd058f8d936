// rmsnorm: out[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · w.         x, out [rows, dim] f32; w [1, dim] any dtype
//
// The order of operations follows Hugging Face's Qwen3/Llama RMSNorm: the reciprocal RMS is computed in f32, x is
// scaled by it first and the weight is applied last. The same op normalises each attention head's q and k (QK-norm,
// rows = tokens · heads, dim = head_dim). out may equal x: a row's sum of squares is complete before it is written.
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "util/error.h"

namespace fs::cpu {

void rmsnorm(ThreadPool& pool, const float* x, const Weight& w, float eps, int rows, int dim, float* out) {
  if (rows < 0 || dim <= 0)
    throw Error("rmsnorm: bad shape rows=" + std::to_string(rows) + " dim=" + std::to_string(dim));
  if (w.rows * w.cols != dim)
    throw Error("rmsnorm: weight has " + std::to_string(w.rows * w.cols) + " elements, expected dim = " +
                std::to_string(dim));
  pool.parallel_for(0, rows, pool.chunk_size(rows, 1 + 16384 / dim), [&](int64_t lo, int64_t hi) {
    // The weight as f32: used in place when it already is, widened once per chunk otherwise.
    thread_local std::vector<float> widened;
    const float* wf = static_cast<const float*>(w.data);
    if (w.dtype != DType::F32) {
      widened.resize(size_t(dim));
      widen_row(w.data, w.dtype, dim, widened.data());
      wf = widened.data();
    }
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * dim;
      float* yr = out + r * dim;
      const float inv_rms = 1.0f / std::sqrt(sum_squares(xr, dim) / float(dim) + eps);
      for (int j = 0; j < dim; ++j) yr[j] = (xr[j] * inv_rms) * wf[j];
    }
  });
}

}  // namespace fs::cpu

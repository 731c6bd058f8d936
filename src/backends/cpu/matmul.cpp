// matmul: out[n, N] = x[n, K] · Wᵀ (+ bias) (+ out, when accumulating).
//
//   x    [n, K]  f32 activations, one row per token
//   W    [N, K]  bf16 / f16 / f32, as Hugging Face stores nn.Linear.weight (out_features × in_features)
//   bias [1, N]  optional, any of the three dtypes
//   out  [n, N]  f32; with `accumulate` the product is added to what it holds (the residual connection)
//
// This is where the time goes: ~95% of a decode step, nearly all of a prefill. Two regimes:
//   * decode, n = 1: a matrix-vector product (GEMV). Each weight is used once, so the speed is the speed at which
//     the weights stream from memory; the arithmetic is nearly free.
//   * prefill, n up to 512: a matrix-matrix product (GEMM). Each weight row is used n times, so the speed is set by
//     the FMA units, provided each loaded weight is reused from registers across several tokens.
// On x86 with AVX2 both run in matmul_avx2.cpp (register-tiled micro-kernels, see docs/cpu-backend.md). The
// portable path below is plain C++: per weight row, widen it to f32 once, then dot it with every token. It is what
// arm64 runs, and the x86 tests run it too, against the same reference.
#include <algorithm>
#include <string>
#include <vector>

#include "backends/cpu/matmul_internal.h"
#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "util/error.h"

namespace fs::cpu {

namespace {

void check_args(int n, const Weight& w, const Weight* bias) {
  if (n < 0) throw Error("matmul: negative token count " + std::to_string(n));
  if (w.rows < 0 || w.cols <= 0 || (w.rows > 0 && !w.data))
    throw Error("matmul: bad weight shape [" + std::to_string(w.rows) + ", " + std::to_string(w.cols) + "]");
  if (bias && bias->rows * bias->cols != w.rows)
    throw Error("matmul: bias has " + std::to_string(bias->rows * bias->cols) + " elements, the weight has " +
                std::to_string(w.rows) + " output rows");
}

void matmul_portable(ThreadPool& pool, const float* x, int n, const Weight& w, const Weight* bias, float* out,
                     bool accumulate) {
  const int64_t N = w.rows, K = w.cols;
  const size_t row_bytes = size_t(K) * dtype_size(w.dtype);
  pool.parallel_for(0, N, pool.chunk_size(N, 16), [&](int64_t lo, int64_t hi) {
    thread_local std::vector<float> row;
    row.resize(size_t(K));
    for (int64_t r = lo; r < hi; ++r) {
      const float* wr = static_cast<const float*>(w.data) + r * K;  // used as is when the weight is f32
      if (w.dtype != DType::F32) {
        widen_row(static_cast<const unsigned char*>(w.data) + size_t(r) * row_bytes, w.dtype, K, row.data());
        wr = row.data();
      }
      for (int t = 0; t < n; ++t) {
        float* o = out + int64_t(t) * N + r;
        *o = matmul_output_base(o, accumulate, bias, r) + dot(x + int64_t(t) * K, wr, K);
      }
    }
  });
}

}  // namespace

void matmul(ThreadPool& pool, const float* x, int n, const Weight& w, const Weight* bias, float* out,
            bool accumulate) {
  check_args(n, w, bias);
  if (n == 0 || w.rows == 0) return;
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return matmul_avx2(pool, x, n, w, bias, out, accumulate);
#endif
  matmul_portable(pool, x, n, w, bias, out, accumulate);
}

}  // namespace fs::cpu

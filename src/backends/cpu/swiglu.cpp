// swiglu: out[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^-x).                gate, up, out [count] f32
//
// The gated activation of the MLP, elementwise, written as Hugging Face's F.silu computes it. For very negative x,
// e^-x overflows to inf and x / inf = −0, the correct limit, so no special case is needed. out may equal gate.
// The AVX2 path evaluates e^-x eight at a time (exp8 in avx2_math.h); the portable path calls std::exp.
#include <cmath>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"

#if FS_HAVE_X86_SIMD
#include "backends/cpu/avx2_math.h"
#endif

namespace fs::cpu {

namespace {

void swiglu_portable(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

#if FS_HAVE_X86_SIMD
FS_AVX2 void swiglu_avx2(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.f), sign = _mm256_set1_ps(-0.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_xor_ps(g, sign))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  swiglu_portable(gate + i, up + i, n - i, out + i);
}
#endif

}  // namespace

void swiglu(ThreadPool& pool, const float* gate, const float* up, size_t count, float* out) {
  const auto total = int64_t(count);
  pool.parallel_for(0, total, pool.chunk_size(total, 8192, 1), [&](int64_t lo, int64_t hi) {
#if FS_HAVE_X86_SIMD
    if (use_avx2()) return swiglu_avx2(gate + lo, up + lo, hi - lo, out + lo);
#endif
    swiglu_portable(gate + lo, up + lo, hi - lo, out + lo);
  });
}

}  // namespace fs::cpu

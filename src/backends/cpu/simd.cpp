// The shared row helpers of simd.h: an AVX2 version of each, and a portable one written as 8 partial sums so that
// the compiler vectorises it (it may not reorder a single float sum on its own).
#include "backends/cpu/simd.h"

#include <atomic>
#include <cmath>

#if FS_HAVE_X86_SIMD
#include "backends/cpu/avx2_math.h"
#endif

namespace fs::cpu {

namespace {

bool cpu_has_avx2() {
#if FS_HAVE_X86_SIMD
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

std::atomic<bool>& avx2_flag() {
  static std::atomic<bool> flag{cpu_has_avx2()};
  return flag;
}

// ---- portable ----

float dot_portable(const float* a, const float* b, int64_t n) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  for (; i < n; ++i) acc[0] += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

#if FS_HAVE_X86_SIMD
// ---- AVX2 ----

FS_AVX2 float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {  // two accumulators hide the FMA latency
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum8(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

FS_AVX2 void dot4_avx2(const float* q, const float* rows, int64_t stride, int64_t n, float out[4]) {
  const float *r0 = rows, *r1 = rows + stride, *r2 = rows + 2 * stride, *r3 = rows + 3 * stride;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {  // one load of q feeds four FMAs
    const __m256 qv = _mm256_loadu_ps(q + i);
    a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r0 + i), a0);
    a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r1 + i), a1);
    a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r2 + i), a2);
    a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r3 + i), a3);
  }
  out[0] = hsum8(a0), out[1] = hsum8(a1), out[2] = hsum8(a2), out[3] = hsum8(a3);
  for (; i < n; ++i) {
    out[0] += q[i] * r0[i], out[1] += q[i] * r1[i];
    out[2] += q[i] * r2[i], out[3] += q[i] * r3[i];
  }
}

FS_AVX2 void axpy_avx2(float alpha, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

FS_AVX2 void axpy4_avx2(const float alpha[4], const float* rows, int64_t stride, int64_t n, float* y) {
  const float *r0 = rows, *r1 = rows + stride, *r2 = rows + 2 * stride, *r3 = rows + 3 * stride;
  const __m256 c0 = _mm256_set1_ps(alpha[0]), c1 = _mm256_set1_ps(alpha[1]);
  const __m256 c2 = _mm256_set1_ps(alpha[2]), c3 = _mm256_set1_ps(alpha[3]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {  // y is loaded and stored once for four rows
    __m256 acc = _mm256_loadu_ps(y + i);
    acc = _mm256_fmadd_ps(c0, _mm256_loadu_ps(r0 + i), acc);
    acc = _mm256_fmadd_ps(c1, _mm256_loadu_ps(r1 + i), acc);
    acc = _mm256_fmadd_ps(c2, _mm256_loadu_ps(r2 + i), acc);
    acc = _mm256_fmadd_ps(c3, _mm256_loadu_ps(r3 + i), acc);
    _mm256_storeu_ps(y + i, acc);
  }
  for (; i < n; ++i) y[i] += alpha[0] * r0[i] + alpha[1] * r1[i] + alpha[2] * r2[i] + alpha[3] * r3[i];
}

FS_AVX2 float exp_shifted_avx2(float* x, int64_t n, float shift) {
  const __m256 vs = _mm256_set1_ps(shift);
  __m256 sum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  float s = hsum8(sum);
  for (; i < n; ++i) s += (x[i] = std::exp(x[i] - shift));
  return s;
}

FS_AVX2 void widen_avx2(const void* src, DType type, int64_t n, float* dst) {
  const auto* h = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  if (type == DType::BF16) {
    for (; i + 8 <= n; i += 8) {  // bf16 → f32 is a 16-bit left shift of each zero-extended element
      const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
  } else if (type == DType::F16) {
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  }
  for (; i < n; ++i) dst[i] = load_as_f32(src, type, size_t(i));
}
#endif

}  // namespace

bool use_avx2() { return avx2_flag().load(std::memory_order_relaxed); }

bool set_avx2_enabled(bool on) { return avx2_flag().exchange(on && cpu_has_avx2()); }

float dot(const float* a, const float* b, int64_t n) {
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return dot_avx2(a, b, n);
#endif
  return dot_portable(a, b, n);
}

void dot4(const float* q, const float* rows, int64_t stride, int64_t n, float out[4]) {
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return dot4_avx2(q, rows, stride, n, out);
#endif
  for (int r = 0; r < 4; ++r) out[r] = dot_portable(q, rows + r * stride, n);
}

float sum_squares(const float* x, int64_t n) { return dot(x, x, n); }

void axpy(float alpha, const float* x, float* y, int64_t n) {
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return axpy_avx2(alpha, x, y, n);
#endif
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void axpy4(const float alpha[4], const float* rows, int64_t stride, int64_t n, float* y) {
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return axpy4_avx2(alpha, rows, stride, n, y);
#endif
  for (int r = 0; r < 4; ++r) axpy(alpha[r], rows + r * stride, y, n);
}

float exp_shifted(float* x, int64_t n, float shift) {
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return exp_shifted_avx2(x, n, shift);
#endif
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += (x[i] = std::exp(x[i] - shift));
  return s;
}

void widen_row(const void* src, DType type, int64_t n, float* dst) {
  if (type == DType::F32) {
    const auto* f = static_cast<const float*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = f[i];
    return;
  }
#if FS_HAVE_X86_SIMD
  if (use_avx2()) return widen_avx2(src, type, n, dst);
#endif
  const auto* h = static_cast<const uint16_t*>(src);
  if (type == DType::BF16)
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
  else
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
}

}  // namespace fs::cpu

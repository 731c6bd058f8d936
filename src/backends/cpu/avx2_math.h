// Small AVX2 building blocks shared by the x86 paths of several ops: a horizontal sum and e^x, 8 floats at a time.
// Include only inside `#if FS_HAVE_X86_SIMD`; every function is FS_AVX2 and inline, so it is compiled into (and
// only runs from) the AVX2 functions that call it.
//
// exp8: e^x = 2^n · e^r with n = round(x / ln 2) and r = x − n·ln 2 ∈ [−ln2/2, ln2/2]. ln 2 is split into a part
// with few mantissa bits (C1 = 0.693359375, exact in f32, so n·C1 is exact) and a small correction C2, so r keeps
// full precision (Cody & Waite). e^r is the degree-7 Taylor-like polynomial of Cephes' expf (minimax
// coefficients), then scaled by 2^n through the exponent bits. Within 2 ulp of std::exp over the whole f32 range (the test
// checks it); x ≥ ln(FLT_MAX) gives +inf, x < ln(FLT_MIN) gives 0 (no subnormals), NaN stays NaN.
#pragma once
#include <immintrin.h>

#include "backends/cpu/simd.h"

namespace fs::cpu {

FS_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

FS_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 kMaxX = _mm256_set1_ps(88.72283935546875f);   // ln(FLT_MAX) rounded up: e^x is inf from here
  const __m256 kMinX = _mm256_set1_ps(-87.33654022216797f);  // ln(FLT_MIN)
  const __m256 xc = _mm256_max_ps(_mm256_min_ps(x, kMaxX), kMinX);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // n = round(x / ln 2)
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  // e^r ≈ 1 + r + r²·(p5 + r·(p4 + r·(p3 + r·(p2 + r·(p1 + r·p0)))))
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  // · 2^n, as 2^a · 2^b with a = n/2, b = n − a: n runs from −126 to 128, and 2^128 is not a float, but both
  // halves are; multiplying by powers of two is exact until the final result over- or underflows.
  const __m256i ni = _mm256_cvtps_epi32(n), a = _mm256_srai_epi32(ni, 1), b = _mm256_sub_epi32(ni, a);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23)));
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23)));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), _mm256_cmp_ps(x, kMaxX, _CMP_GE_OQ));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, kMinX, _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN in, NaN out
}

}  // namespace fs::cpu

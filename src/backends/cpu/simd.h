// Which vector instructions the CPU ops run with, and the small row helpers several ops share.
//
// The binary is built for plain x86-64 (or arm64), so it runs anywhere. The hot loops also exist as AVX2 + FMA +
// F16C functions, marked FS_AVX2 (GCC's target attribute compiles just that function for those instructions);
// use_avx2() decides once, from the CPU's own feature bits, which version runs. Everything else is portable C++
// written so the compiler can vectorise it for the baseline instruction set (SSE2 or NEON).
//
// The helpers accumulate in f32, in 8 independent partial sums (one AVX2 register's worth), so results do not depend
// on which path ran by more than f32 rounding.
#pragma once
#include <cstdint>

#include "model/dtype.h"

#if defined(__x86_64__)
#define FS_HAVE_X86_SIMD 1
#define FS_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define FS_HAVE_X86_SIMD 0
#endif

namespace fs::cpu {

// True when the CPU has AVX2, FMA and F16C (and they have not been switched off for a test).
bool use_avx2();
// Tests switch the AVX2 paths off to check the portable ones on the same machine. Returns the previous setting;
// switching on has no effect on a CPU without AVX2.
bool set_avx2_enabled(bool on);

// Σ a[i]·b[i].
float dot(const float* a, const float* b, int64_t n);
// out[r] = Σ q[i]·rows[r·stride + i] for r = 0..3: four dot products sharing q (attention's scores).
void dot4(const float* q, const float* rows, int64_t stride, int64_t n, float out[4]);
// Σ x[i]².
float sum_squares(const float* x, int64_t n);
// y[i] += alpha · x[i].
void axpy(float alpha, const float* x, float* y, int64_t n);
// y[i] += Σ_r alpha[r] · rows[r·stride + i] for r = 0..3: four rows added in one pass over y (attention's p·V).
void axpy4(const float alpha[4], const float* rows, int64_t stride, int64_t n, float* y);
// x[i] = e^(x[i] − shift); returns Σ x[i] (the softmax numerators and their sum).
float exp_shifted(float* x, int64_t n, float shift);
// dst[i] = src[i] widened to f32, src stored as `type`.
void widen_row(const void* src, DType type, int64_t n, float* dst);

}  // namespace fs::cpu

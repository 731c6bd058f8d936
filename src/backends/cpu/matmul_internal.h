// Pieces shared by matmul.cpp (entry point and portable path) and matmul_avx2.cpp (the x86 path).
#pragma once
#include <cstdint>

#include "backends/cpu/simd.h"
#include "engine/backend.h"

namespace fs::cpu {

class ThreadPool;

// The value an output element starts from before the product is added to it: the bias (if any), plus what `out`
// already holds when accumulating (the residual stream).
inline float matmul_output_base(const float* out_element, bool accumulate, const Weight* bias, int64_t row) {
  float base = accumulate ? *out_element : 0.f;
  if (bias) base += load_as_f32(bias->data, bias->dtype, size_t(row));
  return base;
}

#if FS_HAVE_X86_SIMD
// The blocked AVX2 GEMM / GEMV. Arguments already validated by matmul(); n ≥ 1.
void matmul_avx2(ThreadPool& pool, const float* x, int n, const Weight& w, const Weight* bias, float* out,
                 bool accumulate);
#endif

}  // namespace fs::cpu

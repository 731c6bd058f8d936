// Shared by the CUDA op tests: every CUDA op is checked against the CPU backend (the oracle) on fresh random
// inputs, with the GPU output poisoned (NaN) before the kernel runs, so an element the kernel forgets to write
// fails the test instead of passing on stale memory.
//
// Tolerances (relative L2, ‖gpu − cpu‖ / ‖cpu‖), stated once here:
//   kF32Tol  1e-5  every path computed in f32 (all ops, the GEMV decode path, the SIMT GEMM, attention). Only the
//                  order of f32 sums differs from the CPU: ~√K · 2⁻²⁴ ≈ 4e-6 at K = 5000 terms, well under 1e-5.
//   kAttnTcTol 8e-3 the tensor-core attention kernels (q and P rounded to bf16; see below).
//   kTcTol   4e-3  the tensor-core GEMM (bf16 weights, n > 4): x is rounded to bf16 (relative error ≤ 2⁻⁹, ~1.1e-3
//                  RMS), which carries into each dot product at about the same relative size. The same kernel is also
//                  checked on bf16-exact inputs at kF32Tol, which isolates the rounding from the kernel's arithmetic.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "engine/backend.h"
#include "model/dtype.h"
#include "test_util.h"

namespace fs::test {

constexpr double kF32Tol = 1e-5;
constexpr double kTcTol = 4e-3;
// The tensor-core attention kernels round two operands to bf16 (unit roundoff u = 2⁻⁹ ≈ 2e-3): q, which perturbs
// each score by about u relative (the same effect as x → bf16 in the tensor-core GEMM, kTcTol there), and the
// probabilities P, which perturbs each weight of the convex combination of V rows by ≤ u relative. The two
// roundings are independent, so their budgets add: 2 · kTcTol.
constexpr double kAttnTcTol = 2 * kTcTol;

// Device memory of one backend, released at scope exit.
class Mem {
 public:
  explicit Mem(Backend& be) : be_(be) {}
  ~Mem() {
    for (void* p : ptrs_) be_.release(p);
  }
  Mem(const Mem&) = delete;
  Mem& operator=(const Mem&) = delete;

  template <typename T>
  T* alloc(size_t count) {
    void* p = be_.alloc(count * sizeof(T) + 16);
    ptrs_.push_back(p);
    return static_cast<T*>(p);
  }
  template <typename T>
  T* put(const std::vector<T>& host) {
    T* p = alloc<T>(host.size());
    be_.to_device(p, host.data(), host.size() * sizeof(T));
    return p;
  }
  template <typename T>
  std::vector<T> get(const T* p, size_t count) {
    std::vector<T> v(count);
    be_.to_host(v.data(), p, count * sizeof(T));
    return v;
  }
  void poison(float* p, size_t count) { be_.to_device(p, std::vector<float>(count, NAN).data(), count * 4); }

 private:
  Backend& be_;
  std::vector<void*> ptrs_;
};

// A host tensor in a stored dtype, made from normal(0, scale) values, kept alive with its Weight view.
struct HostWeight {
  std::vector<uint8_t> bytes;
  Weight w;
};
inline HostWeight make_weight(int64_t rows, int64_t cols, DType dt, uint32_t seed, float scale = 0.05f) {
  HostWeight h;
  const auto f = random_floats(size_t(rows * cols), seed, scale);
  h.bytes.resize(f.size() * dtype_size(dt));
  for (size_t i = 0; i < f.size(); ++i) {
    if (dt == DType::F32) {
      std::memcpy(h.bytes.data() + 4 * i, &f[i], 4);
    } else {
      const uint16_t b = dt == DType::BF16 ? f32_to_bf16(f[i]) : f32_to_f16(f[i]);
      std::memcpy(h.bytes.data() + 2 * i, &b, 2);
    }
  }
  h.w = Weight{h.bytes.data(), dt, rows, cols};
  return h;
}

inline float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }
inline std::vector<float> rounded_bf16(std::vector<float> v) {
  for (float& x : v) x = round_bf16(x);
  return v;
}

// The two backends every test compares.
class CudaVsCpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One thread: the oracle's speed does not matter here, and its threaded GEMM crashed for n > 1 when these
    // tests were written (src/backends/cpu/matmul_avx2.cpp: a thread_local buffer read from worker threads).
    cpu_ = make_cpu_backend(1).release();
    gpu_ = new CudaBackend(CudaOptions{DType::F32, true});
    gpu_bf16_ = new CudaBackend(CudaOptions{DType::BF16, true});
    CudaOptions mma, simt;
    mma.wgmma = false;
    simt.attn_tc = false;
    gpu_mma_ = new CudaBackend(mma);
    gpu_simt_ = new CudaBackend(simt);
  }
  static void TearDownTestSuite() {
    delete gpu_simt_;
    delete gpu_mma_;
    delete gpu_bf16_;
    delete gpu_;
    delete cpu_;
  }
  static inline Backend* cpu_ = nullptr;
  static inline CudaBackend* gpu_ = nullptr;       // f32 KV cache
  static inline CudaBackend* gpu_bf16_ = nullptr;  // bf16 KV cache (the default)
  // The default path's alternatives, which stay tested: the prefill GEMM on mma.sync only (wgmma off), and the
  // one-token decode attention on the SIMT kernel after qk_norm_rope_store (attn_tc off). Both bf16 KV cache.
  static inline CudaBackend* gpu_mma_ = nullptr;
  static inline CudaBackend* gpu_simt_ = nullptr;
};

inline bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace fs::test

// matmul on the GPU against the CPU oracle, across its three paths:
//   n <= 4            GEMV (f32 activations)                          kF32Tol
//   n > 4, bf16 W     tensor-core GEMM (x rounded to bf16)            kTcTol; kF32Tol when x is bf16-exact
//   n > 4, otherwise  f32 SIMT GEMM (f16/f32 weights, K % 8 != 0)     kF32Tol
// with and without bias and accumulate, odd shapes, and the prefill sizes 77 and 512. Shapes with few output tiles
// and a long K (1024 × 3072 at n = 512, any 1024-row matrix at n = 5) take the split-K GEMM, which must also give
// bitwise the same result every run. On Hopper the 128 × 128 tensor-core tiles run on wgmma
// (matmul_gemm_wgmma.cu); every tensor-core case also runs on a backend with wgmma off (the mma.sync kernel).
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "cuda_test_util.h"

namespace fs::test {
namespace {

class CudaMatmul : public CudaVsCpu {
 protected:
  // Runs one case on the default GPU backend and, for tensor-core cases, on gpu_mma_ too; returns the larger
  // relative L2 error against the CPU.
  double run(int n, int rows, int cols, DType dt, bool bias, bool accumulate, bool bf16_exact_x, uint32_t seed) {
    double err = run_on(*gpu_, n, rows, cols, dt, bias, accumulate, bf16_exact_x, seed);
    if (tensor_cores(n, cols, dt))
      err = std::max(err, run_on(*gpu_mma_, n, rows, cols, dt, bias, accumulate, bf16_exact_x, seed));
    return err;
  }
  double run_on(CudaBackend& gpu, int n, int rows, int cols, DType dt, bool bias, bool accumulate,
                bool bf16_exact_x, uint32_t seed) {
    HostWeight w = make_weight(rows, cols, dt, seed);
    HostWeight b = make_weight(1, rows, DType::BF16, seed + 1, 0.5f);
    auto x = random_floats(size_t(n) * cols, seed + 2, 1.f);
    if (bf16_exact_x) x = rounded_bf16(x);
    const auto init = random_floats(size_t(n) * rows, seed + 3, 1.f);
    Mem mc(*cpu_), mg(gpu);
    const Weight wc = cpu_->upload(w.w), wg = gpu.upload(w.w);
    const Weight bc = cpu_->upload(b.w), bg = gpu.upload(b.w);
    float* oc = mc.put(init);
    float* og = mg.put(init);
    if (!accumulate) mg.poison(og, init.size());
    cpu_->matmul(mc.put(x), n, wc, bias ? &bc : nullptr, oc, accumulate);
    gpu.matmul(mg.put(x), n, wg, bias ? &bg : nullptr, og, accumulate);
    return rel_l2(mg.get(og, init.size()), mc.get(oc, init.size()));
  }
  static bool tensor_cores(int n, int cols, DType dt) { return n > 4 && dt == DType::BF16 && cols % 8 == 0; }
};

TEST_F(CudaMatmul, AllPathsMatchCpu) {
  struct Shape {
    int rows, cols;
  };
  // bf16 at n = 1, by gemv_shape: one warp per row; 2, 4 and 8 warps per row (2048, 3072, 8192 and more columns);
  // 32768 columns in two batches per lane.
  const Shape shapes[] = {{1024, 1024}, {2048, 1024}, {1000, 2048}, {999, 2048}, {300, 3072}, {96, 8192},
                           {70, 16384},  {40, 32768},  {77, 96},     {33, 37},     {5, 8}};
  uint32_t seed = 1000;
  for (DType dt : {DType::BF16, DType::F16, DType::F32})
    for (int n : {1, 2, 3, 4, 5, 77})
      for (const Shape s : shapes) {
        const bool bias = (s.rows + n) % 2 == 0, accumulate = n % 2 == 1;
        SCOPED_TRACE(std::string(dtype_name(dt)) + " n " + std::to_string(n) + " W [" + std::to_string(s.rows) +
                     ", " + std::to_string(s.cols) + "]" + (bias ? " +bias" : "") + (accumulate ? " +=" : ""));
        const double err = run(n, s.rows, s.cols, dt, bias, accumulate, false, seed);
        seed += 10;
        EXPECT_LE(err, tensor_cores(n, s.cols, dt) ? kTcTol : kF32Tol);
      }
}

TEST_F(CudaMatmul, TensorCoreGemmIsExactOnBf16Inputs) {
  // With x already representable in bf16 the only difference left is the order of f32 sums.
  uint32_t seed = 2000;
  for (int n : {5, 77, 512})
    for (auto [rows, cols] : {std::pair{1024, 1024}, std::pair{3072, 1024}, std::pair{1024, 3072},
                              std::pair{200, 2048}, std::pair{130, 136}}) {
      SCOPED_TRACE("n " + std::to_string(n) + " W [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
      EXPECT_LE(run(n, rows, cols, DType::BF16, n == 77, n == 5, true, seed), kF32Tol);
      seed += 10;
    }
}

TEST_F(CudaMatmul, PrefillSizesWithRawActivations) {
  uint32_t seed = 3000;
  // 16384 × 256: many output tiles, a short K (also checked on bf16-exact inputs).
  for (auto [rows, cols] : {std::pair{2048, 1024}, std::pair{1024, 2048}, std::pair{8192, 2048}, std::pair{16384, 256}}) {
    SCOPED_TRACE("W [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    EXPECT_LE(run(512, rows, cols, DType::BF16, false, true, false, seed), kTcTol);
    seed += 10;
  }
  EXPECT_LE(run(512, 16384, 256, DType::BF16, true, false, true, seed), kF32Tol);
}

TEST_F(CudaMatmul, SplitKGemmIsDeterministic) {
  HostWeight w = make_weight(1024, 3072, DType::BF16, 5000);  // 4 × 8 output tiles of 128: K split in 4
  const auto x = random_floats(size_t(512) * 3072, 5001, 1.f);
  for (CudaBackend* gpu : {gpu_, gpu_mma_}) {
    Mem mg(*gpu);
    const Weight wg = gpu->upload(w.w);
    const float* xg = mg.put(x);
    std::vector<float> first;
    for (int run = 0; run < 3; ++run) {
      float* og = mg.alloc<float>(size_t(512) * 1024);
      mg.poison(og, size_t(512) * 1024);
      gpu->matmul(xg, 512, wg, nullptr, og, false);
      const auto out = mg.get(og, size_t(512) * 1024);
      ASSERT_TRUE(all_finite(out));
      if (run == 0) first = out;
      else EXPECT_EQ(std::memcmp(out.data(), first.data(), out.size() * sizeof(float)), 0) << "run " << run;
    }
  }
}

TEST_F(CudaMatmul, WgmmaOnHopper) {
  // The wgmma kernel is what runs on the target card (sm_90), and it can be switched off.
  cudaDeviceProp prop;
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_EQ(gpu_->wgmma(), prop.major == 9 && prop.minor == 0) << prop.name;
  EXPECT_FALSE(gpu_mma_->wgmma());
}

TEST_F(CudaMatmul, QkvGemvBlocksPerSm) {
  // The one-token q/k/v GEMV runs at most 4 blocks an SM at contexts of one attention split and 6 beyond
  // (CudaOptions::qkv_cap, set by plan_context): Qwen3-0.6B's (1024 columns, 2048 + 2 × 1024 rows) fits 7 by its
  // registers on sm_90 and is capped; Llama-3.2-1B's (2048 columns, 2048 + 2 × 512 rows) fits fewer and is left as
  // it is at 6. The matmul cases above run with the cap on.
  CudaOptions off;
  off.qkv_cap = false;
  CudaBackend uncapped(off);
  EXPECT_EQ(uncapped.plan_context(100000), 0) << "one class when nothing depends on the context";
  const int qwen_free = uncapped.qkv_gemv_blocks_per_sm(1024, 2048, 1024);
  const int llama_free = uncapped.qkv_gemv_blocks_per_sm(2048, 2048, 512);
  for (const auto& [context, cap, cls] : {std::tuple{1, 4, 0}, std::tuple{256, 4, 0}, std::tuple{257, 6, 1},
                                          std::tuple{16384, 6, 1}}) {
    SCOPED_TRACE("context " + std::to_string(context));
    EXPECT_EQ(gpu_->plan_context(context), cls);
    EXPECT_EQ(gpu_->qkv_gemv_blocks_per_sm(1024, 2048, 1024), std::min(qwen_free, cap)) << "uncapped: " << qwen_free;
    if (cap == 6) {
      EXPECT_EQ(gpu_->qkv_gemv_blocks_per_sm(2048, 2048, 512), llama_free);
    }
  }
  gpu_->plan_context(1);
  if (gpu_->wgmma()) {  // sm_90, where that kernel is compiled for 7 blocks an SM
    EXPECT_GT(qwen_free, 6);
  }
}

TEST_F(CudaMatmul, LmHeadShapeDecode) {
  // The biggest matrix of a decode step (Qwen3 vocabulary × hidden), through the GEMV.
  EXPECT_LE(run(1, 151936, 1024, DType::BF16, false, false, false, 4000), kF32Tol);
}

}  // namespace
}  // namespace fs::test

// rmsnorm: out[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · w.            x, out [rows, dim] f32; w [1, dim]
//
// Two passes over a row (sum of squares, then scale) — the second pass hits L1. Two shapes of work:
//   * dim <= 256 (the per-head QK-norm: rows = n · heads, dim = head_dim): one warp per row, 8 rows per block;
//   * larger dim (the layer norms: rows = n, dim = hidden): one 256-thread block per row, so a single decode row
//     is read by 256 threads at once instead of 32 (it is latency, not bandwidth, that a 4 KB row costs).
// The product is formed as (x · inv) · w, the CPU oracle's order. out may equal x (each element is read before it
// is written by the same thread). rmsnorm_bf16 writes the result rounded to bf16: the input of a prefill GEMM,
// which would otherwise round it in a separate pass.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kBlockThreads = 256;

__global__ void rmsnorm_warp_rows(const float* x, const void* w, DType wt, float eps, int rows, int dim,
                                  float* out) {
  grid_dep_launch();
  grid_dep_wait();
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const float* xr = x + size_t(row) * dim;
  float ss = 0.f;
  for (int d = lane; d < dim; d += 32) ss += xr[d] * xr[d];
  ss = warp_sum(ss);
  const float inv = 1.f / sqrtf(ss / float(dim) + eps);
  float* orow = out + size_t(row) * dim;
  for (int d = lane; d < dim; d += 32) orow[d] = (xr[d] * inv) * load_f32(w, wt, d);
}

__device__ __forceinline__ void put(float* p, float v) { *p = v; }
__device__ __forceinline__ void put(uint16_t* p, float v) { *p = to_bf16_bits(v); }

template <typename OutT>
__global__ void __launch_bounds__(kBlockThreads) rmsnorm_block_rows(const float* x, const void* w, DType wt,
                                                                     float eps, int dim, OutT* out) {
  grid_dep_launch();
  grid_dep_wait();
  __shared__ float partial[kBlockThreads / 32];
  __shared__ float inv_s;
  const float* xr = x + size_t(blockIdx.x) * dim;
  float ss = 0.f;
  for (int d = threadIdx.x; d < dim; d += kBlockThreads) ss += xr[d] * xr[d];
  ss = warp_sum(ss);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float t = threadIdx.x < kBlockThreads / 32 ? partial[threadIdx.x] : 0.f;
    t = warp_sum(t);
    if (threadIdx.x == 0) inv_s = 1.f / sqrtf(t / float(dim) + eps);
  }
  __syncthreads();
  const float inv = inv_s;
  OutT* orow = out + size_t(blockIdx.x) * dim;
  for (int d = threadIdx.x; d < dim; d += kBlockThreads) put(orow + d, (xr[d] * inv) * load_f32(w, wt, d));
}

}  // namespace

void rmsnorm(const Ctx& c, const float* x, const Weight& w, float eps, int rows, int dim, float* out) {
  if (dim <= 256) {
    constexpr int kRowsPerBlock = 8;
    launch(c, "rmsnorm", dim3(ceil_div(rows, kRowsPerBlock)), dim3(32 * kRowsPerBlock), 0, rmsnorm_warp_rows, x,
           w.data, w.dtype, eps, rows, dim, out);
  } else {
    launch(c, "rmsnorm", dim3(rows), dim3(kBlockThreads), 0, rmsnorm_block_rows<float>, x, w.data, w.dtype, eps,
           dim, out);
  }
}

void rmsnorm_bf16(const Ctx& c, const float* x, const Weight& w, float eps, int rows, int dim, uint16_t* out) {
  launch(c, "rmsnorm (to bf16)", dim3(rows), dim3(kBlockThreads), 0, rmsnorm_block_rows<uint16_t>, x, w.data,
         w.dtype, eps, dim, out);
}

}  // namespace fs::cuda

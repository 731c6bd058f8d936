// logit_window: the head of one row's sampling distribution, computed on the GPU so that a sampled decode step
// copies a few KB to the host instead of the whole row (151,936 floats = 600 KB for Qwen3), and the host sorts and
// draws from hundreds of candidates instead of the vocabulary.                      x [cols] f32, z = x / temperature
//
//   logit_stats   block b of kParts: the largest z of its slice and Σ exp(z − that max), in one online pass
//                 → part[b] = (max_b, sum_b); block 0 also zeroes the candidate count
//   logit_gather  every block: the row's max from part[] (kParts reads), then each id with z ≥ max − window
//                 takes a slot (one atomicAdd on the count a warp) and writes (z, id) there, while slots last (cap)
//   host          part[] and the count in one copy, then the candidates (CudaBackend::logit_window)
//
// The host combines part[] in block order, in double — the same denominator every run, so a seed reproduces a draw —
// and sorts what it keeps (the candidates arrive in no fixed order). z is x / temperature with IEEE division, as on
// the CPU, so both backends put the same ids in the window. Two small launches and two copies: the cost of a
// sampled step beside the greedy one is these round trips, not a pass over 600 KB on the host.
#include <cfloat>

#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kThreads = 256;

struct MaxSum {
  float m, s;  // a running max and Σ exp(z − m)
};
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  if (b.s == 0.f) return a;  // an empty slice (m = -inf) adds nothing
  if (a.s == 0.f) return b;
  const float m = fmaxf(a.m, b.m);
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__global__ void __launch_bounds__(kThreads) logit_stats(const float* x, int cols, float temperature, float2* part,
                                                         unsigned* count) {
  grid_dep_launch();
  grid_dep_wait();
  if (blockIdx.x == 0 && threadIdx.x == 0) *count = 0;
  MaxSum t{-INFINITY, 0.f};
  for (int j = blockIdx.x * kThreads + threadIdx.x; j < cols; j += gridDim.x * kThreads) {
    const float z = x[j] / temperature;
    t = merge(t, MaxSum{z, 1.f});
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    t = merge(t, MaxSum{__shfl_xor_sync(0xffffffffu, t.m, o), __shfl_xor_sync(0xffffffffu, t.s, o)});
  __shared__ MaxSum warps[kThreads / 32];
  if ((threadIdx.x & 31) == 0) warps[threadIdx.x >> 5] = t;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) t = merge(t, warps[w]);
    part[blockIdx.x] = make_float2(t.m, t.s);
  }
}

__global__ void __launch_bounds__(kThreads) logit_gather(const float* x, int cols, float temperature,
                                                          const float2* part, int parts, float window, int cap,
                                                          float* z_out, int32_t* id_out, unsigned* count) {
  grid_dep_launch();
  grid_dep_wait();
  float m = threadIdx.x < parts ? part[threadIdx.x].x : -INFINITY;  // parts <= kThreads
  m = warp_max(m);
  __shared__ float warps[kThreads / 32];
  if ((threadIdx.x & 31) == 0) warps[threadIdx.x >> 5] = m;
  __syncthreads();
  m = warps[0];
  for (int w = 1; w < kThreads / 32; ++w) m = fmaxf(m, warps[w]);
  const float floor = m - window;
  // A warp takes its slots with one atomicAdd (a flat distribution puts every id in the window: one atomic each
  // on a single counter had cost ~0.6 ms for 152k ids), so every lane runs the same iterations.
  const unsigned lane = threadIdx.x & 31;
  for (int j0 = blockIdx.x * kThreads; j0 < cols; j0 += gridDim.x * kThreads) {
    const int j = j0 + int(threadIdx.x);
    const float z = j < cols ? x[j] / temperature : -INFINITY;
    const bool in = j < cols && z >= floor;
    const unsigned mask = __ballot_sync(0xffffffffu, in);
    if (!mask) continue;
    const unsigned leader = __ffs(mask) - 1;
    unsigned base = 0;
    if (lane == leader) base = atomicAdd(count, unsigned(__popc(mask)));
    base = __shfl_sync(0xffffffffu, base, leader);
    const unsigned k = base + unsigned(__popc(mask & ((1u << lane) - 1u)));
    if (in && k < unsigned(cap)) z_out[k] = z, id_out[k] = j;
  }
}

}  // namespace

int logit_window_parts(int cols) { return std::max(1, std::min(kLogitParts, int(ceil_div(size_t(cols), 2048)))); }

void logit_window(const Ctx& c, const float* x, int cols, float temperature, float window, int cap, float2* part,
                  unsigned* count, float* z, int32_t* ids) {
  const int parts = logit_window_parts(cols);
  launch(c, "logit_stats", dim3(parts), dim3(kThreads), 0, logit_stats, x, cols, temperature, part, count);
  launch(c, "logit_gather", dim3(parts), dim3(kThreads), 0, logit_gather, x, cols, temperature,
         static_cast<const float2*>(part), parts, window, cap, z, ids, count);
}

}  // namespace fs::cuda

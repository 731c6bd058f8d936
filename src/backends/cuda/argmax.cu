// argmax: out[r] = index of the largest x[r, :] (the first one on ties).        x [rows, cols] f32; out [rows] int32
//
// Greedy decoding reads one row of logits (151 936 floats = 600 KB for Qwen3): one block would pull it through a
// single SM, so a row is split over up to 64 blocks; each reduces its slice to (value, index), and the last
// block of the row to finish (an atomic counter it resets afterwards) reduces the partials: one launch, graph-safe.
// Many rows (prefill logits) get one block per row instead. Ties keep the lower index, so the result equals a
// sequential scan; NaN never wins a comparison (a row of NaN yields 0).
//
// A greedy decode step needs no pass over the logits at all: its lm head (gemv_argmax, matmul.cu) folds each warp's
// best (logit, row) into kArgmaxKeys words with an atomic max, as argmax_key (common.cuh) orders them, and
// argmax_from_keys reads those 64 words — one warp, one round trip — instead of 600 KB. That launch replaced this
// file's split kernel in the step, which cost ~5 µs a token (session 15 log, part 9).
#include <climits>

#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPerBlock = 4096;  // elements per block on the split path (16 per thread)

struct Best {
  float v;
  int i;
};
__device__ __forceinline__ Best better(Best a, Best b) {
  return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
}
__device__ __forceinline__ Best warp_best(Best b) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    Best other{__shfl_xor_sync(0xffffffffu, b.v, o), __shfl_xor_sync(0xffffffffu, b.i, o)};
    b = better(b, other);
  }
  return b;
}
// Block-wide reduction; the result is valid in thread 0.
__device__ Best block_best(Best b) {
  __shared__ float sv[kThreads / 32];
  __shared__ int si[kThreads / 32];
  b = warp_best(b);
  if ((threadIdx.x & 31) == 0) sv[threadIdx.x >> 5] = b.v, si[threadIdx.x >> 5] = b.i;
  __syncthreads();
  if (threadIdx.x < 32) {
    b = threadIdx.x < kThreads / 32 ? Best{sv[threadIdx.x], si[threadIdx.x]} : Best{-INFINITY, INT_MAX};
    b = warp_best(b);
  }
  return b;
}

__device__ Best scan(const float* row, int begin, int end) {
  Best b{-INFINITY, INT_MAX};
  for (int c = begin + threadIdx.x; c < end; c += kThreads) b = better(b, Best{row[c], c});
  return b;
}

__global__ void __launch_bounds__(kThreads) argmax_rows(const float* x, int cols, int32_t* out) {
  grid_dep_launch();
  grid_dep_wait();
  const Best b = block_best(scan(x + size_t(blockIdx.x) * cols, 0, cols));
  if (threadIdx.x == 0) out[blockIdx.x] = b.i == INT_MAX ? 0 : b.i;
}

__global__ void __launch_bounds__(kThreads) argmax_split(const float* x, int cols, int32_t* out, float* pv, int* pi,
                                                         unsigned* counter) {
  grid_dep_launch();
  grid_dep_wait();
  const int r = blockIdx.y, nb = gridDim.x;
  const int per = (cols + nb - 1) / nb;
  const int begin = blockIdx.x * per, end = min(cols, begin + per);
  const Best b = block_best(scan(x + size_t(r) * cols, begin, end));
  if (threadIdx.x == 0) {
    pv[r * kArgmaxMaxBlocks + blockIdx.x] = b.v;
    pi[r * kArgmaxMaxBlocks + blockIdx.x] = b.i;
  }
  if (!last_block_to_arrive(counter + r, unsigned(nb))) return;
  Best t{-INFINITY, INT_MAX};
  for (int k = threadIdx.x; k < nb; k += kThreads)
    t = better(t, Best{__ldcg(pv + r * kArgmaxMaxBlocks + k), __ldcg(pi + r * kArgmaxMaxBlocks + k)});
  t = block_best(t);
  if (threadIdx.x == 0) out[r] = t.i == INT_MAX ? 0 : t.i;
}

// One warp: the largest of the keys, its row into out[0], and the keys cleared for the next lm head (each lane
// clears the words it read).
__global__ void argmax_from_keys_kernel(unsigned long long* keys, int32_t* out) {
  grid_dep_launch();
  grid_dep_wait();
  unsigned long long best = 0;
  for (int i = threadIdx.x; i < kArgmaxKeys; i += 32) {
    const unsigned long long k = __ldcg(keys + i);
    best = k > best ? k : best;
    keys[i] = 0;
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, o);
    best = other > best ? other : best;
  }
  if (threadIdx.x == 0) out[0] = argmax_key_row(best);
}

}  // namespace

void argmax_from_keys(const Ctx& c, unsigned long long* keys, int32_t* out) {
  launch(c, "argmax (from the lm head's keys)", dim3(1), dim3(32), 0, argmax_from_keys_kernel, keys, out);
}

void argmax(const Ctx& c, const Workspace& ws, const float* x, int rows, int cols, int32_t* out) {
  const int nb = std::min<int>(kArgmaxMaxBlocks, int(ceil_div(cols, kPerBlock)));
  if (rows >= kArgmaxSplitRows || nb == 1) {
    launch(c, "argmax", dim3(rows), dim3(kThreads), 0, argmax_rows, x, cols, out);
  } else {
    launch(c, "argmax", dim3(nb, rows), dim3(kThreads), 0, argmax_split, x, cols, out, ws.amax_val, ws.amax_idx,
           ws.amax_count);
  }
}

}  // namespace fs::cuda

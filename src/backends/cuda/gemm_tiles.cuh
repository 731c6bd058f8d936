// What the two tensor-core GEMM kernels share (matmul_gemm.cu: mma.sync, any sm_80+; matmul_gemm_wgmma.cu:
// wgmma, Hopper): the launch's matrices, the split-K workspace, the deterministic split-K reduction and the
// epilogue store. Both keep an output tile of 128 × 128 as FRAG floats in each of THREADS threads, so the
// split-K partials have one layout: [tile][split][fragment element][thread] (coalesced: element i of all threads
// is contiguous).
#pragma once
#include "backends/cuda/ops.h"

namespace fs::cuda {

// Up to kMaxGemmOuts matrices that multiply the same x (q/k/v; gate/up) in one launch: blockIdx.y counts BN-row
// tiles across all of them, so small matrices fill the GPU together instead of one after another.
constexpr int kMaxGemmOuts = 3;
struct TcOuts {
  const uint16_t* w[kMaxGemmOuts];
  const void* bias[kMaxGemmOuts];
  DType bias_dtype[kMaxGemmOuts];
  float* out[kMaxGemmOuts];
  int rows[kMaxGemmOuts];
  int tile0[kMaxGemmOuts + 1];  // first blockIdx.y of each matrix; tile0[count] = the grid's y size
  int count;
  // Non-null: the SwiGLU form (wgmma kernel only). w[0] = gate, w[1] = up (rows[0] rows each, no bias); the tile
  // of blockIdx.y holds gate rows and up rows 64·y .. 64·y + 63, and the epilogue writes
  // act[m, r] = bf16(silu(gate[m, r]) · up[m, r]), act [M, rows[0]], instead of out.
  uint16_t* act;
};

// The launch's matrices, numbered in tiles of bn rows (host side).
inline TcOuts tc_outs(const MatmulOut* outs, int count, int bn) {
  TcOuts o{};
  o.count = count;
  for (int j = 0; j < count; ++j) {
    o.w[j] = static_cast<const uint16_t*>(outs[j].w->data);
    o.bias[j] = outs[j].bias ? outs[j].bias->data : nullptr;
    o.bias_dtype[j] = outs[j].bias ? outs[j].bias->dtype : DType::F32;
    o.out[j] = outs[j].out;
    o.rows[j] = int(outs[j].w->rows);
    o.tile0[j + 1] = o.tile0[j] + int(ceil_div(size_t(o.rows[j]), size_t(bn)));
  }
  return o;
}

// Which matrix this block's blockIdx.y falls in.
__device__ __forceinline__ int gemm_out_index(const TcOuts& o) {
  int j = 0;
  while (j + 1 < o.count && int(blockIdx.y) >= o.tile0[j + 1]) ++j;
  return j;
}

// Split-K: blockIdx.z takes k steps [z·kt_per_split, (z+1)·kt_per_split).
struct TcSplit {
  float* part;         // [tiles][splits][fragment element][thread]
  unsigned* counters;  // [tiles], zero between launches
  int splits, kt_per_split;
};

// Every block stores its partial tile, and the last of the `splits` blocks of this output tile to arrive adds all
// partials in split order 0, 1, ... — the same order whichever block is last, so results are deterministic — and
// returns true with the sum in acc; the others return false and write nothing. Without a split: true, acc as is.
template <int FRAG, int THREADS>
__device__ __forceinline__ bool split_k_reduce(float (&acc)[FRAG], const TcSplit& sk) {
  if (sk.splits <= 1) return true;
  const int tid = threadIdx.x;
  const size_t tile = size_t(blockIdx.y) * gridDim.x + blockIdx.x;
  float* base = sk.part + tile * sk.splits * FRAG * THREADS;
#pragma unroll
  for (int e = 0; e < FRAG; ++e) base[(size_t(blockIdx.z) * FRAG + e) * THREADS + tid] = acc[e];
  if (!last_block_to_arrive(sk.counters + tile, unsigned(sk.splits))) return false;
  // Split by split, all FRAG loads of a split at once: a loop over splits inside each element would chain
  // FRAG · splits dependent L2 round trips (measured: ~30 µs per launch).
#pragma unroll
  for (int e = 0; e < FRAG; ++e) acc[e] = 0.f;
  for (int z = 0; z < sk.splits; ++z) {
    const float* pz = base + size_t(z) * FRAG * THREADS + tid;
#pragma unroll
    for (int e = 0; e < FRAG; ++e) acc[e] += __ldcg(pz + e * THREADS);
  }
  return true;
}

// Two horizontally adjacent outputs (row, col) and (row, col + 1) of matrix j: + bias, then stored or added.
__device__ __forceinline__ void store_pair(const TcOuts& o, int j, int M, int row, int col, float v0, float v1,
                                           int accumulate) {
  const int N = o.rows[j];
  if (row >= M) return;
  const float v[2] = {v0, v1};
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    if (col + e >= N) continue;
    float x = v[e];
    if (o.bias[j]) x += load_f32(o.bias[j], o.bias_dtype[j], col + e);
    float* dst = o.out[j] + size_t(row) * N + col + e;
    *dst = accumulate ? *dst + x : x;
  }
}

// matmul_gemm_wgmma.cu: the 128 × 128 tile on wgmma, for devices where gemm_wgmma_available (sm_90).
void gemm_wgmma(const Ctx& c, const uint16_t* a, const MatmulOut* outs, int count, int M, bool accumulate,
                const TcSplit& sk);
void gemm_wgmma_swiglu(const Ctx& c, const uint16_t* a, const Weight& gate, const Weight& up, int M,
                       uint16_t* act, const TcSplit& sk);

}  // namespace fs::cuda

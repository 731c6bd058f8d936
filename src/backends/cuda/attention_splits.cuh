// The combine step of split (flash-decoding) attention (attention.cu), kept apart from the kernel that uses it.
//
// Block s of (token i, kv head kvh) has computed, for each of its G query heads h, the unnormalised output
// o_s[head_dim] = Σ_p e^{score_p − m_s} V[p] over its chunk of positions, with m_s the chunk's largest score and
// l_s = Σ_p e^{score_p − m_s}. It stores them in the workspace slots; the LAST of the S blocks to finish (an atomic
// counter, which that block resets for the next launch) merges:
//     M = max_s m_s,   out = Σ_s e^{m_s − M} o_s  /  Σ_s e^{m_s − M} l_s
// so the combine needs no second kernel.
//                     part_o [n][n_heads][max_splits][head_dim], part_ml [n][n_heads][max_splits][2] (m, l)
#pragma once
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "backends/cuda/ops.h"

namespace fs::cuda {

// Fewest positions a split covers: contexts up to this length run as one split per kv head and skip the combine.
// 256, not 128: the combine (partials out, a fence, an atomic, the last block's reads) costs more on the critical
// path than a second 16-position step per warp, which the tensor-core kernel loads before its wait. H100, same call:
// tg128 from a context of 100 (positions 100–227) Qwen3-0.6B 1,314 → 1,382 tok/s, Llama-3.2-1B 977 → 1,008; from
// 300, 1,255 → 1,255 and 957 → 965; from 16, 4k and 16k unchanged (the one-wave cap sets the chunk there). Shorter
// chunks (16–64) were slower at every context measured (eighth session, session 8 log, parts X3 and H).
constexpr int kSplitMinChunk = 256;

// The grid of a decode-attention launch has max_splits blocks per (token, kv head) for the cache's capacity, not
// for the current context (that lives on the device, so one recorded graph serves every position).
inline SplitWorkspace split_workspace(const Workspace& ws, int capacity) {
  const int max_splits = std::max(1, std::min(kMaxSplits, int(ceil_div(size_t(capacity), kSplitMinChunk))));
  return {ws.attn_o, ws.attn_ml, ws.attn_count, max_splits};
}

// Positions per split for a context of L: at least kSplitMinChunk, a multiple of 8, at most max_splits splits.
__device__ __forceinline__ int split_chunk(int L, int max_splits) {
  const int chunk = (L + max_splits - 1) / max_splits;
  return max(kSplitMinChunk, (chunk + 7) & ~7);
}

// Blocks of `kernel` (threads per block, no dynamic shared memory) that fit on the GPU at once, asked once per
// kernel.
inline int resident_blocks(const void* kernel, int threads, int sms) {
  static std::vector<std::pair<const void*, int>> known;
  for (const auto& [k, nb] : known)
    if (k == kernel) return nb * sms;
  int nb = 0;
  FS_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, kernel, threads, 0));
  known.emplace_back(kernel, std::max(nb, 1));
  return std::max(nb, 1) * sms;
}

// The split count capped at one wave of blocks (`lines` = blocks per split: kv heads × tokens). A long context
// spread over more splits than fit on the GPU at once runs its last splits as a second, mostly empty wave
// (measured on an H200 at 16k: Qwen3-0.6B 456 → 549 tok/s with 48 splits instead of 64; Llama-3.2-1B 571 → 635
// with 33). Short contexts use fewer splits than this anyway.
inline int splits_in_one_wave(const void* kernel, int threads, int sms, int max_splits, int lines) {
  return std::max(1, std::min(max_splits, resident_blocks(kernel, threads, sms) / lines));
}

// What both decode-attention kernels (attention.cu, attention_decode_tc.cu) are told, filled in one place.
struct DecodeAttnArgs {
  const float* q;       // [n, n_heads · head_dim]
  const int32_t* pos;   // [n]
  float* out;           // [n, n_heads · head_dim]
  SplitWorkspace splits;
  unsigned* err;
  int n_heads, n_kv_heads, kv_dim, capacity;
  float scale;          // 1 / √head_dim
};
inline void set_decode_attn_args(DecodeAttnArgs& a, const Ctx& c, const Workspace& ws, const float* q,
                                 const KvLayer& cache, const int32_t* pos, int n_heads, int n_kv_heads,
                                 int head_dim, float* out) {
  a.q = q;
  a.pos = pos;
  a.out = out;
  a.splits = split_workspace(ws, cache.capacity);
  a.err = c.err;
  a.n_heads = n_heads;
  a.n_kv_heads = n_kv_heads;
  a.kv_dim = cache.kv_dim;
  a.capacity = cache.capacity;
  a.scale = 1.f / std::sqrt(float(head_dim));
}

// Slot of (token i, head h, split s) in part_o (× head_dim) and part_ml (× 2).
__device__ __forceinline__ size_t split_slot(const SplitWorkspace& w, int n_heads, int i, int h, int s) {
  return (size_t(i) * n_heads + h) * w.max_splits + s;
}

// A warp's online-softmax state for its G query heads into shared memory, for store_split_result. Each lane holds
// DPL output dims (from d0) of one sub-row; the lpr lanes of a row are a sub-row group of 32 / lpr. m is the same in
// every lane; l and o are summed over the sub-rows first.
template <int GMAX, int DPL>
__device__ __forceinline__ void publish_warp_state(const float (&m)[GMAX], float (&l)[GMAX], float (&o)[GMAX][DPL],
                                                   int G, int lpr, int d0, float* sm_m, float* sm_l, float* sm_o,
                                                   int gstride, int ostride) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    if (g >= G) break;
    for (int off = 16; off >= lpr; off >>= 1) {
      l[g] += __shfl_xor_sync(0xffffffffu, l[g], off);
#pragma unroll
      for (int e = 0; e < DPL; ++e) o[g][e] += __shfl_xor_sync(0xffffffffu, o[g][e], off);
    }
    if (lane == 0) sm_m[warp * gstride + g] = m[g], sm_l[warp * gstride + g] = l[g];
    if (lane < lpr) {
#pragma unroll
      for (int e = 0; e < DPL; ++e) sm_o[(warp * gstride + g) * ostride + d0 + e] = o[g][e];
    }
  }
}

// The end of one split's block: merges its warps' online-softmax states (running max m, sum l, output o) for the gn
// query heads h0 .. h0 + gn - 1 of token i, and stores the split's result — the output itself when the context
// has a single split, else the split's slot (m, l and the unnormalised o) for combine_splits_if_last.
//   sm_m, sm_l [warps][gstride]; sm_o [warps][gstride][ostride] (shared memory, ostride >= hd); out: token i's row.
template <int kWarps>
__device__ __forceinline__ void store_split_result(const SplitWorkspace& w, const float* sm_m, const float* sm_l,
                                                   const float* sm_o, int gstride, int ostride, int gn, int hd,
                                                   int n_heads, int i, int h0, int s, bool single, float* out) {
  for (int t = threadIdx.x; t < gn * hd; t += blockDim.x) {
    const int g = t / hd, d = t % hd;
    float M = -INFINITY;
#pragma unroll
    for (int k = 0; k < kWarps; ++k) M = fmaxf(M, sm_m[k * gstride + g]);
    float Ls = 0.f, O = 0.f;
#pragma unroll
    for (int k = 0; k < kWarps; ++k) {
      const float m = sm_m[k * gstride + g];
      const float f = m == -INFINITY ? 0.f : expf(m - M);  // a warp may have had no rows
      Ls += sm_l[k * gstride + g] * f;
      O += sm_o[(k * gstride + g) * ostride + d] * f;
    }
    const int h = h0 + g;
    if (single) {
      out[size_t(h) * hd + d] = O / Ls;
    } else {
      const size_t slot = split_slot(w, n_heads, i, h, s);
      w.part_o[slot * hd + d] = O;
      if (d == 0) w.part_ml[slot * 2] = M, w.part_ml[slot * 2 + 1] = Ls;
    }
  }
}

// Called by every thread of a block after it stored its partials; out is token i's row [n_heads · head_dim].
// The merge runs in three parallel passes, because a loop over the splits that loads as it goes waits one L2 round
// trip per split (at 32–48 splits that alone was most of a long-context attention step):
//   1. the S (m, l) pairs of every head into shared memory, one pair per thread;
//   2. per head, M and the weights e^{m_s − M} (shared memory only);
//   3. per output element, Σ_s e^{m_s − M} o_s with the loads of 8 splits in flight at a time, / Σ_s e^{m_s − M} l_s.
constexpr int kCombineMaxGroup = 8;
__device__ inline void combine_splits_if_last(const SplitWorkspace& w, int n_heads, int n_kv_heads, int i, int kvh,
                                              int G, int hd, int S, float* out) {
  __shared__ float sm_m[kCombineMaxGroup][kMaxSplits], sm_l[kCombineMaxGroup][kMaxSplits];
  __shared__ float sm_den[kCombineMaxGroup];
  if (!last_block_to_arrive(w.counter + size_t(i) * n_kv_heads + kvh, unsigned(S))) return;
  for (int t = threadIdx.x; t < G * S; t += blockDim.x) {
    const int g = t / S, x = t % S;
    const size_t slot = split_slot(w, n_heads, i, kvh * G + g, x);
    sm_m[g][x] = __ldcg(w.part_ml + slot * 2);
    sm_l[g][x] = __ldcg(w.part_ml + slot * 2 + 1);
  }
  __syncthreads();
  for (int g = threadIdx.x; g < G; g += blockDim.x) {
    float M = -INFINITY;
    for (int x = 0; x < S; ++x) M = fmaxf(M, sm_m[g][x]);
    float den = 0.f;
    for (int x = 0; x < S; ++x) {
      const float f = expf(sm_m[g][x] - M);
      sm_m[g][x] = f;  // from here on: the weight of split x
      den += sm_l[g][x] * f;
    }
    sm_den[g] = den;
  }
  __syncthreads();
  for (int t = threadIdx.x; t < G * hd; t += blockDim.x) {
    const int g = t / hd, d = t % hd;
    const int h = kvh * G + g;
    const float* po = w.part_o + split_slot(w, n_heads, i, h, 0) * hd + d;
    float O = 0.f;
#pragma unroll 8
    for (int x = 0; x < S; ++x) O += __ldcg(po + size_t(x) * hd) * sm_m[g][x];
    out[size_t(h) * hd + d] = O / sm_den[g];
  }
}

}  // namespace fs::cuda

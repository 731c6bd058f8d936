// matmul, decode path (GEMV): out[t, r] (+)= Σ_c x[t, c] · W[r, c] (+ bias[r]) for n <= 4 tokens.
//                                                         x [n, cols] f32; W [rows, cols] bf16/f16/f32; out [n, rows]
//
// Decode is memory-bound: every weight byte is used once per token (2 flops per 2-byte weight, against ~300 flops
// per byte of bandwidth that an H100 could do), so the kernel is judged by one number, bytes/s of weights
// streamed, against a device-to-device copy. What gets it there:
//
//   warp w of block b owns row r = 4b + w; lane l reads 16-byte vectors l, l+32, l+64, … of that row:
//
//        W row r:  | v0 | v1 | ... | v31 | v32 | ... | v63 | ...      (v = 8 bf16 = 16 bytes)
//                    l0   l1         l31   l0          l31
//        x:        | 8 floats per vector, read by the same lane from L1 (x is 4–32 KB and shared by every warp) |
//
//   * 16-byte loads, coalesced (a warp reads 512 contiguous bytes per instruction), marked L1::no_allocate;
//   * up to 16 loads per lane issued before the first is used (a whole 1024-col row is 4 loads per lane, so the
//     full matrix is in flight at once; rows up to 16384 bf16 in one batch over the warps that share them, longer
//     ones in batches of 8 vectors per lane: gemv_shape);
//   * one warp per row: 2048 rows = 512 blocks of 4 warps, enough to cover 132 SMs. Where the grid stays large
//     enough, a warp takes 2 or 4 rows so that each lane still has 16 vectors in flight (a 1024-col bf16 row is
//     only 4): the lm head, 151 936 × 1024, went from 68% to 98% of copy bandwidth with 4 rows per warp. Long rows
//     (2048 columns or more) are shared by 2, 4 or 8 warps instead, each lane streaming 2–8 vectors (gemv_shape);
//   * the first batch of weight loads is issued BEFORE grid_dep_wait(): under Programmatic Dependent Launch the
//     kernel starts while the kernels before it still run, and the weights (which no kernel writes) are already
//     on their way when the activations become ready. This hides most of the gap between decode kernels.
//   * after the wait, the old values of out (the residual that o and down add to) are read together with x, not
//     after the reduction: the final store then waits for nothing. Each such round trip is ~0.5–1 µs on the
//     critical path of a ~4 µs kernel; this one, with the final norm folded into the lm head's GEMV, took decode
//     from 1,150 to 1,207 tok/s on Qwen3-0.6B and from 952 to 984 on Llama-3.2-1B (H200, same call).
//   * the reduction is a warp shuffle; lane 0 writes (or adds to, for the residual) out[t, r].
//   * where blocks run matters as much as what they do: the one-token q/k/v launch asks for just enough shared
//     memory that at most 4 of its blocks share an SM at short context, 6 at longer (Ctx::qkv_cap; ops.h says
//     why and what it measured).
//
// One launch may cover up to 3 matrices that share x (q, k, v: blocks are numbered across them), may apply the
// rmsnorm of x on the fly (acc · 1/rms, with Σx² gathered in the same pass — the norm costs no extra kernel; its
// weight vector is copied to shared memory before the wait, like the weights: read after it, from DRAM, it was one
// more round trip on the critical path, and the per-block timeline (launch_trace.h) showed q/k/v and gate/up blocks
// waiting on it — H100, same call: tg128 Qwen3-0.6B 1,346 → 1,410 tok/s, Llama-3.2-1B 972 → 1,011), and
// may pair rows r of W_gate and W_up into silu(g)·u (the SwiGLU MLP input in one kernel). The lm head of a greedy
// step also folds each warp's best (logit, row) into argmax keys (gemv_argmax; argmax.cu reads them). x stays f32:
// the GEMV path matches the CPU oracle to f32 rounding (~1e-6 relative), unlike the bf16 tensor-core prefill path.
#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "backends/cuda/ops.h"
#include "util/error.h"

namespace fs::cuda {
namespace {

// Warps per block (W) unless a row takes more: 2 and 8 measured slower in the decode step (H200: Qwen3-0.6B 1,139
// and 1,073 tok/s against 1,149), but rows of more than 4096 columns run 8 warps per row in blocks of 8 (gemv_shape).
constexpr int kWarps = 4;
constexpr size_t kNormSmemBytes = 32 * 1024;  // the staged norm's limit (below the default 48 KB per block)

struct GemvParams {
  const float* x;
  int n;
  int cols;
  int accumulate;
  const void* norm;  // optional fused rmsnorm weight [cols]
  DType norm_dtype;
  float eps;
  int count;
  int block_start[3];  // first block of each matrix
  const void* w[3];
  const void* bias[3];
  DType bias_dtype[3];
  float* out[3];
  int rows[3];
  int norm_vecs;  // 16-byte vectors of the norm weight staged in shared memory before the wait (0: read after it)
  unsigned long long* trace;  // launch_trace.h: null unless a decode step is being traced
  unsigned long long* argmax_keys;  // gemv_argmax: [kArgmaxKeys], else null
};

template <typename T>
__device__ __forceinline__ T pick(const T (&a)[3], int j) {  // constant indices only: no local-memory copy
  return j == 0 ? a[0] : j == 1 ? a[1] : a[2];
}

// E consecutive elements of a norm weight (any dtype), c0 a multiple of E, the base 16-byte aligned: from global
// memory (the read-only path), or from the block's shared-memory copy of it (kShared: plain loads).
template <int E, bool kShared = false>
__device__ __forceinline__ void load_vec(const void* p, DType t, int c0, float* out) {
  auto ld = [](const auto* q) {
    if constexpr (kShared) return *q;
    else return __ldg(q);
  };
  if (t == DType::F32) {
    const float4* q = reinterpret_cast<const float4*>(static_cast<const float*>(p) + c0);
#pragma unroll
    for (int i = 0; i < E / 4; ++i) {
      const float4 f = ld(q + i);
      out[4 * i] = f.x, out[4 * i + 1] = f.y, out[4 * i + 2] = f.z, out[4 * i + 3] = f.w;
    }
    return;
  }
  const uint16_t* h = static_cast<const uint16_t*>(p) + c0;
  uint32_t w[E / 2];
  if constexpr (E == 8) {
    const uint4 u = ld(reinterpret_cast<const uint4*>(h));
    w[0] = u.x, w[1] = u.y, w[2] = u.z, w[3] = u.w;
  } else {
    const uint2 u = ld(reinterpret_cast<const uint2*>(h));
    w[0] = u.x, w[1] = u.y;
  }
#pragma unroll
  for (int i = 0; i < E / 2; ++i) {
    if (t == DType::BF16) {
      out[2 * i] = bf16_lo(w[i]);
      out[2 * i + 1] = bf16_hi(w[i]);
    } else {
      out[2 * i] = f16_bits(uint16_t(w[i] & 0xffffu));
      out[2 * i + 1] = f16_bits(uint16_t(w[i] >> 16));
    }
  }
}

// Blocks per SM a kernel is compiled to fit (bf16 weights), otherwise 1 (no constraint; the rows-per-warp kernels
// would spill at 5):
//   * 5 for the one-row, U = 16 kernels, whose registers then drop from 105 to 96 without spilling, so a fifth block
//     (20 warps) fits on an SM. H200, same call: tg128 Qwen3-0.6B 1,312 → 1,332 tok/s, Llama-3.2-1B 991 → 1,013;
//   * 7 for the gate/up pair of 1024-column rows (76 → 71 registers, no spills): its 768 blocks leave room on each SM
//     for one block of the down GEMV after it, which can then load its weights early. H100, same call (eighth
//     session, part L): Qwen3-0.6B tg128 1,434 → 1,442, from a context of 100 1,379 → 1,401, @4k 1,044 → 1,037;
//     Qwen2.5-0.5B 1,499 → 1,526. Bounding the down kernel as well (75 → 64 registers) lost more at 4k (1,029);
//   * 7 for two 1024-column rows per warp (Qwen3-0.6B's q/k/v: 85 → 71 registers, no spills; at 8 it spills): a
//     third of its blocks more fit beside the down GEMV before it. Same card, part N: tg128 1,445 → 1,484, from a
//     context of 100 1,395 → 1,437, @4k 1,039 → 1,051.
template <typename WT, int RW, int U, bool SWIGLU, int SPLIT>
constexpr int gemv_min_blocks() {
  if (!std::is_same_v<WT, __nv_bfloat16>) return 1;
  if (RW == 1 && U == 16 && !SWIGLU && SPLIT == 1) return 5;
  if (SWIGLU && U == 4 && SPLIT == 1) return 7;
  if (RW == 2 && U == 4 && !SWIGLU) return 7;
  return 1;
}

// RW output rows per warp (1, 2 or 4: tall matrices with short rows take several, so a warp keeps 16 loads in flight);
// NM weight rows streamed per warp (RW, or 2 for the gate/up pair of SWIGLU); U vectors per row per lane in one batch
// (gemv_shape picks them, from measurements); SPLIT warps share each row (1, 2, 4 or 8: long rows), warp part s taking
// the 32-vector groups s, s + SPLIT, ... and the partial sums meeting in shared memory; W warps per block. kNorm: 1 the
// rmsnorm of x is fused (p.norm set), 0 it is not, 2 decided at run time (the kernels for n > 1 and for f16/f32
// weights). kArgmax: the argmax keys of gemv_argmax (shapes of one row a warp only). The one-token bf16 kernels are
// compiled once per form (bf16_kernel), so that the o and down projections carry no norm code; what that changed is
// their register allocation, and with it where their blocks run. Qwen3-0.6B's down kernel (2 warps a row, U = 8) went
// from 75 to 98 registers, at most 5 blocks an SM instead of 6, and its 512 blocks now sit 4 to an SM on all 132 SMs
// instead of 6 to an SM on about half of them and 1-5 on the rest, beside the next q/k/v GEMV's early blocks
// (docs/cuda-backend.md, section 6): they end 1.70 / 2.08 us after the wait (median / last) instead of 2.66 / 3.94.
// H100, same call, three rounds: Qwen3-0.6B tg128 1,498-1,500 -> 1,587-1,589 tok/s, @4k 1,048-1,050 -> 1,117-1,118;
// Llama-3.2-1B 1,017-1,018 -> 1,018-1,020, @4k 898 -> 906 (session 12 log, parts 10-12). A gain that comes through the
// allocator's choice can leave with it; an explicit cap on the down kernel's blocks per SM (by shared memory, as
// Ctx::qkv_cap does for q/k/v) was measured instead and is slower at 3 an SM (session 13 log, part 5).
template <typename WT, int NT, int RW, int U, bool SWIGLU, int SPLIT = 1, int W = kWarps, int kNorm = 2,
          bool kArgmax = false>
__global__ void __launch_bounds__(W * 32, W == kWarps ? gemv_min_blocks<WT, RW, U, SWIGLU, SPLIT>() : 1)
    gemv_kernel(const __grid_constant__ GemvParams p) {
  constexpr int E = Unpack<WT>::kElems;  // elements per 16-byte vector
  constexpr int NM = SWIGLU ? 2 : RW;    // weight rows per warp
  constexpr int kStride = 32 * SPLIT;    // vectors between a lane's consecutive loads of a row
  grid_dep_launch();
  trace_start(p.trace);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, part = warp % SPLIT;
  const bool writer = lane == 0 && part == 0;  // the lane that stores the warp's rows
  const int b = blockIdx.x;
  const int j = (p.count > 2 && b >= p.block_start[2]) ? 2 : (p.count > 1 && b >= p.block_start[1]) ? 1 : 0;
  const int rows = pick(p.rows, j);
  const int row0 = ((b - pick(p.block_start, j)) * (W / SPLIT) + warp / SPLIT) * RW;
  const int nvec = p.cols / E;
  const int lane_v = part * 32 + lane;  // this lane's first vector of a row

  const uint4* wr[NM];
  bool on[NM];
#pragma unroll
  for (int m = 0; m < NM; ++m) {
    const int r = SWIGLU ? row0 : row0 + m;
    on[m] = r < rows;
    const void* base = SWIGLU ? p.w[m] : pick(p.w, j);
    wr[m] = reinterpret_cast<const uint4*>(static_cast<const WT*>(base) + size_t(on[m] ? r : 0) * p.cols);
  }

  // First batch of weights: issued before waiting for the previous kernel.
  uint4 wv[NM][U];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int v = u * kStride + lane_v;
#pragma unroll
    for (int m = 0; m < NM; ++m) {
      if (on[m] && v < nvec) wv[m][u] = ld_stream16(wr[m] + v);
      else wv[m][u] = make_uint4(0, 0, 0, 0);
    }
  }
  // The bias is a weight too: loaded before the wait. The old values of out (the residual add) are read right after
  // it, with x, instead of after the reduction, so the final store waits for nothing.
  const void* bias = pick(p.bias, j);
  float bias_v[RW];
#pragma unroll
  for (int m = 0; m < RW; ++m)
    bias_v[m] = !SWIGLU && bias && writer && on[m] ? load_f32(bias, pick(p.bias_dtype, j), row0 + m) : 0.f;
  // The norm weight is a weight too, but every block needs all of it: the block copies it, as stored, into shared
  // memory, so the loop below reads it from there instead of waiting, after the wait, on one more trip to memory.
  extern __shared__ uint4 norm_s[];  // [p.norm_vecs]
  if (kNorm != 0 && p.norm_vecs) {
    for (int i = threadIdx.x; i < p.norm_vecs; i += blockDim.x)
      norm_s[i] = __ldg(static_cast<const uint4*>(p.norm) + i);
    __syncthreads();
  }
  grid_dep_wait();
  trace_wait(p.trace);
  if (SPLIT == 1 && row0 >= rows) return;  // split warps stay for the block's barrier (their on[] are all false)
  float* out = pick(p.out, j);
  float prev[NT][RW];
#pragma unroll
  for (int t = 0; t < NT; ++t)
#pragma unroll
    for (int m = 0; m < RW; ++m)
      prev[t][m] = p.accumulate && writer && t < p.n && on[m] ? out[size_t(t) * rows + row0 + m] : 0.f;

  const bool norm = kNorm == 2 ? p.norm != nullptr : kNorm == 1;
  float acc[NM][NT], ss[NT];
#pragma unroll
  for (int t = 0; t < NT; ++t) {
    ss[t] = 0.f;
#pragma unroll
    for (int m = 0; m < NM; ++m) acc[m][t] = 0.f;
  }

  for (int base = 0; base < nvec; base += U * kStride) {
    if (base > 0) {
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int v = base + u * kStride + lane_v;
#pragma unroll
        for (int m = 0; m < NM; ++m)
          if (on[m] && v < nvec) wv[m][u] = ld_stream16(wr[m] + v);
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int v = base + u * kStride + lane_v;
      if (v >= nvec) continue;
      float wf[NM][E];
#pragma unroll
      for (int m = 0; m < NM; ++m) Unpack<WT>::run(wv[m][u], wf[m]);
      const int c0 = v * E;
      float nw[E];
      if (norm) {
        if (p.norm_vecs) load_vec<E, true>(norm_s, p.norm_dtype, c0, nw);
        else load_vec<E>(p.norm, p.norm_dtype, c0, nw);
      }
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        if (t >= p.n) break;
        float xv[E];
        const float4* xp = reinterpret_cast<const float4*>(p.x + size_t(t) * p.cols + c0);
#pragma unroll
        for (int q = 0; q < E / 4; ++q) {
          const float4 f = __ldg(xp + q);
          xv[4 * q] = f.x, xv[4 * q + 1] = f.y, xv[4 * q + 2] = f.z, xv[4 * q + 3] = f.w;
        }
        if (norm) {
#pragma unroll
          for (int e = 0; e < E; ++e) {
            ss[t] = fmaf(xv[e], xv[e], ss[t]);
            xv[e] *= nw[e];
          }
        }
#pragma unroll
        for (int m = 0; m < NM; ++m)
#pragma unroll
          for (int e = 0; e < E; ++e) acc[m][t] = fmaf(wf[m][e], xv[e], acc[m][t]);
      }
    }
  }

#pragma unroll
  for (int t = 0; t < NT; ++t) {
#pragma unroll
    for (int m = 0; m < NM; ++m) acc[m][t] = warp_sum(acc[m][t]);
    if (norm) ss[t] = warp_sum(ss[t]);
  }
  if constexpr (SPLIT > 1) {
    __shared__ float part_acc[W][NM][NT], part_ss[W][NT];
    if (lane == 0) {
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        part_ss[warp][t] = ss[t];
#pragma unroll
        for (int m = 0; m < NM; ++m) part_acc[warp][m][t] = acc[m][t];
      }
    }
    __syncthreads();
    if (part != 0 || row0 >= rows) return;
#pragma unroll
    for (int t = 0; t < NT; ++t)
#pragma unroll
      for (int s = 1; s < SPLIT; ++s) {
        ss[t] += part_ss[warp + s][t];
#pragma unroll
        for (int m = 0; m < NM; ++m) acc[m][t] += part_acc[warp + s][m][t];
      }
  }
  if (lane != 0) return;
#pragma unroll
  for (int t = 0; t < NT; ++t) {
    if (t >= p.n) break;
    const float scale = norm ? 1.f / sqrtf(ss[t] / float(p.cols) + p.eps) : 1.f;
    if constexpr (SWIGLU) {
      const float g = acc[0][t] * scale, u = acc[1][t] * scale;
      const float y = g / (1.f + expf(-g)) * u;
      out[size_t(t) * rows + row0] = p.accumulate ? prev[t][0] + y : y;
    } else {
      unsigned long long best = 0;  // kArgmax: the warp's largest (logit, row), as argmax_key orders them
#pragma unroll
      for (int m = 0; m < RW; ++m) {
        if (!on[m]) break;
        const float y = acc[m][t] * scale + bias_v[m];
        out[size_t(t) * rows + row0 + m] = p.accumulate ? prev[t][m] + y : y;
        if constexpr (kArgmax) {
          const unsigned long long k = argmax_key(y, row0 + m);
          best = k > best ? k : best;
        }
      }
      // Folded into one of kArgmaxKeys words (consecutive warps, different words: the atomics spread over them);
      // nothing waits for the result.
      if constexpr (kArgmax) atomicMax(p.argmax_keys + (blockIdx.x * W + warp) % kArgmaxKeys, best);
    }
  }
  trace_end(p.trace);  // thread 0 is a writer in every block (its warp's row exists)
}

// The launch shape: rows per warp and vectors per lane per row.
struct Shape {
  int rw, u;
  int split = 1;       // warps per row
  int warps = kWarps;  // warps per block
};
// bf16 at n = 1 (the decode case that matters), chosen by measurement inside the decode step (H100 and H200,
// 2026-11-26; docs/cuda-backend.md, section 4, and the experiment log in bench/results):
//   * tall matrices: RW = 4 or 2 rows per warp and 16 / RW vectors per batch, where RW rows fit in those 16 and the
//     grid keeps two blocks per SM (the lm heads: 98–101% of the copy bandwidth); two 1024-column rows per warp
//     take U = 4, the row itself, not 8 (Qwen3-0.6B's q/k/v: 122 → 85 registers; H100, same call, tg128 1,386 →
//     1,420 tok/s, eighth session);
//   * rows of 2048 columns or more (8+ vectors per lane): SPLIT = 2 warps per row (up to 3072 columns: Qwen3-0.6B's
//     down went from 4 warps to 2 in the eighth session, 1,386 → 1,400 tok/s), 4 (up to 4096, and the gate/up
//     pair) or 8 (longer rows, in blocks of 8 warps), U sized to what each lane then streams (2, 4 or 8 vectors;
//     longer rows loop). After griddepcontrol.wait a warp's own work on its row (unpacking, FMAs, the shuffle
//     reduction) is on the critical path, and the small U leaves registers for more blocks per SM. H100, one call:
//     Qwen3-0.6B 1,193 → 1,268 tok/s, Llama-3.2-1B 837 → 926, Qwen3-1.7B 545 → 600 (seventh session; Llama's down
//     14.9 → 11.6 µs on an H200). The sixth session's split of Llama's matrices had kept U = 16, and was slower
//     (990 → 947). Eight warps for rows of more than 4096 columns, same card and call: Llama-3.2-1B 935 → 950,
//     Qwen2.5-0.5B 1,339 → 1,362, Qwen3-1.7B 614 → 612 (its 6144-column down; within 0.5%, the rule kept simple);
//   * otherwise (1024-column rows) one row per warp and U = 16, though a row is only 4 vectors per lane: sized to
//     the row it measured slower (fifth session: Qwen3-0.6B q 2.96 → 3.44 µs), and so did splitting these rows
//     (Qwen3-0.6B q/k/v 1,193 → 1,166 tok/s) or launching one 8-warp block per SM that streams its whole share
//     (1,339 → 1,195 on an H200). The gate/up pair of such rows: U = 4.
// Other dtypes and n > 1 use one row per warp and U = 16 (8 for n > 1).
Shape gemv_shape(const GemvParams& p, bool bf16, bool swiglu, int sms) {
  const int per_row = std::max(1, int(size_t(p.cols) * 2 / (16 * 32)));  // 16-byte vectors per lane for a bf16 row
  if (!bf16 || p.n != 1) return {1, 16};
  int total_rows = 0;
  for (int j = 0; j < p.count; ++j) total_rows += p.rows[j];
  if (!swiglu)
    for (int rw : {4, 2})
      if (rw * per_row <= 16 && total_rows / (kWarps * rw) >= 2 * sms)
        return {rw, rw == 2 && per_row <= 4 ? 4 : 16 / rw};
  if (!swiglu && per_row > 16) return {1, per_row > 32 ? 8 : 4, 8, 8};  // more than 4096 columns: 8 warps per row
  if (per_row >= 8) {
    const int split = per_row > 12 || swiglu ? 4 : 2;
    const int per_lane = int(ceil_div(per_row, split));
    return {1, per_lane <= 2 ? 2 : per_lane <= 4 ? 4 : 8, split};
  }
  return {1, swiglu ? 4 : 16};
}

// The bf16 n = 1 kernel for a launch shape: every shape gemv_shape returns has a case here.
template <typename WT>
auto bf16_kernel(const Shape& sh, bool swiglu, bool norm) -> void (*)(GemvParams) {
#define FS_GEMV_CASE(RW, U, SW, SPLIT, W)                                                       \
  if (sh.rw == RW && sh.u == U && swiglu == SW && sh.split == SPLIT && sh.warps == W) \
    return norm ? gemv_kernel<WT, 1, RW, U, SW, SPLIT, W, 1> : gemv_kernel<WT, 1, RW, U, SW, SPLIT, W, 0>;
  FS_GEMV_CASE(1, 4, true, 1, kWarps)   // gate/up pairs of short rows
  FS_GEMV_CASE(1, 2, true, 4, kWarps)   // gate/up pairs of long rows
  FS_GEMV_CASE(1, 4, true, 4, kWarps)
  FS_GEMV_CASE(1, 8, true, 4, kWarps)
  FS_GEMV_CASE(4, 4, false, 1, kWarps)  // tall matrices of short rows
  FS_GEMV_CASE(2, 8, false, 1, kWarps)
  FS_GEMV_CASE(2, 4, false, 1, kWarps)
  FS_GEMV_CASE(1, 16, false, 1, kWarps)  // one row per warp
  FS_GEMV_CASE(1, 4, false, 2, kWarps)   // long rows: 2 or 4 warps per row
  FS_GEMV_CASE(1, 8, false, 2, kWarps)
  FS_GEMV_CASE(1, 4, false, 4, kWarps)
  FS_GEMV_CASE(1, 8, false, 4, kWarps)
  FS_GEMV_CASE(1, 4, false, 8, 8)  // rows of more than 4096 columns: 8 warps per row, blocks of 8
  FS_GEMV_CASE(1, 8, false, 8, 8)
#undef FS_GEMV_CASE
  throw Error("matmul (gemv): no kernel for this launch shape");  // gemv_shape and this list disagree: a bug
}

// The lm head's kernel with the argmax fold (gemv_argmax): the one-warp-per-row shapes that a norm-fused bf16 matrix
// of one token takes (rows split over warps have no single writer per row); null for the others.
template <typename WT>
auto bf16_argmax_kernel(const Shape& sh) -> void (*)(GemvParams) {
#define FS_GEMV_ARGMAX_CASE(RW, U)                                     \
  if (sh.rw == RW && sh.u == U && sh.split == 1 && sh.warps == kWarps) \
    return gemv_kernel<WT, 1, RW, U, false, 1, kWarps, 1, true>;
  FS_GEMV_ARGMAX_CASE(4, 4)
  FS_GEMV_ARGMAX_CASE(2, 8)
  FS_GEMV_ARGMAX_CASE(2, 4)
  FS_GEMV_ARGMAX_CASE(1, 16)
#undef FS_GEMV_ARGMAX_CASE
  return nullptr;
}

// Dynamic shared memory, at least `at_least` bytes, with which no more than `blocks` blocks of `kernel` (of
// `threads` threads) fit on an SM: the least that keeps a (blocks + 1)-th out, so that the SM's remaining shared
// memory stays free for the launches around it. `at_least` when the kernel cannot run more than `blocks` anyway,
// or when the occupancy calculator disagrees with the arithmetic (another card). Computed once per kernel and cap.
size_t smem_for_at_most(const void* kernel, int threads, int blocks, size_t at_least) {
  static std::mutex mutex;
  static std::map<std::pair<const void*, int>, size_t> known;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find({kernel, blocks});
  if (it == known.end()) {
    int dev = 0, per_sm = 0, reserved = 0, fit = 0;
    FS_CUDA(cudaGetDevice(&dev));
    FS_CUDA(cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, dev));
    FS_CUDA(cudaDeviceGetAttribute(&reserved, cudaDevAttrReservedSharedMemoryPerBlock, dev));
    cudaFuncAttributes a{};
    FS_CUDA(cudaFuncGetAttributes(&a, kernel));
    FS_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, kernel, threads, 0));
    size_t bytes = 0;
    if (fit > blocks) {
      const long least = long(per_sm / (blocks + 1)) + 1 - reserved - long(a.sharedSizeBytes);
      bytes = size_t((std::max(0L, least) + 15) / 16 * 16);
      if (bytes > size_t(a.maxDynamicSharedSizeBytes))
        FS_CUDA(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
      FS_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, kernel, threads, bytes));
      if (fit != blocks) bytes = 0;
    }
    it = known.emplace(std::pair{kernel, blocks}, bytes).first;
  }
  return std::max(it->second, at_least);
}

// How a GEMV launch runs: kernel, grid, block and dynamic shared memory (and p's block_start and norm_vecs).
struct GemvLaunch {
  void (*kernel)(GemvParams);
  dim3 grid, block;
  size_t smem;
};

template <typename WT>
GemvLaunch plan(const Ctx& c, GemvParams& p, bool swiglu) {
  constexpr bool kBf16 = std::is_same_v<WT, __nv_bfloat16>;
  const Shape sh = gemv_shape(p, kBf16, swiglu, c.sms);
  int blocks = 0;
  for (int j = 0; j < 3; ++j) {
    p.block_start[j] = blocks;
    if (j < p.count && (!swiglu || j == 0)) blocks += int(ceil_div(p.rows[j], size_t(sh.warps / sh.split) * sh.rw));
  }
  if (swiglu) p.block_start[1] = p.block_start[2] = blocks;  // both matrices are read by the same warps
  // The staged norm: cols elements as stored in shared memory (f32 up to 8,192 columns, bf16 up to 16,384).
  const size_t norm_bytes = p.norm ? size_t(p.cols) * dtype_size(p.norm_dtype) : 0;
  const size_t smem = norm_bytes % 16 == 0 && aligned16(p.norm) && norm_bytes <= kNormSmemBytes ? norm_bytes : 0;
  p.norm_vecs = int(smem / 16);
  GemvLaunch l = {gemv_kernel<WT, 4, 1, 8, false>, dim3(blocks), dim3(sh.warps * 32), smem};
  if (p.n > 1) return l;
  if constexpr (kBf16) {
    if (p.argmax_keys) {  // gemv_argmax (one norm-fused matrix): null where the shape has no such kernel
      l.kernel = bf16_argmax_kernel<WT>(sh);
      return l;
    }
    l.kernel = bf16_kernel<WT>(sh, swiglu, p.norm != nullptr);
    if (p.count == 3 && c.qkv_cap > 0)
      l.smem = smem_for_at_most(reinterpret_cast<const void*>(l.kernel), int(l.block.x), c.qkv_cap, smem);
  } else {
    l.kernel = gemv_kernel<WT, 1, 1, 16, false>;
  }
  return l;
}

// False, with nothing launched, where the plan has no kernel (gemv_argmax's shapes only).
template <typename WT>
bool run(const Ctx& c, GemvParams p, bool swiglu) {
  const GemvLaunch l = plan<WT>(c, p, swiglu);
  if (!l.kernel) return false;
  p.trace = trace_slot(c.trace, swiglu ? "gemv gate/up" : p.count == 3 ? "gemv q/k/v" : "gemv", l.grid.x);
  launch(c, "matmul (gemv)", l.grid, l.block, l.smem, l.kernel, p);
  return true;
}

GemvParams gemv_params(const float* x, int n, const Weight* norm, float eps, const MatmulOut* outs, int count,
                       bool accumulate) {
  GemvParams p = {};
  p.x = x;
  p.n = n;
  p.cols = int(outs[0].w->cols);
  p.accumulate = accumulate ? 1 : 0;
  p.norm = norm ? norm->data : nullptr;
  p.norm_dtype = norm ? norm->dtype : DType::F32;
  p.eps = eps;
  p.count = count;
  for (int j = 0; j < count; ++j) {
    p.w[j] = outs[j].w->data;
    p.bias[j] = outs[j].bias ? outs[j].bias->data : nullptr;
    p.bias_dtype[j] = outs[j].bias ? outs[j].bias->dtype : DType::F32;
    p.out[j] = outs[j].out;
    p.rows[j] = int(outs[j].w->rows);
  }
  return p;
}

}  // namespace

bool gemv_ok(const float* x, const Weight& w) {
  const int64_t e = 16 / int64_t(dtype_size(w.dtype));
  return aligned16(x) && aligned16(w.data) && w.cols % e == 0 && w.cols % 4 == 0;
}

void gemv(const Ctx& c, const float* x, int n, const Weight* norm, float eps, const MatmulOut* outs, int count,
          bool swiglu, bool accumulate) {
  const GemvParams p = gemv_params(x, n, norm, eps, outs, count, accumulate);
  switch (outs[0].w->dtype) {
    case DType::BF16: run<__nv_bfloat16>(c, p, swiglu); break;
    case DType::F16: run<__half>(c, p, swiglu); break;
    case DType::F32: run<float>(c, p, swiglu); break;
  }
}

bool gemv_argmax(const Ctx& c, const float* x, const Weight& norm, float eps, const MatmulOut& out,
                 unsigned long long* keys) {
  if (out.w->dtype != DType::BF16) return false;
  GemvParams p = gemv_params(x, 1, &norm, eps, &out, 1, false);
  p.argmax_keys = keys;
  return run<__nv_bfloat16>(c, p, false);
}

int qkv_gemv_blocks_per_sm(const Ctx& c, int cols, int q_rows, int kv_rows) {
  alignas(16) static const uint16_t kNorm[8] = {};  // only its address is used: the plan stages a norm of `cols`
  GemvParams p = {};
  p.n = 1;
  p.cols = cols;
  p.norm = kNorm;
  p.norm_dtype = DType::BF16;
  p.count = 3;
  p.rows[0] = q_rows, p.rows[1] = p.rows[2] = kv_rows;
  const GemvLaunch l = plan<__nv_bfloat16>(c, p, false);
  int fit = 0;
  FS_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, l.kernel, int(l.block.x), l.smem));
  return fit;
}

}  // namespace fs::cuda

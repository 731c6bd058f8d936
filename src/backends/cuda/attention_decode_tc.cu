// attention, decode path on the tensor cores: the same function and the same splits as attention.cu,
//     out[h] = Σ_{p <= pos} softmax_p(q[h] · K[p, kvh] / √D) · V[p, kvh]
// for one query token, a bf16 cache and head_dim D = 64 or 128, with the G <= 8 query heads of a kv head as the
// rows of an mma.sync m16n8k16 product (rows G..15 are zero).      q, out [n_heads · D] f32; K, V [capacity, kv_dim]
//
// Why: the SIMT kernel spends D multiply-adds per position per query head on the CUDA cores, plus the shuffles of
// its dot products; with 4 heads per kv head (Llama 3) it stays near a third of the copy bandwidth at 16k because
// it runs out of instructions and registers, not bytes. An m16n8k16 mma does 16 × 8 × 16 of them in one
// instruction, even with 14 of its 16 rows empty.
//
// No shared memory for K and V: every lane loads 16-byte pieces of cache rows straight into the registers that
// the mma reads. That needs two reorderings, both free because a sum does not care about order:
//   * S = Q·Kᵀ sums over the D dims. mma's B fragment wants lane (g, t) — g = lane/4, t = lane%4 — to hold dims
//     {2t, 2t+1} and {2t+8, 2t+9} of key g in each 16-dim step. Instead lane (g, t) loads dims 32c + 8t .. +7 of
//     key g (one 16-byte load) and uses its 4 words as the B registers of steps 2c and 2c+1; q's A fragment is
//     loaded with the same permutation, so the products pair up the same dims.
//   * O = P·V sums over positions, with B[k = position][n = dim]: lane (g, t) must hold two positions of one
//     dim per register. It loads positions 2t, 2t+1, 2t+8, 2t+9 of a 16-position step, dims 64h + 8g .. +7
//     (16 bytes each), and pairs the halves of two rows with a byte permute: its column g of output tile (h, j)
//     is dim 64h + 8g + j. The accumulators' columns 2t, 2t+1 of tile (h, j) are then dims 64h + 16t + j and
//     64h + 16t + 8 + j, which is where they are written out.
//   P goes from the S accumulators to A fragments in registers (the C layout of two n8 tiles is the A layout of one
//   k16 step), as in attention_prefill.cu. Softmax is f32 (exp2 with the scale folded in); q and P are rounded to
//   bf16 (2⁻⁹ each), so this kernel is held to the prefill tensor-core tolerance, not to f32 rounding.
//
// Each warp walks 16-position steps of its block's split (steps w, w + 8, …), with the next step's 16-byte loads
// in flight while this one is computed; the 8 warps' states merge in shared memory and the splits combine
// through attention_splits.cuh, exactly as the SIMT kernel's.
//
// The fused form (qk_norm_rope_attention, TcParams::rope_freq set) also does qk_norm_rope_store.cu's work for the
// token: each block normalises and rotates its G query heads in registers (a lane's dims 32c + 8t .. +7: the sum
// of squares is a sum over the quad; RoPE's partner d + D/2 is piece c + D/64 of the same lane), and in the block
// whose split holds position P = pos, warp 0 makes P's K/V row and stores it to the cache and to shared memory
// (the K row in the same pass as q, on the lanes of an empty mma row: see below).
// cos/sin(P · inv_freq) and the norm weights are per-block shared tables: computed per lane (16 exact sincosf
// with large angles, 64 scalar weight loads) they made the fused kernel slower than two kernels.
//
// Where the latency goes at short context (128 positions: ~4 µs for a 0.5 MB cache): a chain of dependent memory
// round trips. So the fused form splits the work at grid_dep_wait() (common.cuh) by who wrote the data:
//     before — pos (the host's), the tables (weights), and the cache rows before P (earlier steps wrote them);
//     after  — q and the new k, v (the GEMV just before wrote them), in one round trip together;
// row P never goes through memory inside the kernel: the warp whose step holds it copies it from shared memory
// into its registers. Measured on an H200: Qwen3-0.6B tg128 1,114 → 1,146 tok/s, Llama-3.2-1B 936 → 948
// (medians of three rounds in one call, 2026-11-26). The unfused form reads the whole split after the wait: its
// row P comes from the kernel before (kv_store).
#include "backends/cuda/attention_splits.cuh"

namespace fs::cuda {
namespace {

// 8 warps, one block per SM (255 registers a thread): against 4 warps and two blocks per SM, the one-wave cap
// gives half the splits, each twice as long, so the merge has half the partials and each warp still gets two
// steps of 16 positions at 4k. H200, same call: tg @4k 947 → 1,006 (Qwen3-0.6B), 856 → 889 (Llama-3.2-1B);
// @16k 714 → 743, 784 → 816; tg128 unchanged.
constexpr int kWarps = 8;
constexpr int kGroup = 8;  // query heads per kv head, at most (rows g of the mma; g + 8 stay empty)
constexpr int kStep = 16;  // positions per warp step: one k16 step of P·V
static_assert(kWarps * 32 >= 128, "thread j < D loads entry j of the block's tables");

struct TcParams : DecodeAttnArgs {
  uint16_t* k;  // the cache
  uint16_t* v;
  // The fused form (qk_norm_rope_attention), when rope_freq is set: q and k_new arrive before QK-norm and RoPE,
  // and this kernel also writes position pos's K and V rows.
  const float* rope_freq;            // [D / 2]
  const float *k_new, *v_new;        // [n_kv_heads · D]
  DecodeVec q_norm, k_norm;          // p null: no QK-norm
  float eps;
  unsigned long long* trace;  // launch_trace.h: null unless a decode step is being traced
};

// QK-norm and RoPE of one head row, with qk_norm_rope_store.cu's formulas (its sum of squares in another order),
// on the lane's dims x[c][e] = dim 32c + 8t + e (c < D/32): the head's sum of squares is a sum over the quad of
// lanes that share the row; RoPE pairs dim d with d + D/2, which is c + D/64 in the same lane. w: this lane's norm
// weight (null: none for its row); any_norm: whether some lane of the warp has one (the shuffles need every lane);
// cs, sn: cos/sin(pos · inv_freq[j]), j < D/2 — all in the block's shared memory.
template <int D>
__device__ __forceinline__ void norm_rope(float (&x)[D / 32][8], const float* w, bool any_norm, float eps,
                                          const float* cs, const float* sn, int t) {
  constexpr int KC = D / 32;
  if (any_norm) {
    float ss = 0.f;
#pragma unroll
    for (int c = 0; c < KC; ++c)
#pragma unroll
      for (int e = 0; e < 8; ++e) ss += x[c][e] * x[c][e];
    ss += __shfl_xor_sync(0xffffffffu, ss, 1);
    ss += __shfl_xor_sync(0xffffffffu, ss, 2);
    if (w) {
      const float inv = 1.f / sqrtf(ss / float(D) + eps);
#pragma unroll
      for (int c = 0; c < KC; ++c)
#pragma unroll
        for (int e = 0; e < 8; ++e) x[c][e] = (x[c][e] * inv) * w[32 * c + 8 * t + e];
    }
  }
#pragma unroll
  for (int c = 0; c < KC / 2; ++c)
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int j = 32 * c + 8 * t + e;
      const float a = x[c][e], b = x[c + KC / 2][e];
      x[c][e] = a * cs[j] - b * sn[j];
      x[c + KC / 2][e] = b * cs[j] + a * sn[j];
    }
}

// 8 consecutive floats (16-byte aligned) into x.
__device__ __forceinline__ void load8(float (&x)[8], const float* src) {
  const float4 a = reinterpret_cast<const float4*>(src)[0], b = reinterpret_cast<const float4*>(src)[1];
  x[0] = a.x, x[1] = a.y, x[2] = a.z, x[3] = a.w, x[4] = b.x, x[5] = b.y, x[6] = b.z, x[7] = b.w;
}

// One warp step's cache data in registers: K for 2 n8 tiles of keys × D/32 16-byte pieces, V for 4 positions ×
// D/64 pieces.
template <int D>
struct StepRegs {
  uint4 k[2][D / 32];
  uint4 v[D / 64][4];
};

// Word i of a 16-byte piece (i a compile-time constant after unrolling: the registers stay registers).
__device__ __forceinline__ uint32_t word(const uint4& u, int i) {
  return i == 0 ? u.x : i == 1 ? u.y : i == 2 ? u.z : u.w;
}

// kFused: the fused form (rope_freq set). kFullGroup: G = kGroup, no mma row is empty, and warp 0 makes row P's K
// in a second pass. launch_tc picks the instance.
template <int D, bool kFused, bool kFullGroup>
__global__ void __launch_bounds__(kWarps * 32, 1) attn_decode_tc_kernel(const __grid_constant__ TcParams p) {
  constexpr int KC = D / 32;  // 16-byte K pieces per key per lane
  constexpr int VH = D / 64;  // 16-byte V pieces per position per lane
  constexpr int DT = D / 8;   // n8 output tiles
  constexpr int kStride = kWarps * kStep;
  __shared__ float sm_m[kWarps][kGroup], sm_l[kWarps][kGroup];
  __shared__ float sm_o[kWarps][kGroup][D];
  __shared__ float sm_cos[D / 2], sm_sin[D / 2], sm_qn[D], sm_kn[D];
  __shared__ uint4 sm_row[2][D / 8];  // the fused form: position P's new K and V rows, bf16
  grid_dep_launch();
  trace_start(p.trace);

  const int kvh = blockIdx.x, s = blockIdx.y;  // launch_tc says why in this order
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int G = p.n_heads / p.n_kv_heads;
  constexpr bool fused = kFused;
  const uint16_t* K = p.k + size_t(kvh) * D;
  const uint16_t* V = p.v + size_t(kvh) * D;

  // Before the previous kernel has finished, only what no kernel of this step writes: the position (the host's
  // input), the RoPE and norm tables, and in the fused form the cache rows before P (earlier steps wrote them; row
  // P is this kernel's own: ops.h states the contract). At short contexts this is most of the kernel's latency.
  // The tables' inputs first, beside pos: they do not depend on it, and loaded after it (as the split's bounds
  // are) they were a second round trip to memory in a row, on the critical path whenever the block starts late.
  // Thread j < D loads entry j (the block has 256 threads; D <= 128).
  const int j0 = threadIdx.x;
  float freq_j = 0.f, qn_j = 0.f, kn_j = 0.f;
  if (fused && j0 < D) {
    if (j0 < D / 2) freq_j = p.rope_freq[j0];
    if (p.q_norm.p) qn_j = load_f32(p.q_norm.p, p.q_norm.t, j0);
    if (p.k_norm.p) kn_j = load_f32(p.k_norm.p, p.k_norm.t, j0);
  }
  const int P = p.pos[0];
  const bool bad = P < 0 || P >= p.capacity;
  const int L = P + 1, chunk = bad ? 1 : split_chunk(L, p.splits.max_splits), S = bad ? 0 : (L + chunk - 1) / chunk;
  const int p0 = s * chunk, p1 = min(L, p0 + chunk);

  // One warp step's cache rows [pb, pb + 16) below `end` (the rest load as zeros: the cache there may hold
  // anything, NaN included, and 0 · NaN would poison the products).
  auto load = [&](StepRegs<D>& r, int pb, int end) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int key = pb + 8 * j + g;
#pragma unroll
      for (int c = 0; c < KC; ++c)
        r.k[j][c] = key < end ? *reinterpret_cast<const uint4*>(K + size_t(key) * p.kv_dim + 32 * c + 8 * t)
                              : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = pb + 2 * t + (e & 1) + 8 * (e >> 1);
#pragma unroll
      for (int h = 0; h < VH; ++h)
        r.v[h][e] = key < end ? *reinterpret_cast<const uint4*>(V + size_t(key) * p.kv_dim + 64 * h + 8 * g)
                              : make_uint4(0, 0, 0, 0);
    }
  };
  // Warp w walks steps pb, pb + kStride, ... of the split; ra and rb hold two of them.
  StepRegs<D> ra, rb;
  int pb = p0 + warp * kStep;
  if (fused && s < S) {
    const int early_end = min(p1, P);  // rows before P; row P comes from shared memory below
    if (pb < p1) load(ra, pb, early_end);
    if (pb + kStride < p1) load(rb, pb + kStride, early_end);
    // The block's tables, once (sincosf with a large angle takes the slow, exact range reduction, and the norm
    // weights are scalar loads: measured, doing both per lane made the fused kernel slower than two kernels).
    if (j0 < D) {
      if (j0 < D / 2) sincosf(float(P) * freq_j, &sm_sin[j0], &sm_cos[j0]);
      if (p.q_norm.p) sm_qn[j0] = qn_j;
      if (p.k_norm.p) sm_kn[j0] = kn_j;
    }
  }
  grid_dep_wait();
  trace_wait(p.trace);
  if (bad) {
    if (s == 0 && kvh == 0 && threadIdx.x == 0) atomicOr(p.err, kErrPosition);
    trace_end(p.trace);
    return;
  }
  if (s >= S) return trace_end(p.trace);
  __syncthreads();  // the tables
  FS_TRACE_PHASE(p.trace, 0);

  // q as A fragments (row g = query head kvh·G + g; rows g + 8 empty), dims permuted as K's pieces: lane (g, t)
  // holds dims 32c + 8t .. +7 of its row (QK-norm and RoPE applied here in the fused form). In the split that holds
  // P, warp 0 also makes the new K and V rows and stores them, to the cache and to shared memory; their loads are in
  // flight together with q's. Where the mma has an empty row (G < 8), the lanes of quad G carry the K row through
  // the same pass as q, with the K norm weight (a row's norm is a sum over its quad), instead of a copy of a q row.
  // As a second pass after q, the K row's QK-norm and RoPE lengthened warp 0's chain while the other 7 warps waited
  // for row P (phase stamps: q, k, v in registers 0.2 µs after the wait, q's fragments 1.8 µs). H100, same call:
  // Qwen3-0.6B tg128 1,487 → 1,505 tok/s, @4k 1,051 → 1,047; Llama-3.2-1B (RoPE only) 1,016 → 1,012, 896 → 894
  // (ninth session, part 14). With G = 8 there is no empty row, and warp 0 makes K in a second pass.
  uint32_t qa[D / 16][4];
  {
    const bool makes_row = fused && s == S - 1 && warp == 0;
    const bool k_lane = makes_row && !kFullGroup && g == G;  // x holds row P's K, not q
    const bool second_pass = makes_row && kFullGroup;        // warp-uniform
    const bool stores = k_lane || (second_pass && g == 0);  // the 4 lanes that store row P
    const bool any_norm = p.q_norm.p || p.k_norm.p;
    const float* const qn = p.q_norm.p ? sm_qn : nullptr;
    const float* const kn = p.k_norm.p ? sm_kn : nullptr;
    const float* const k_new = makes_row ? p.k_new + size_t(kvh) * D : nullptr;
    float x[KC][8];
    const float* src = k_lane ? k_new : p.q + size_t(kvh * G + min(g, G - 1)) * D;
#pragma unroll
    for (int c = 0; c < KC; ++c) load8(x[c], src + 32 * c + 8 * t);
    uint4 vv[KC];  // row P's V, packed to bf16 (no norm, no rotation)
    if (stores) {
#pragma unroll
      for (int c = 0; c < KC; ++c) {
        float v8[8];
        load8(v8, p.v_new + size_t(kvh) * D + 32 * c + 8 * t);
        vv[c] = make_uint4(pack_bf16(v8[0], v8[1]), pack_bf16(v8[2], v8[3]), pack_bf16(v8[4], v8[5]),
                           pack_bf16(v8[6], v8[7]));
      }
    }
    auto store_row = [&](const float (&k)[KC][8]) {
#pragma unroll
      for (int c = 0; c < KC; ++c) {
        const uint4 kk = make_uint4(pack_bf16(k[c][0], k[c][1]), pack_bf16(k[c][2], k[c][3]),
                                    pack_bf16(k[c][4], k[c][5]), pack_bf16(k[c][6], k[c][7]));
        const size_t at = size_t(P) * p.kv_dim + size_t(kvh) * D + 32 * c + 8 * t;
        *reinterpret_cast<uint4*>(p.k + at) = kk, *reinterpret_cast<uint4*>(p.v + at) = vv[c];
        sm_row[0][4 * c + t] = kk, sm_row[1][4 * c + t] = vv[c];
      }
    };
    if (second_pass) {
      float kx[KC][8];
#pragma unroll
      for (int c = 0; c < KC; ++c) load8(kx[c], k_new + 32 * c + 8 * t);
      norm_rope<D>(kx, kn, any_norm, p.eps, sm_cos, sm_sin, t);
      if (stores) store_row(kx);
    }
    if (fused) norm_rope<D>(x, k_lane ? kn : qn, any_norm, p.eps, sm_cos, sm_sin, t);
    if (k_lane) store_row(x);
#pragma unroll
    for (int c = 0; c < KC; ++c)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const float* a = &x[c][4 * half];
        qa[2 * c + half][0] = g < G ? pack_bf16(a[0], a[1]) : 0u;
        qa[2 * c + half][1] = 0u;
        qa[2 * c + half][2] = g < G ? pack_bf16(a[2], a[3]) : 0u;
        qa[2 * c + half][3] = 0u;
      }
  }
  FS_TRACE_PHASE(p.trace, 1, qa[0][0] ^ qa[D / 16 - 1][2]);
  // The rows not loaded early: in the fused form only row P, taken from shared memory into the registers whose
  // key it is (K piece c of lane (g, t) is dims 32c + 8t: uint4 4c + t of the row; V piece h is dims 64h + 8g);
  // otherwise the whole split, read now that the kernel before (the cache store) has finished.
  auto patch = [&](StepRegs<D>& r, int pb) {
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int c = 0; c < KC; ++c)
        if (pb + 8 * j + g == P) r.k[j][c] = sm_row[0][4 * c + t];
#pragma unroll
    for (int e = 0; e < 4; ++e)
#pragma unroll
      for (int h = 0; h < VH; ++h)
        if (pb + 2 * t + (e & 1) + 8 * (e >> 1) == P) r.v[h][e] = sm_row[1][8 * h + g];
  };
  if (fused) {
    if (s == S - 1) {
      __syncthreads();  // row P in shared memory
      if (pb <= P && P < pb + kStep) patch(ra, pb);
      if (pb + kStride <= P && P < pb + kStride + kStep) patch(rb, pb + kStride);
    }
  } else {
    if (pb < p1) load(ra, pb, p1);
    if (pb + kStride < p1) load(rb, pb + kStride, p1);
  }

  FS_TRACE_PHASE(p.trace, 2);
  const float sl2 = p.scale * 1.4426950408889634f;  // e^(x · scale) = 2^(x · sl2)
  float o[DT][4];
#pragma unroll
  for (int j = 0; j < DT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float m = -INFINITY, l = 0.f;  // running max (raw score) and this lane's share of the sum, row g

  auto consume = [&](const StepRegs<D>& r, int base) {
    float sc[2][4];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
#pragma unroll
      for (int c = 0; c < KC; ++c) {
        mma_bf16(sc[j], qa[2 * c], r.k[j][c].x, r.k[j][c].y);
        mma_bf16(sc[j], qa[2 * c + 1], r.k[j][c].z, r.k[j][c].w);
      }
    }
    // Row g's scores: positions base + 8j + 2t + e in sc[j][e]. The quad's 16 include `base`, always valid.
    float mt = -INFINITY;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        if (base + 8 * j + 2 * t + e >= p1) sc[j][e] = -INFINITY;
        mt = fmaxf(mt, sc[j][e]);
      }
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 2));
    const float mn = fmaxf(m, mt), ref = mn * sl2;
    const float corr = exp2f(m * sl2 - ref);  // 0 on the first step (m = -inf)
    m = mn;
    float w[2][2], ls = 0.f;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) ls += (w[j][e] = exp2f(fmaf(sc[j][e], sl2, -ref)));
    l = l * corr + ls;
    const uint32_t pa[4] = {pack_bf16(w[0][0], w[0][1]), 0u, pack_bf16(w[1][0], w[1][1]), 0u};
#pragma unroll
    for (int h = 0; h < VH; ++h)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        // dim 64h + 8g + j of positions (2t, 2t+1) and (2t+8, 2t+9): halves j%2 of words j/2 of two rows
        const uint32_t sel = j & 1 ? 0x7632u : 0x5410u;
        const uint32_t b0 = __byte_perm(word(r.v[h][0], j / 2), word(r.v[h][1], j / 2), sel);
        const uint32_t b1 = __byte_perm(word(r.v[h][2], j / 2), word(r.v[h][3], j / 2), sel);
        float* acc = o[8 * h + j];
        acc[0] *= corr, acc[1] *= corr;
        mma_bf16(acc, pa, b0, b1);
      }
  };

  // Each round consumes ra and rb and loads the steps after them, so one step's loads are in flight while the
  // other is computed.
  for (; pb < p1; pb += 2 * kStride) {
    consume(ra, pb);
    if (pb + 2 * kStride < p1) load(ra, pb + 2 * kStride, p1);
    if (pb + kStride >= p1) break;
    consume(rb, pb + kStride);
    if (pb + 3 * kStride < p1) load(rb, pb + 3 * kStride, p1);
  }

  FS_TRACE_PHASE(p.trace, 3, __float_as_uint(o[0][0]) ^ __float_as_uint(o[DT - 1][1]));
  // This warp's state into shared memory (m in units of the scaled score, as store_split_result expects).
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  if (g < G) {
    if (t == 0) sm_m[warp][g] = m * p.scale, sm_l[warp][g] = l;
#pragma unroll
    for (int h = 0; h < VH; ++h)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        sm_o[warp][g][64 * h + 16 * t + j] = o[8 * h + j][0];
        sm_o[warp][g][64 * h + 16 * t + 8 + j] = o[8 * h + j][1];
      }
  }
  __syncthreads();
  FS_TRACE_PHASE(p.trace, 4);
  store_split_result<kWarps>(p.splits, &sm_m[0][0], &sm_l[0][0], &sm_o[0][0][0], kGroup, D, G, D, p.n_heads, 0,
                             kvh * G, s, S == 1, p.out);
  if (S == 1) return trace_end(p.trace);
  combine_splits_if_last(p.splits, p.n_heads, p.n_kv_heads, 0, kvh, G, D, S, p.out);
  trace_end(p.trace);
}

template <int D, bool kFused, bool kFullGroup>
void launch_tc(const Ctx& c, const TcParams& p0) {
  TcParams p = p0;
  const auto kernel = attn_decode_tc_kernel<D, kFused, kFullGroup>;
  p.splits.max_splits = splits_in_one_wave(reinterpret_cast<const void*>(kernel), kWarps * 32, c.sms,
                                          p.splits.max_splits, p.n_kv_heads);
  p.trace = trace_slot(c.trace, "attention", unsigned(p.splits.max_splits * p.n_kv_heads));
  // Blocks are handed to the SMs in the order of their linear index, x fastest. With the kv head as x, the first
  // split of every head comes first: at short context those 8 are the only blocks with work (the rest see s >= S
  // and leave), and each of them takes a whole SM, which frees only as the GEMV before drains. In the other order
  // the working blocks were 0, 16, 32, ..., the last of them queued behind 112 others. H100, same call: tg128
  // Qwen3-0.6B 1,265 → 1,298 tok/s, Llama-3.2-1B 947 → 983 (2026-11-26, eighth session).
  launch(c, "attention (decode, tensor cores)", dim3(p.n_kv_heads, p.splits.max_splits), dim3(kWarps * 32), 0,
         kernel, p);
}

// One kernel per form — unfused, fused with an empty mma row for the new K row, fused with a second pass (G = 8) —
// so that none carries another form's code: this kernel's time moves with code that does not run (twelfth session:
// ~260 never-executed instructions added before its wait made it ~1 us a layer slower). H100, same call, three
// rounds, against one kernel with runtime branches: Qwen3-0.6B tg128 1,504-1,505 -> 1,501-1,504 tok/s, @4k
// 1,043-1,044 -> 1,049-1,050, @16k 714-715 -> 720-721; Llama-3.2-1B 1,012-1,014 -> 1,016-1,020, @4k 894-895 ->
// 897-898, @16k 801-802 -> 802-803 (session 12 log, part 8).
template <int D>
void launch_tc(const Ctx& c, const TcParams& p) {
  if (!p.rope_freq) launch_tc<D, false, false>(c, p);
  else if (p.n_heads / p.n_kv_heads == kGroup) launch_tc<D, true, true>(c, p);
  else launch_tc<D, true, false>(c, p);
}

}  // namespace

bool attention_decode_tc_ok(const float* q, const KvLayer& cache, int n, int n_heads, int n_kv_heads,
                            int head_dim) {
  return n == 1 && aligned16(q) && cache.dtype == DType::BF16 && (head_dim == 64 || head_dim == 128) &&
         n_heads / n_kv_heads <= kGroup && n_heads <= kMaxHeads && n_kv_heads <= kMaxKvHeads &&
         n_heads * head_dim <= kMaxQDim && cache.kv_dim % 8 == 0 && aligned16(cache.k) && aligned16(cache.v);
}

void attention_decode_tc(const Ctx& c, const Workspace& ws, const float* q, const KvLayer& cache,
                         const int32_t* pos, int n_heads, int n_kv_heads, int head_dim, float* out,
                         const DecodeTcRope* rope) {
  TcParams p{};
  if (rope) {
    p.rope_freq = rope->inv_freq;
    p.k_new = rope->k;
    p.v_new = rope->v;
    p.q_norm = rope->q_norm;
    p.k_norm = rope->k_norm;
    p.eps = rope->eps;
  }
  set_decode_attn_args(p, c, ws, q, cache, pos, n_heads, n_kv_heads, head_dim, out);
  p.k = static_cast<uint16_t*>(cache.k);
  p.v = static_cast<uint16_t*>(cache.v);
  if (head_dim == 64) launch_tc<64>(c, p);
  else launch_tc<128>(c, p);
}

}  // namespace fs::cuda

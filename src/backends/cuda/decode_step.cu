// decode_step (fused, persistent): the whole single-token forward pass — embedding, every layer, the lm head — as
// ONE kernel launch. One block per SM stays resident for the whole step; the layers' ops become phases separated by
// grid-wide barriers:
//
//   per layer:  QKV    act = rmsnorm(x);  q, k, v rows = W_{q,k,v} · act (+ bias)          (rows split over blocks)
//               ── barrier ──
//               ATTN   block (kv head, split): QK-norm + RoPE of its q heads (and of the new k, stored with v in
//                      the cache), flash-decoding over its positions, the last split merges (attention_splits.cuh)
//               ── barrier ──
//               O      x[r] += W_o[r] · attn                                             (each x row has one owner)
//               ── barrier ──
//               GATEUP act = rmsnorm(x);  h[r] = silu(W_g[r] · act) · (W_u[r] · act)
//               ── barrier ──
//               DOWN   x[r] += W_d[r] · h
//               ── barrier ──
//   finally:    LM     act = rmsnorm(x);  logits[r] = W_lm[r] · act
//
// Why. The op-by-op decode is ~170 kernels per step, and each small kernel costs more than its bytes (launch tail,
// ramp-up, drain): 31% (Qwen3-0.6B) / 51% (Llama-3.2-1B) of copy bandwidth. Here the weights — which nothing
// writes, so they never wait for a barrier — stream without a break: each block walks a fixed list of weight
// chunks (its rows of every matrix, layer after layer, up to 64 KB each) through a ring of shared-memory stages
// filled by the bulk-copy engine (cp.async.bulk, completing on the stage's `full` mbarrier). While a block waits at
// a barrier or computes attention, the next phases' weights keep arriving:
//
//      HBM ──bulk copy──▶ [stage 0][stage 1] ... [stage S-1] ──▶ 8 warps: dot products from shared memory
//                          ▲ chunk c+S, issued by warp c % 8 once all 8 warps have signalled `empty` for chunk c
//
//   * rows of a matrix are split evenly over the blocks ([R·b/B, R·(b+1)/B)); a block's rows are contiguous, so a
//     chunk is one bulk copy (two for gate/up, paired row by row); the row ranges, the layer table and two
//     layers' norm weights live in shared memory, so walking the list never waits on global memory;
//   * a block owns the rows of x it writes in the o and down phases and keeps them in shared memory;
//   * the grid barrier is one counter: each block adds 1 and waits until it reaches base + k·B (release/acquire
//     at GPU scope). The host advances `base` by the step's barrier count after each launch, so it never resets;
//   * activations crossing blocks are read with ld.global.cg (L2), never from a possibly stale L1.
// Math and rounding follow the op-by-op path (f32 activations, f32 dot products of bf16 weights, bf16 KV cache);
// the tests hold it to the op path and to the CPU oracle.
//
// Status: opt-in (CudaOptions::persistent, FS_CUDA_ENABLE=persistent), because it is measured SLOWER than the
// op-by-op decode on both target models (H200, sixth session: Qwen3-0.6B 881 vs 1,317 tok/s, Llama-3.2-1B 727
// vs 994). The weights stream at 2.8–3.4 TB/s inside the phases, but the chain of stalls between them — five grid
// barriers per layer (~1.5–2 µs each), the attention phase, the norms — costs 22–33 µs per layer and the ring (2–3
// stages of 64 KB) cannot hide that much. FS_STEP_TRACE=N prints where step N's time goes; docs/cuda-backend.md, section 7.
#include "backends/cuda/attention_splits.cuh"
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kThreads = kDecodeStepThreads;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxChunkRows = 32;    // rows per chunk (tiny models: many short rows fit a stage)
constexpr int kAttnMinChunk = 64;    // fewest positions an attention split covers
constexpr int kMaxOwnRows = kDecodeMaxOwnRows;

enum Phase { kQkv = 0, kO = 1, kGateUp = 2, kDown = 3, kLm = 4, kPhasesPerLayer = 4 };

// ---- grid barrier ----
__device__ __forceinline__ unsigned ld_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void grid_barrier(unsigned* counter, unsigned target) {
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(counter, 1u);
    while (int(ld_acquire(counter) - target) < 0) {
    }
    __threadfence();
  }
  __syncthreads();
}

// ---- the chunk list ----
// A block's weights for one step are 6 segments per layer — its rows of q, k, v, o, gate (+ up, paired) and down —
// and then its rows of the lm head. Every layer has the same row ranges, so they are worked out once per launch
// (Plan, in shared memory); a chunk is up to `rpc` consecutive rows of one segment.
enum Seg { kSegQ = 0, kSegK, kSegV, kSegO, kSegGateUp, kSegDown, kSegsPerLayer, kSegLm = kSegsPerLayer };

__device__ __forceinline__ int phase_of(int seg) {
  return seg <= kSegV ? kQkv : seg == kSegO ? kO : seg == kSegGateUp ? kGateUp : seg == kSegDown ? kDown : kLm;
}

struct Plan {
  int lo[7], hi[7];  // this block's rows [lo, hi) of each segment
  int rpc[7];        // rows per chunk
  int cols[7];
};

__device__ __forceinline__ int range_begin(int rows, int b, int blocks) { return int(int64_t(rows) * b / blocks); }

__device__ void make_plan(const DecodeStepParams& p, Plan& pl) {  // one thread
  const int b = blockIdx.x, B = gridDim.x;
  const int rows[7] = {p.q_dim, p.kv_dim, p.kv_dim, p.hidden, p.inter, p.hidden, p.vocab};
  const int cols[7] = {p.hidden, p.hidden, p.hidden, p.q_dim, p.hidden, p.inter, p.hidden};
  for (int g = 0; g < 7; ++g) {
    pl.lo[g] = range_begin(rows[g], b, B);
    pl.hi[g] = range_begin(rows[g], b + 1, B);
    pl.cols[g] = cols[g];
    const int pair = g == kSegGateUp ? 2 : 1;  // gate/up: both rows in the same stage
    pl.rpc[g] = min(kMaxChunkRows, p.stage_bytes / (cols[g] * 2 * pair));
  }
}

// The matrix (and for gate/up, the paired up matrix) of a segment in a layer.
__device__ __forceinline__ const uint16_t* seg_matrix(const DecodeStepParams& p, const DecodeLayerPtrs& L, int seg) {
  switch (seg) {
    case kSegQ: return L.q;
    case kSegK: return L.k;
    case kSegV: return L.v;
    case kSegO: return L.o;
    case kSegGateUp: return L.gate;
    case kSegDown: return L.down;
    default: return p.lm_head;
  }
}

// Rows [row, row + n) of segment seg of layer (layer == n_layers: the lm head).
struct Chunk {
  int layer, seg, row, n;
};
struct Cursor {
  int layer = 0, seg = 0, row = -1;  // row -1: the start of the segment's range
};

// The next chunk of this block's list, in the order the phases consume them. False at the end.
__device__ __forceinline__ bool next_chunk(const DecodeStepParams& p, const Plan& pl, Cursor& c, Chunk& out) {
  while (c.layer <= p.n_layers) {
    const int g = c.layer == p.n_layers ? kSegLm : c.seg;
    if (c.row < 0) c.row = pl.lo[g];
    if (c.row < pl.hi[g]) {
      out = {c.layer, g, c.row, min(pl.rpc[g], pl.hi[g] - c.row)};
      c.row += out.n;
      return true;
    }
    c.row = -1;
    if (g == kSegLm || ++c.seg == kSegsPerLayer) c.seg = 0, ++c.layer;
  }
  return false;
}

// The ring of stages. Chunk number i of the list lives in stage i % stages; one lane issues its copy (one
// cp.async.bulk per matrix, completing on the stage's mbarrier): thread 0 for the first `stages` chunks, then lane
// 0 of the warp that finished with the stage (run_phase).
struct Ring {
  uint8_t* stages;
  uint64_t* full;
  int count, bytes;
  Cursor producer;  // every thread walks it (so any warp can issue); one lane issues
  int issued = 0;

  // The next chunk of the list and its stage; false once the list is done. Call from every thread, in step.
  __device__ bool next(const DecodeStepParams& p, const Plan& pl, Chunk& ch, int& slot) {
    if (!next_chunk(p, pl, producer, ch)) return false;
    slot = issued++ % count;
    return true;
  }
  // One lane: the copy of chunk ch into stage slot.
  __device__ void issue(const DecodeStepParams& p, const Plan& pl, const DecodeLayerPtrs* layers, const Chunk& ch,
                        int slot) {
    const DecodeLayerPtrs& L = layers[min(ch.layer, p.n_layers - 1)];
    const size_t offset = size_t(ch.row) * pl.cols[ch.seg];
    const unsigned n_bytes = unsigned(pl.cols[ch.seg]) * 2 * unsigned(ch.n);
    uint8_t* dst = stages + size_t(slot) * bytes;
    const bool paired = ch.seg == kSegGateUp;
    mbar_expect_tx(&full[slot], paired ? 2 * n_bytes : n_bytes);
    bulk_load(dst, seg_matrix(p, L, ch.seg) + offset, n_bytes, &full[slot]);
    if (paired) bulk_load(dst + n_bytes, L.up + offset, n_bytes, &full[slot]);
  }
};

// ---- dot products of one chunk ----
// A warp takes two rows at a time (gate/up: the gate and the up row of one index) so that each activation load
// from shared memory serves both; a lane reads 4 bf16 (8 bytes) of each row and the 4 matching activations
// (16 bytes) per step, consecutive across the warp, so neither read has bank conflicts. When a chunk has fewer
// row pairs than warps, several warps share a pair, each taking a slice of the columns.
__device__ __forceinline__ float dot4(const uint2& w, const float4& a) {
  return fmaf(bf16_hi(w.y), a.w, fmaf(bf16_lo(w.y), a.z, fmaf(bf16_hi(w.x), a.y, bf16_lo(w.x) * a.x)));
}

// Row pairs of a chunk of n rows (gate/up: n gate rows and n up rows), and warps per pair.
__device__ __forceinline__ int chunk_pairs(int n, bool paired) { return paired ? n : (n + 1) / 2; }
__device__ __forceinline__ int warps_per_pair(int pairs) {
  return pairs >= kWarps ? 1 : pairs >= 4 ? 2 : pairs >= 2 ? 4 : 8;
}

// part[r · wpp + seg] = warp slice seg's share of row r (gate/up: part[kMaxChunkRows + r · wpp + seg] for up row r).
template <bool PAIRED>
__device__ void chunk_dots(const uint16_t* rows, int n, int cols, const float* act, float* part) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int pairs = chunk_pairs(n, PAIRED), wpp = warps_per_pair(pairs), seg = warp % wpp, nq = cols / 4;
  const float4* a4 = reinterpret_cast<const float4*>(act);
  for (int i = warp / wpp; i < pairs; i += kWarps / wpp) {
    const int r0 = PAIRED ? i : 2 * i, r1 = PAIRED ? n + i : min(2 * i + 1, n - 1);
    const uint2* w0 = reinterpret_cast<const uint2*>(rows + size_t(r0) * cols);
    const uint2* w1 = reinterpret_cast<const uint2*>(rows + size_t(r1) * cols);
    float s0 = 0.f, s1 = 0.f;
#pragma unroll 4
    for (int q = seg * 32 + lane; q < nq; q += 32 * wpp) {
      const float4 x = a4[q];
      s0 += dot4(w0[q], x);
      s1 += dot4(w1[q], x);
    }
    s0 = warp_sum(s0);
    s1 = warp_sum(s1);
    if (lane == 0) {
      part[r0 * wpp + seg] = s0;
      if (PAIRED) part[kMaxChunkRows + i * wpp + seg] = s1;
      else if (2 * i + 1 < n) part[(2 * i + 1) * wpp + seg] = s1;
    }
  }
}

__device__ __forceinline__ float bias_at(const DecodeVec& b, int i) { return b.p ? load_f32(b.p, b.t, i) : 0.f; }

// ---- activations into shared memory ----
// act[c] = src[c] · w[c] / rms(src), src = x (f32, L2) or, before layer 0, the embedding row (bf16). x and w are
// loaded together (one memory round trip), the scale applied after the block's sum of squares.
__device__ void load_normed(const float* x, const uint16_t* emb_row, int dim, DecodeVec w, float eps, float* act,
                            float* red) {
  float ss = 0.f;
  for (int c = threadIdx.x; c < dim; c += kThreads) {
    const float v = emb_row ? bf16_bits(emb_row[c]) : __ldcg(x + c);
    act[c] = v * load_f32(w.p, w.t, c);
    ss = fmaf(v, v, ss);
  }
  ss = warp_sum(ss);
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = ss;
  __syncthreads();
  float tot = 0.f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) tot += red[i];
  const float inv = 1.f / sqrtf(tot / float(dim) + eps);
  for (int c = threadIdx.x; c < dim; c += kThreads) act[c] *= inv;
  __syncthreads();
}
__device__ void load_plain(const float* src, int dim, float* act) {
  for (int c = threadIdx.x; c < dim; c += kThreads) act[c] = __ldcg(src + c);
  __syncthreads();
}

// ---- the norm weights of a layer, one layer ahead, in shared memory ----
// Read at the start of phases, when a load from HBM would wait behind the weight stream (microseconds under load):
// the vectors of layer l + 2 are copied while layer l + 1 runs out of the other buffer.
struct LayerVecs {
  DecodeVec attn_norm, mlp_norm, q_norm, k_norm;  // shared-memory copies (layer n_layers: attn_norm = final norm)
};
__device__ __forceinline__ unsigned vec_bytes(const DecodeVec& v, int n) {
  return v.p ? (unsigned(n) * (v.t == DType::F32 ? 4u : 2u) + 15u) & ~15u : 0u;
}
// Where each vector of `layer` lives in buf (the same arithmetic for the copy and the reads).
__device__ LayerVecs layer_vecs(const DecodeStepParams& p, const DecodeLayerPtrs* layers, int layer, uint8_t* buf) {
  LayerVecs v;
  if (layer == p.n_layers) {
    v.attn_norm = {buf, p.final_norm.t};
    return v;
  }
  const DecodeLayerPtrs& L = layers[layer];
  unsigned off = 0;
  auto place = [&](const DecodeVec& src, int n) -> DecodeVec {
    if (!src.p) return {};
    const DecodeVec d{buf + off, src.t};
    off += vec_bytes(src, n);
    return d;
  };
  v.attn_norm = place(L.attn_norm, p.hidden);
  v.mlp_norm = place(L.mlp_norm, p.hidden);
  v.q_norm = place(L.q_norm, p.head_dim);
  v.k_norm = place(L.k_norm, p.head_dim);
  return v;
}
__device__ void issue_vecs(const DecodeStepParams& p, const DecodeLayerPtrs* layers, int layer, uint8_t* buf,
                           uint64_t* bar) {  // thread 0
  if (layer > p.n_layers) return;
  const LayerVecs dst = layer_vecs(p, layers, layer, buf);
  if (layer == p.n_layers) {
    const unsigned n = vec_bytes(p.final_norm, p.hidden);
    mbar_expect_tx(bar, n);
    bulk_load(const_cast<void*>(dst.attn_norm.p), p.final_norm.p, n, bar);
    return;
  }
  const DecodeLayerPtrs& L = layers[layer];
  const DecodeVec* src[4] = {&L.attn_norm, &L.mlp_norm, &L.q_norm, &L.k_norm};
  const DecodeVec* to[4] = {&dst.attn_norm, &dst.mlp_norm, &dst.q_norm, &dst.k_norm};
  const int len[4] = {p.hidden, p.hidden, p.head_dim, p.head_dim};
  unsigned total = 0;
  for (int i = 0; i < 4; ++i) total += vec_bytes(*src[i], len[i]);
  mbar_expect_tx(bar, total);
  for (int i = 0; i < 4; ++i)
    if (src[i]->p) bulk_load(const_cast<void*>(to[i]->p), src[i]->p, vec_bytes(*src[i], len[i]), bar);
}

// ---- attention phase ----
// Per-head RMS norm (optional) then RoPE of one head row, by one warp, into dst (shared memory). hd <= 128: a lane
// holds at most 4 elements, and its loads (row, norm weight, inverse frequencies) are all issued before any is used.
__device__ void norm_rope_head(const float* src, DecodeVec norm, float eps, int hd, int P, const float* inv_freq,
                               float* dst) {
  const int lane = threadIdx.x & 31, half = hd / 2;
  float v[4], w[4], f[2];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int d = lane + 32 * i;
    v[i] = d < hd ? __ldcg(src + d) : 0.f;
    w[i] = d < hd && norm.p ? load_f32(norm.p, norm.t, d) : 1.f;
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) f[i] = lane + 32 * i < half ? inv_freq[lane + 32 * i] : 0.f;
  float ss = 0.f;
#pragma unroll
  for (int i = 0; i < 4; ++i) ss = fmaf(v[i], v[i], ss);
  const float inv = norm.p ? 1.f / sqrtf(warp_sum(ss) / float(hd) + eps) : 1.f;
#pragma unroll
  for (int i = 0; i < 4; ++i)
    if (lane + 32 * i < hd) dst[lane + 32 * i] = norm.p ? (v[i] * inv) * w[i] : v[i];
  __syncwarp();
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int j = lane + 32 * i;
    if (j >= half) break;
    float sn, cs;
    sincosf(float(P) * f[i], &sn, &cs);
    const float a = dst[j], b = dst[j + half];
    dst[j] = a * cs - b * sn;
    dst[j + half] = b * cs + a * sn;
  }
  __syncwarp();
}

// Where the attention phase keeps its per-block state (in the activation vector's shared memory, unused then).
struct AttnScratch {
  float* qs;    // [G][hd] rotated queries
  float* kn;    // [hd] the new key, rotated
  float* sm_m;  // [kWarps][4] per warp: running max,
  float* sm_l;  // [kWarps][4]   sum,
  float* sm_o;  // [kWarps][4][hd]   and output of each head of the pass
  __device__ AttnScratch(float* base, int G, int hd)
      : qs(base), kn(qs + G * hd), sm_m(kn + hd), sm_l(sm_m + kWarps * 4), sm_o(sm_l + kWarps * 4) {}
};

// Query heads [g0, g0 + gn) of kv head kvh over positions [p0, p1), gn <= kGmax. Lanes: a K/V row of one head is
// LPR = hd/8 lanes × 8 dims (16 bytes each), 32/LPR rows per load instruction, kBatch rows per lane per buffer,
// two buffers (the next step's loads fly while this one is computed) — the layout of attention.cu. q and o stay
// in registers, kGmax heads of each: 2 for Qwen3, 4 otherwise (larger groups run in passes of 4: 8 heads would
// spill).
template <int kGmax, int kBatch>
__device__ void attend(const DecodeStepParams& p, const DecodeLayerPtrs& L, const AttnScratch& sc, int kvh, int s,
                       bool single, int p0, int p1, int g0, int gn) {
  const int G = p.n_heads / p.n_kv_heads, hd = p.head_dim;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int lpr = hd / 8, sub_rows = 32 / lpr, sub = lane / lpr, d0 = (lane % lpr) * 8;
  const int step = kBatch * sub_rows, stride = kWarps * step;
  const uint16_t* kbase = L.kc + size_t(kvh) * hd + d0;
  const uint16_t* vbase = L.vc + size_t(kvh) * hd + d0;
  uint4 ka[kBatch], va[kBatch], kb[kBatch], vb[kBatch];
  auto load = [&](uint4(&kr)[kBatch], uint4(&vr)[kBatch], int pb) {
#pragma unroll
    for (int j = 0; j < kBatch; ++j) {
      const int pp = pb + j * sub_rows + sub;
      if (pp < p1) {
        kr[j] = __ldcg(reinterpret_cast<const uint4*>(kbase + size_t(pp) * p.kv_dim));
        vr[j] = __ldcg(reinterpret_cast<const uint4*>(vbase + size_t(pp) * p.kv_dim));
      } else {
        kr[j] = vr[j] = make_uint4(0, 0, 0, 0);
      }
    }
  };
  int pb = p0 + warp * step;
  if (pb < p1) load(ka, va, pb);
  float q[kGmax][8], m[kGmax], l[kGmax], o[kGmax][8];
#pragma unroll
  for (int g = 0; g < kGmax; ++g) {
    m[g] = -INFINITY, l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < 8; ++e) q[g][e] = g < gn ? sc.qs[(g0 + g) * hd + d0 + e] : 0.f, o[g][e] = 0.f;
  }
  auto consume = [&](const uint4(&kr)[kBatch], const uint4(&vr)[kBatch], int base) {
#pragma unroll
    for (int g = 0; g < kGmax; ++g) {
      if (g >= gn) break;
      float score[kBatch], mb = -INFINITY;
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        float kf[8];
        Unpack<__nv_bfloat16>::run(kr[j], kf);
        float d = 0.f;
#pragma unroll
        for (int e = 0; e < 8; ++e) d = fmaf(q[g][e], kf[e], d);
        for (int off = lpr / 2; off > 0; off >>= 1) d += __shfl_xor_sync(0xffffffffu, d, off);
        score[j] = base + j * sub_rows + sub < p1 ? d * p.scale : -INFINITY;
        mb = fmaxf(mb, score[j]);
      }
      for (int off = 16; off >= lpr; off >>= 1) mb = fmaxf(mb, __shfl_xor_sync(0xffffffffu, mb, off));
      const float mn = fmaxf(m[g], mb);  // finite: position `base` is always valid
      const float corr = expf(m[g] - mn);
      float lsum = 0.f;
#pragma unroll
      for (int e = 0; e < 8; ++e) o[g][e] *= corr;
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        const float w = expf(score[j] - mn);
        float vf[8];
        Unpack<__nv_bfloat16>::run(vr[j], vf);
        lsum += w;
#pragma unroll
        for (int e = 0; e < 8; ++e) o[g][e] = fmaf(w, vf[e], o[g][e]);
      }
      l[g] = l[g] * corr + lsum;
      m[g] = mn;
    }
  };
  for (; pb < p1; pb += 2 * stride) {
    if (pb + stride < p1) load(kb, vb, pb + stride);
    consume(ka, va, pb);
    if (pb + stride >= p1) break;
    if (pb + 2 * stride < p1) load(ka, va, pb + 2 * stride);
    consume(kb, vb, pb + stride);
  }

  // Merge the sub-rows, then the warps; write the result (one split) or the split's partial (merged later).
  publish_warp_state<kGmax, 8>(m, l, o, gn, lpr, d0, sc.sm_m, sc.sm_l, sc.sm_o, 4, hd);
  __syncthreads();
  store_split_result<kWarps>(p.splits, sc.sm_m, sc.sm_l, sc.sm_o, 4, hd, gn, hd, p.n_heads, 0, kvh * G + g0, s,
                             single, p.att);
  __syncthreads();  // the scratch is reused by the next pass
}

// Block b = (kv head kvh, split s) of the attention phase: QK-norm + RoPE of the kv head's query heads (and, in the
// split holding position P, of the new key, stored with the new value in the cache), then attend, then — in the
// last split of kvh to finish — the merge of the splits (attention_splits.cuh). Splits cover at least
// kAttnMinChunk positions, so short contexts use a few blocks and skip the merge.
__device__ void attention_phase(const DecodeStepParams& p, const DecodeLayerPtrs& L, const LayerVecs& vecs,
                                const float* inv_freq, int P, float* scratch) {
  const int G = p.n_heads / p.n_kv_heads, hd = p.head_dim, S = p.splits.max_splits;
  const int b = blockIdx.x;
  if (b >= p.n_kv_heads * S) return;
  const int kvh = b / S, s = b % S, len = P + 1;
  int chunk = (len + S - 1) / S;
  chunk = max(kAttnMinChunk, (chunk + 7) & ~7);
  const int used = (len + chunk - 1) / chunk;
  if (s >= used) return;
  const int p0 = s * chunk, p1 = min(len, p0 + chunk);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const AttnScratch sc(scratch, G, hd);

  const bool has_new = p1 == len;
  uint16_t* kc = L.kc + size_t(P) * p.kv_dim + size_t(kvh) * hd;
  uint16_t* vc = L.vc + size_t(P) * p.kv_dim + size_t(kvh) * hd;
  for (int t = warp; t < G + (has_new ? 2 : 0); t += kWarps) {
    if (t < G) {
      norm_rope_head(p.q + size_t(kvh * G + t) * hd, vecs.q_norm, p.eps, hd, P, inv_freq, sc.qs + t * hd);
    } else if (t == G) {
      norm_rope_head(p.k + size_t(kvh) * hd, vecs.k_norm, p.eps, hd, P, inv_freq, sc.kn);
      for (int d = lane; d < hd; d += 32) kc[d] = to_bf16_bits(sc.kn[d]);
    } else {
      for (int d = lane; d < hd; d += 32) vc[d] = to_bf16_bits(__ldcg(p.v + size_t(kvh) * hd + d));
    }
  }
  __syncthreads();  // the new row is visible to the whole block (read below with the others)

  if (G <= 2) {
    attend<2, 4>(p, L, sc, kvh, s, used == 1, p0, p1, 0, G);
  } else {
    for (int g0 = 0; g0 < G; g0 += 4) attend<4, 4>(p, L, sc, kvh, s, used == 1, p0, p1, g0, min(4, G - g0));
  }
  if (used > 1) combine_splits_if_last(p.splits, p.n_heads, p.n_kv_heads, 0, kvh, G, hd, used, p.att);
}

// ---- the kernel ----
__global__ void __launch_bounds__(kThreads, 1) decode_step_kernel(const __grid_constant__ DecodeStepParams p) {
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ uint64_t full[kMaxStages];   // stage holds its chunk (bytes landed)
  __shared__ uint64_t empty[kMaxStages];  // every warp is done with the stage's chunk
  __shared__ Plan plan;
  __shared__ float red[kWarps];
  __shared__ float part[2 * kMaxStages][2 * kMaxChunkRows];  // dot-product shares of the chunks in flight
  __shared__ float x_own[kMaxOwnRows];          // the rows of x this block owns (it alone writes them)
  __shared__ float inv_freq[kMaxHeadDim / 2];
  __shared__ uint64_t vec_full[2];

  const int b = blockIdx.x, B = gridDim.x;
  float* act = reinterpret_cast<float*>(smem + size_t(p.stages) * p.stage_bytes);
  DecodeLayerPtrs* layers = reinterpret_cast<DecodeLayerPtrs*>(act + p.act_floats);
  uint8_t* vec_buf[2];
  vec_buf[0] = reinterpret_cast<uint8_t*>(layers) + decode_step_table_bytes(p.n_layers);
  vec_buf[1] = vec_buf[0] + p.vec_bytes;
  Ring ring{smem, full, p.stages, p.stage_bytes};

  // The layer table into shared memory (every chunk and epilogue looks pointers up in it), 8 bytes at a time.
  static_assert(sizeof(DecodeLayerPtrs) % 8 == 0, "the table is copied in 8-byte words");
  for (int i = threadIdx.x; i < p.n_layers * int(sizeof(DecodeLayerPtrs) / 8); i += kThreads)
    reinterpret_cast<uint64_t*>(layers)[i] = reinterpret_cast<const uint64_t*>(p.layers)[i];
  for (int i = threadIdx.x; i < p.head_dim / 2; i += kThreads) inv_freq[i] = p.inv_freq[i];
  if (threadIdx.x == 0) make_plan(p, plan);
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = 0; i < p.stages; ++i) mbar_init(&full[i], 1), mbar_init(&empty[i], kWarps);
    mbar_init(&vec_full[0], 1), mbar_init(&vec_full[1], 1);
    asm volatile("fence.mbarrier_init.release.cluster;\nfence.proxy.async.shared::cta;" ::: "memory");
    issue_vecs(p, layers, 0, vec_buf[0], &vec_full[0]);
    issue_vecs(p, layers, 1, vec_buf[1], &vec_full[1]);
  }
  __syncthreads();
  for (int i = 0; i < p.stages; ++i) {  // weights first: they depend on nothing
    Chunk ch;
    int slot;
    if (ring.next(p, plan, ch, slot) && threadIdx.x == 0) ring.issue(p, plan, layers, ch, slot);
  }

  int id = p.id[0], P = p.pos[0];
  if (id < 0 || id >= p.vocab || P < 0 || P >= p.capacity) {  // checked on the host too; never read out of bounds
    if (b == 0 && threadIdx.x == 0) atomicOr(p.err, (id < 0 || id >= p.vocab) ? kErrTokenId : kErrPosition);
    id = min(max(id, 0), p.vocab - 1), P = min(max(P, 0), p.capacity - 1);
  }
  const uint16_t* emb_row = p.embed + size_t(id) * p.hidden;
  // x = the embedding row; each block writes the rows it owns (its rows of o and down).
  const int own = plan.lo[kSegO];
  for (int c = own + threadIdx.x; c < plan.hi[kSegO]; c += kThreads) p.x[c] = x_own[c - own] = bf16_bits(emb_row[c]);
  __syncthreads();

  // FS_STEP_TRACE: blocks 0 and 1 stamp the time after each part of each layer.
  int event = 0;
  auto mark = [&] {
    if (p.trace && b < 2 && threadIdx.x == 0) {
      unsigned long long t;
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
      p.trace[b * kTraceStride + event] = t;
    }
    ++event;
  };

  Cursor cur;
  int used = 0;  // chunks consumed
  // Consumes this block's chunks of (layer, phase). Every warp computes its share of each chunk's dot products and
  // signals the stage's `empty` barrier; warp (chunk number % 8) then refills the stage and runs the chunk's
  // epilogue while the other warps already work on the next chunks — no block-wide barrier per chunk.
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  auto run_phase = [&](int layer, int phase) {
    const int phase_cols = phase == kO ? p.q_dim : phase == kDown ? p.inter : p.hidden;
    for (;;) {
      Chunk ch;
      Cursor peek = cur;
      if (!next_chunk(p, plan, peek, ch) || ch.layer != layer || phase_of(ch.seg) != phase) break;
      cur = peek;
      const int slot = used % p.stages;
      const unsigned use = unsigned(used / p.stages) & 1u;
      mbar_wait(&full[slot], use);
      const uint16_t* rows = reinterpret_cast<const uint16_t*>(smem + size_t(slot) * p.stage_bytes);
      float* pt = part[used % (2 * p.stages)];
      if (ch.seg == kSegGateUp) chunk_dots<true>(rows, ch.n, phase_cols, act, pt);
      else chunk_dots<false>(rows, ch.n, phase_cols, act, pt);
      __syncwarp();
      if (lane == 0) mbar_arrive(&empty[slot]);
      Chunk refill;
      int refill_slot;
      const bool more = ring.next(p, plan, refill, refill_slot);  // refill_slot == slot
      if (warp == used % kWarps) {
        mbar_wait(&empty[slot], use);
        if (more && lane == 0) ring.issue(p, plan, layers, refill, refill_slot);
        const int wpr = warps_per_pair(chunk_pairs(ch.n, ch.seg == kSegGateUp));
        const DecodeLayerPtrs& L = layers[min(layer, p.n_layers - 1)];
        for (int t = lane; t < ch.n; t += 32) {
          const int r = ch.row + t;
          float acc = 0.f;
          for (int k = 0; k < wpr; ++k) acc += pt[t * wpr + k];
          switch (ch.seg) {
            case kSegQ: p.q[r] = acc + bias_at(L.q_bias, r); break;
            case kSegK: p.k[r] = acc + bias_at(L.k_bias, r); break;
            case kSegV: p.v[r] = acc + bias_at(L.v_bias, r); break;
            case kSegGateUp: {
              float u = 0.f;
              for (int k = 0; k < wpr; ++k) u += pt[kMaxChunkRows + t * wpr + k];
              p.h[r] = acc / (1.f + expf(-acc)) * u;
              break;
            }
            case kSegLm: p.logits[r] = acc; break;
            default:  // o (+ bias) and down: the residual, x += acc
              p.x[r] = x_own[r - own] += acc + (ch.seg == kSegO ? bias_at(L.o_bias, r) : 0.f);
          }
        }
      }
      ++used;
    }
  };
  unsigned target = p.barrier_base;
  auto barrier = [&] { grid_barrier(p.barrier, target += unsigned(B)); };

  mark();
  for (int layer = 0; layer <= p.n_layers; ++layer) {
    mbar_wait(&vec_full[layer & 1], unsigned(layer >> 1) & 1u);
    const LayerVecs vecs = layer_vecs(p, layers, layer, vec_buf[layer & 1]);
    if (layer == p.n_layers) {  // the final norm and the lm head
      load_normed(p.x, nullptr, p.hidden, vecs.attn_norm, p.eps, act, red);
      mark();
      run_phase(p.n_layers, kLm);
      mark();
      break;
    }
    const DecodeLayerPtrs& L = layers[layer];
    load_normed(p.x, layer == 0 ? emb_row : nullptr, p.hidden, vecs.attn_norm, p.eps, act, red);
    mark();
    run_phase(layer, kQkv);
    mark();
    barrier();
    mark();
    attention_phase(p, L, vecs, inv_freq, P, act);
    mark();
    barrier();
    mark();
    load_plain(p.att, p.q_dim, act);
    mark();
    run_phase(layer, kO);
    mark();
    barrier();
    mark();
    load_normed(p.x, nullptr, p.hidden, vecs.mlp_norm, p.eps, act, red);
    mark();
    // This buffer's last use is behind us (load_normed ends with __syncthreads): refill it two layers ahead.
    if (threadIdx.x == 0) issue_vecs(p, layers, layer + 2, vec_buf[layer & 1], &vec_full[layer & 1]);
    run_phase(layer, kGateUp);
    mark();
    barrier();
    mark();
    load_plain(p.h, p.inter, act);
    mark();
    run_phase(layer, kDown);
    mark();
    barrier();
    mark();
  }
}

}  // namespace

unsigned decode_step_barriers(int n_layers) { return unsigned(5 * n_layers); }

size_t decode_step_act_floats(int hidden, int q_dim, int inter, int group, int head_dim) {
  const size_t attn = size_t(group) * head_dim + head_dim + 2 * kWarps * 4 + size_t(kWarps) * 4 * head_dim;
  return (std::max({size_t(hidden), size_t(q_dim), size_t(inter), attn}) + 31) & ~size_t(31);
}

const void* decode_step_kernel_ptr() { return reinterpret_cast<const void*>(decode_step_kernel); }

void decode_step(const Ctx& c, const DecodeStepParams& p, size_t smem) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(c.sms);
  cfg.blockDim = dim3(kThreads);
  cfg.dynamicSmemBytes = smem;
  cfg.stream = c.stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeCooperative;  // all blocks resident at once: the grid barrier relies on it
  attr[0].val.cooperative = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  FS_CUDA(cudaLaunchKernelEx(&cfg, decode_step_kernel, p));
  FS_CUDA(cudaGetLastError());
}

}  // namespace fs::cuda

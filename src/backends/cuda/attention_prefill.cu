// attention, prefill path: the same function as attention.cu (causal GQA over the KV cache, query i sees rows
// 0..pos[i]) for many queries at once.          q, out [n, n_heads · head_dim] f32; K, V cache [capacity, kv_dim]
//
//   out_i = Σ_{j ≤ pos[i]} softmax_j(q_i · k_j / √D) · v_j        (per query head; kv head = head / group)
//
// With n queries the work is n·L·D multiply-adds per head instead of L, so it is a matrix product and belongs on the
// tensor cores. Two kernels:
//
// 1. Tensor cores (bf16 cache, head_dim 64 or 128): FlashAttention-2 with mma.sync m16n8k16 (bf16 in, f32 out).
//
//      block = 64 consecutive queries × 1 query head; 4 warps × 16 query rows (one mma M tile each).
//      Q: each warp loads its 16 × D rows once, straight into mma A fragments, rounded f32 → bf16.
//      for each tile of 64 keys up to the block's largest position (later tiles are never loaded: causal skip):
//          K, V tile → shared memory by cp.async, double-buffered (the next tile loads while this one computes);
//                      rows padded to D + 8 bf16 so the 8 row addresses of an ldmatrix hit 8 bank groups;
//                      rows past the largest position are zero-filled (the cache there may hold anything)
//          S = Q·Kᵀ   16 × 64 per warp in f32 registers (K fragments by ldmatrix)
//          mask key > pos[i] to -inf; online softmax in f32: row max over a quad of lanes, rescale O and l
//          O += P·V    P re-packed from the S accumulators to bf16 A fragments without touching shared memory
//                      (the C layout of two n8 tiles is the A layout of one k16 tile); V fragments by ldmatrix.trans
//      out = O / l.
//    Rounding: q and P go to bf16 (unit roundoff 2⁻⁹ each); K and V are already bf16 in the cache; all sums and
//    the softmax are f32. A warp whose queries all lie before the tile skips its maths.
//
// 2. f32 SIMT fallback (f32 caches, other head dims, unaligned pointers): block = 16 queries × 1 head, 4 warps ×
//    4 queries, tiles of 32 keys widened to f32 in shared memory (K rows padded to head_dim + 4 floats); lane j
//    scores key j, per-query online softmax with warp max/sum, p through shared memory, lane l owns output dims
//    l, l+32, …. Matches the CPU oracle to f32 rounding.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kQW = 4;                 // queries per warp
constexpr int kBQ = kWarps * kQW;      // queries per block
constexpr int kKeys = 32;              // keys per tile (one per lane)

struct PrefillParams {
  const float* q;
  const void* k;
  const void* v;
  const int32_t* pos;
  float* out;
  unsigned* err;
  int n, n_heads, n_kv_heads, head_dim, kv_dim, capacity;
  float scale;
};

__host__ __device__ constexpr int round4(int x) { return (x + 3) & ~3; }

size_t prefill_smem(int head_dim) {
  const int qs = round4(head_dim), ks = round4(head_dim) + 4;
  return sizeof(float) * (size_t(kBQ) * qs + size_t(kKeys) * ks + size_t(kKeys) * head_dim + kWarps * kQW * kKeys);
}

template <typename T, int DPL>  // DPL = ⌈head_dim / 32⌉ output dims per lane
__global__ void __launch_bounds__(kWarps * 32) attn_prefill_kernel(const __grid_constant__ PrefillParams p) {
  extern __shared__ __align__(16) float sm[];
  __shared__ int qpos[kBQ];
  __shared__ int kmax_s, bad_s;
  const int hd = p.head_dim, QS = round4(hd), KS = round4(hd) + 4;
  float* Qs = sm;                  // [kBQ][QS]
  float* Ks = Qs + kBQ * QS;       // [kKeys][KS]
  float* Vs = Ks + kKeys * KS;     // [kKeys][hd]
  float* Ps = Vs + kKeys * hd;     // [kWarps][kQW][kKeys]
  grid_dep_launch();
  grid_dep_wait();

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int i0 = blockIdx.x * kBQ, h = blockIdx.y, kvh = h / (p.n_heads / p.n_kv_heads);
  const int qdim = p.n_heads * hd;
  if (tid < kBQ) qpos[tid] = i0 + tid < p.n ? p.pos[i0 + tid] : -1;
  __syncthreads();
  if (tid == 0) {
    int mx = -1, bad = 0;
    for (int a = 0; a < kBQ && i0 + a < p.n; ++a) {
      if (qpos[a] < 0 || qpos[a] >= p.capacity) bad = 1;
      mx = max(mx, qpos[a]);
    }
    if (bad) atomicOr(p.err, kErrPosition);
    kmax_s = mx, bad_s = bad;
  }
  for (int a = warp; a < kBQ; a += kWarps)
    for (int d = lane; d < QS; d += 32)
      Qs[a * QS + d] = (i0 + a < p.n && d < hd) ? p.q[size_t(i0 + a) * qdim + size_t(h) * hd + d] : 0.f;
  __syncthreads();
  if (bad_s) return;
  const int kmax = kmax_s;

  const T* K = static_cast<const T*>(p.k) + size_t(kvh) * hd;
  const T* V = static_cast<const T*>(p.v) + size_t(kvh) * hd;
  const int qa0 = warp * kQW;
  float m[kQW], l[kQW], acc[kQW][DPL];
#pragma unroll
  for (int a = 0; a < kQW; ++a) {
    m[a] = -INFINITY, l[a] = 0.f;
#pragma unroll
    for (int t = 0; t < DPL; ++t) acc[a][t] = 0.f;
  }

  for (int k0 = 0; k0 <= kmax; k0 += kKeys) {
    __syncthreads();  // the previous tile is no longer read
    for (int r = warp; r < kKeys; r += kWarps) {
      const int key = k0 + r;
      for (int d = lane; d < KS; d += 32) {
        float kv = 0.f, vv = 0.f;
        if (key <= kmax && d < hd) {
          kv = widen(K[size_t(key) * p.kv_dim + d]);
          vv = widen(V[size_t(key) * p.kv_dim + d]);
        }
        Ks[r * KS + d] = kv;
        if (d < hd) Vs[r * hd + d] = vv;
      }
    }
    __syncthreads();

    float s[kQW];
#pragma unroll
    for (int a = 0; a < kQW; ++a) s[a] = 0.f;
    const float4* krow = reinterpret_cast<const float4*>(Ks + lane * KS);
#pragma unroll 4
    for (int d4 = 0; d4 < QS / 4; ++d4) {
      const float4 kv = krow[d4];
#pragma unroll
      for (int a = 0; a < kQW; ++a) {
        const float4 qv = reinterpret_cast<const float4*>(Qs + (qa0 + a) * QS)[d4];
        s[a] = fmaf(qv.x, kv.x, s[a]);
        s[a] = fmaf(qv.y, kv.y, s[a]);
        s[a] = fmaf(qv.z, kv.z, s[a]);
        s[a] = fmaf(qv.w, kv.w, s[a]);
      }
    }
    const int key = k0 + lane;
#pragma unroll
    for (int a = 0; a < kQW; ++a) {
      const float sa = key <= qpos[qa0 + a] ? s[a] * p.scale : -INFINITY;
      const float mt = warp_max(sa);
      float pr = 0.f;
      if (mt != -INFINITY) {  // uniform over the warp
        const float mn = fmaxf(m[a], mt);
        const float corr = expf(m[a] - mn);
        pr = expf(sa - mn);
        l[a] = l[a] * corr + warp_sum(pr);
#pragma unroll
        for (int t = 0; t < DPL; ++t) acc[a][t] *= corr;
        m[a] = mn;
      }
      Ps[(warp * kQW + a) * kKeys + lane] = pr;
    }
    __syncwarp();
    const int jmax = min(kKeys, kmax - k0 + 1);
    for (int j4 = 0; j4 < jmax; j4 += 4) {
      float pj[kQW][4];
#pragma unroll
      for (int a = 0; a < kQW; ++a) {
        const float4 pv = *reinterpret_cast<const float4*>(Ps + (warp * kQW + a) * kKeys + j4);
        pj[a][0] = pv.x, pj[a][1] = pv.y, pj[a][2] = pv.z, pj[a][3] = pv.w;
      }
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
#pragma unroll
        for (int t = 0; t < DPL; ++t) {
          const int d = lane + 32 * t;
          const float vv = d < hd ? Vs[(j4 + jj) * hd + d] : 0.f;  // rows past kmax hold zeros
#pragma unroll
          for (int a = 0; a < kQW; ++a) acc[a][t] = fmaf(pj[a][jj], vv, acc[a][t]);
        }
      }
    }
    __syncwarp();
  }

#pragma unroll
  for (int a = 0; a < kQW; ++a) {
    const int i = i0 + qa0 + a;
    if (i >= p.n) continue;
#pragma unroll
    for (int t = 0; t < DPL; ++t) {
      const int d = lane + 32 * t;
      if (d < hd) p.out[size_t(i) * qdim + size_t(h) * hd + d] = acc[a][t] / l[a];
    }
  }
}

// ---- tensor-core kernel (bf16 cache, head_dim 64 / 128) --------------------------------------------------------

constexpr int kTcWarps = 4;
constexpr int kTcBQ = kTcWarps * 16;  // queries per block (one m16 tile per warp)
constexpr int kTcBK = 64;             // keys per tile

template <int D>
constexpr int tc_stride() { return D + 8; }  // bf16 per shared row: +16 bytes shifts each row by 4 banks
template <int D>
constexpr size_t tc_smem() { return size_t(2) * 2 * kTcBK * tc_stride<D>() * sizeof(uint16_t); }  // 2 stages × K, V

template <int D>
__global__ void __launch_bounds__(kTcWarps * 32) attn_prefill_tc_kernel(const __grid_constant__ PrefillParams p) {
  constexpr int S = tc_stride<D>();
  constexpr int KSTEPS = D / 16;  // k16 steps of Q·Kᵀ
  constexpr int DT = D / 8;       // n8 tiles of the output
  constexpr int NT = kTcBK / 8;   // n8 tiles of the scores
  extern __shared__ __align__(16) uint16_t tsm[];  // [stage][K | V][kTcBK][S]
  __shared__ int qpos[kTcBQ];
  __shared__ int kmax_s, bad_s;
  grid_dep_launch();
  grid_dep_wait();

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, t = lane & 3;  // mma fragment coordinates: row group, thread in group
  // Reversed block order: with consecutive positions the last queries see the most keys, so they start first
  // and the short blocks fill in behind them.
  const int i0 = (gridDim.x - 1 - blockIdx.x) * kTcBQ, h = blockIdx.y, kvh = h / (p.n_heads / p.n_kv_heads);
  const int qdim = p.n_heads * D;
  if (tid < kTcBQ) qpos[tid] = i0 + tid < p.n ? p.pos[i0 + tid] : -1;
  __syncthreads();
  if (tid == 0) {
    int mx = -1, bad = 0;
    for (int a = 0; a < kTcBQ && i0 + a < p.n; ++a) {
      if (qpos[a] < 0 || qpos[a] >= p.capacity) bad = 1;
      mx = max(mx, qpos[a]);
    }
    if (bad) atomicOr(p.err, kErrPosition);
    kmax_s = mx, bad_s = bad;
  }
  __syncthreads();
  if (bad_s) return;
  const int kmax = kmax_s;

  const uint16_t* K = static_cast<const uint16_t*>(p.k) + size_t(kvh) * D;
  const uint16_t* V = static_cast<const uint16_t*>(p.v) + size_t(kvh) * D;
  const uint32_t smem0 = uint32_t(__cvta_generic_to_shared(tsm));
  constexpr uint32_t kTileBytes = kTcBK * S * 2;
  // Tile k0 → stage: 16-byte chunks, rows past kmax zero-filled (their source address is clamped to row 0).
  auto load_tile = [&](int k0, int stage) {
    constexpr int CPR = D / 8;  // chunks per row
    const uint32_t ks = smem0 + stage * 2 * kTileBytes, vs = ks + kTileBytes;
    for (int c = tid; c < kTcBK * CPR; c += kTcWarps * 32) {
      const int r = c / CPR, col = (c % CPR) * 8, key = k0 + r;
      const bool ok = key <= kmax;
      const size_t off = size_t(ok ? key : 0) * p.kv_dim + col;
      const uint32_t so = uint32_t(r * S + col) * 2;
      cp_async16(ks + so, K + off, ok);
      cp_async16(vs + so, V + off, ok);
    }
    cp_async_commit();
  };
  load_tile(0, 0);

  // This warp's 16 query rows: g and g + 8. Q as A fragments for every k16 step, rounded to bf16 once.
  const int qr0 = warp * 16 + g, qr1 = qr0 + 8;
  const int pos0 = qpos[qr0], pos1 = qpos[qr1];
  int wmax = -1;
  for (int a = 0; a < 16; ++a) wmax = max(wmax, qpos[warp * 16 + a]);
  uint32_t qa[KSTEPS][4];
  {
    const float* q0 = p.q + size_t(i0 + qr0) * qdim + size_t(h) * D;
    const float* q1 = p.q + size_t(i0 + qr1) * qdim + size_t(h) * D;
    const bool v0 = i0 + qr0 < p.n, v1 = i0 + qr1 < p.n;
#pragma unroll
    for (int kk = 0; kk < KSTEPS; ++kk) {
      const int c = kk * 16 + 2 * t;
      const float2 a0 = v0 ? *reinterpret_cast<const float2*>(q0 + c) : make_float2(0.f, 0.f);
      const float2 a1 = v1 ? *reinterpret_cast<const float2*>(q1 + c) : make_float2(0.f, 0.f);
      const float2 a2 = v0 ? *reinterpret_cast<const float2*>(q0 + c + 8) : make_float2(0.f, 0.f);
      const float2 a3 = v1 ? *reinterpret_cast<const float2*>(q1 + c + 8) : make_float2(0.f, 0.f);
      qa[kk][0] = pack_bf16(a0.x, a0.y);
      qa[kk][1] = pack_bf16(a1.x, a1.y);
      qa[kk][2] = pack_bf16(a2.x, a2.y);
      qa[kk][3] = pack_bf16(a3.x, a3.y);
    }
  }

  const float sl2 = p.scale * 1.4426950408889634f;  // exp(x · scale) = 2^(x · scale · log2 e)
  float o[DT][4];
#pragma unroll
  for (int j = 0; j < DT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;  // running max (unscaled scores) and sum, rows g, g+8

  // ldmatrix lane addresses (bytes within a stage). K (no trans): matrix mi = lane/8 covers keys 0..7 of an n8
  // tile × dims 8·mi.. of a 32-dim slab → b0b1, b2b3 of two k16 steps. V (trans): matrices = keys +0/+8 × dims
  // +0/+8 → b0b1, b2b3 of two n8 output tiles.
  const uint32_t k_lane = uint32_t((lane & 7) * S + (lane >> 3) * 8) * 2;
  const uint32_t v_lane = uint32_t(((lane & 7) + ((lane >> 3) & 1) * 8) * S + (lane >> 4) * 8) * 2 + kTileBytes;

  for (int k0 = 0, it = 0; k0 <= kmax; k0 += kTcBK, ++it) {
    if (k0 + kTcBK <= kmax) {
      load_tile(k0 + kTcBK, (it + 1) & 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (k0 <= wmax) {  // warp-uniform: some query of this warp sees a key of the tile
      const uint32_t st = smem0 + (it & 1) * 2 * kTileBytes;
      float s[NT][4];
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KSTEPS; kk += 2) {
          uint32_t b[4];
          ldsm_x4(b, st + k_lane + uint32_t(j * 8 * S + kk * 16) * 2);
          mma_bf16(s[j], qa[kk], b[0], b[1]);
          mma_bf16(s[j], qa[kk + 1], b[2], b[3]);
        }
      }
      // causal mask and the tile's row maxima
      float mt0 = -INFINITY, mt1 = -INFINITY;
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int key = k0 + j * 8 + 2 * t;
        if (key > pos0) s[j][0] = -INFINITY;
        if (key + 1 > pos0) s[j][1] = -INFINITY;
        if (key > pos1) s[j][2] = -INFINITY;
        if (key + 1 > pos1) s[j][3] = -INFINITY;
        mt0 = fmaxf(mt0, fmaxf(s[j][0], s[j][1]));
        mt1 = fmaxf(mt1, fmaxf(s[j][2], s[j][3]));
      }
      // the 4 lanes of a quad hold one row between them
      mt0 = fmaxf(mt0, __shfl_xor_sync(0xffffffffu, mt0, 1));
      mt0 = fmaxf(mt0, __shfl_xor_sync(0xffffffffu, mt0, 2));
      mt1 = fmaxf(mt1, __shfl_xor_sync(0xffffffffu, mt1, 1));
      mt1 = fmaxf(mt1, __shfl_xor_sync(0xffffffffu, mt1, 2));
      const float mn0 = fmaxf(m0, mt0), mn1 = fmaxf(m1, mt1);
      // A row with nothing visible yet keeps m = -inf: use 0 as the reference so exp2(-inf) = 0 and no inf - inf.
      const float r0 = mn0 == -INFINITY ? 0.f : mn0 * sl2, r1 = mn1 == -INFINITY ? 0.f : mn1 * sl2;
      const float c0 = exp2f(m0 * sl2 - r0), c1 = exp2f(m1 * sl2 - r1);
      m0 = mn0, m1 = mn1;
      float ls0 = 0.f, ls1 = 0.f;
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        s[j][0] = exp2f(fmaf(s[j][0], sl2, -r0));
        s[j][1] = exp2f(fmaf(s[j][1], sl2, -r0));
        s[j][2] = exp2f(fmaf(s[j][2], sl2, -r1));
        s[j][3] = exp2f(fmaf(s[j][3], sl2, -r1));
        ls0 += s[j][0] + s[j][1];
        ls1 += s[j][2] + s[j][3];
      }
      l0 = l0 * c0 + ls0;  // per-lane partial sums; the quad adds them at the end
      l1 = l1 * c1 + ls1;
#pragma unroll
      for (int j = 0; j < DT; ++j) o[j][0] *= c0, o[j][1] *= c0, o[j][2] *= c1, o[j][3] *= c1;

      // O += P·V, one k16 step = two n8 score tiles
#pragma unroll
      for (int kk = 0; kk < kTcBK / 16; ++kk) {
        const uint32_t pa[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                                pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
        for (int dp = 0; dp < DT / 2; ++dp) {
          uint32_t b[4];
          ldsm_x4_trans(b, st + v_lane + uint32_t(kk * 16 * S + dp * 16) * 2);
          mma_bf16(o[2 * dp], pa, b[0], b[1]);
          mma_bf16(o[2 * dp + 1], pa, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // this stage is refilled by the next iteration's load
  }

  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  const float inv0 = 1.f / l0, inv1 = 1.f / l1;
  float* out0 = p.out + size_t(i0 + qr0) * qdim + size_t(h) * D + 2 * t;
  float* out1 = p.out + size_t(i0 + qr1) * qdim + size_t(h) * D + 2 * t;
#pragma unroll
  for (int j = 0; j < DT; ++j) {
    if (i0 + qr0 < p.n) *reinterpret_cast<float2*>(out0 + j * 8) = make_float2(o[j][0] * inv0, o[j][1] * inv0);
    if (i0 + qr1 < p.n) *reinterpret_cast<float2*>(out1 + j * 8) = make_float2(o[j][2] * inv1, o[j][3] * inv1);
  }
}

template <typename T>
void launch_prefill(const Ctx& c, const PrefillParams& p) {
  const dim3 grid(ceil_div(p.n, kBQ), p.n_heads), block(kWarps * 32);
  const size_t smem = prefill_smem(p.head_dim);
  const int dpl = (p.head_dim + 31) / 32;
  const char* name = "attention (prefill)";
  if (dpl == 1) launch(c, name, grid, block, smem, attn_prefill_kernel<T, 1>, p);
  else if (dpl == 2) launch(c, name, grid, block, smem, attn_prefill_kernel<T, 2>, p);
  else if (dpl <= 4) launch(c, name, grid, block, smem, attn_prefill_kernel<T, 4>, p);
  else launch(c, name, grid, block, smem, attn_prefill_kernel<T, 8>, p);
}

}  // namespace

void init_attention_attributes() {
  const int most = int(prefill_smem(kMaxHeadDim));
  FS_CUDA(cudaFuncSetAttribute(attn_prefill_kernel<float, 8>, cudaFuncAttributeMaxDynamicSharedMemorySize, most));
  FS_CUDA(cudaFuncSetAttribute(attn_prefill_kernel<uint16_t, 8>, cudaFuncAttributeMaxDynamicSharedMemorySize, most));
  const int mid = int(prefill_smem(128));
  FS_CUDA(cudaFuncSetAttribute(attn_prefill_kernel<float, 4>, cudaFuncAttributeMaxDynamicSharedMemorySize, mid));
  FS_CUDA(cudaFuncSetAttribute(attn_prefill_kernel<uint16_t, 4>, cudaFuncAttributeMaxDynamicSharedMemorySize, mid));
  FS_CUDA(cudaFuncSetAttribute(attn_prefill_tc_kernel<64>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(tc_smem<64>())));
  FS_CUDA(cudaFuncSetAttribute(attn_prefill_tc_kernel<128>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(tc_smem<128>())));
}

void attention_prefill(const Ctx& c, const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
                       int n_kv_heads, int head_dim, float* out) {
  PrefillParams p;
  p.q = q;
  p.k = cache.k;
  p.v = cache.v;
  p.pos = pos;
  p.out = out;
  p.err = c.err;
  p.n = n;
  p.n_heads = n_heads;
  p.n_kv_heads = n_kv_heads;
  p.head_dim = head_dim;
  p.kv_dim = cache.kv_dim;
  p.capacity = cache.capacity;
  p.scale = 1.f / sqrtf(float(head_dim));
  if (cache.dtype == DType::F32) {
    launch_prefill<float>(c, p);
    return;
  }
  // The tensor-core kernel's loads: float2 of q and out, 16-byte rows of K and V.
  const bool tc_ok = (head_dim == 64 || head_dim == 128) && (reinterpret_cast<uintptr_t>(q) & 7) == 0 &&
                     (reinterpret_cast<uintptr_t>(out) & 7) == 0 && aligned16(cache.k) && aligned16(cache.v) &&
                     cache.kv_dim % 8 == 0;
  if (!tc_ok) {
    launch_prefill<uint16_t>(c, p);
    return;
  }
  const dim3 grid(ceil_div(n, kTcBQ), n_heads), block(kTcWarps * 32);
  const char* name = "attention (prefill, tensor cores)";
  if (head_dim == 64) launch(c, name, grid, block, tc_smem<64>(), attn_prefill_tc_kernel<64>, p);
  else launch(c, name, grid, block, tc_smem<128>(), attn_prefill_tc_kernel<128>, p);
}

}  // namespace fs::cuda

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

template <typename T>
__device__ __forceinline__ float widen(T v);
template <>
__device__ __forceinline__ float widen<float>(float v) { return v; }
template <>
__device__ __forceinline__ float widen<uint16_t>(uint16_t v) { return bf16_bits(v); }

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
  if (cache.dtype == DType::F32)
    launch_prefill<float>(c, p);
  else
    launch_prefill<uint16_t>(c, p);
}

}  // namespace fs::cuda

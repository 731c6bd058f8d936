// attention, decode path (flash-decoding): for each of n <= 4 queries i and query head h,
//     out[i, h] = Σ_{p <= pos[i]} softmax_p(q[i, h] · K[p, kvh] / √head_dim) · V[p, kvh],   kvh = h / (n_heads / n_kv_heads)
//                                         q, out [n, n_heads · head_dim] f32; K, V cache [capacity, kv_dim] f32 or bf16
//
// One token's attention reads the whole KV cache of its layer once: 2 · L · kv_dim elements against a few flops
// each, so it is memory-bound, and at 16k context it moves more bytes than the layer's weights. One block per
// (query, kv head) would use only n_kv_heads = 8 SMs; instead the context is split into chunks:
//
//     positions 0 ............................................ L-1
//               | split 0 | split 1 | split 2 |  ...  | split S-1 |        grid = (max_splits, n_kv_heads, n)
//
//   * block (s, kvh, i) reads K and V rows of its chunk ONCE for all G = n_heads / n_kv_heads query heads that
//     share kv head kvh (GQA), keeping a running max m, sum l and output o per head (online softmax);
//   * a K/V row of one kv head is split over LPR lanes of DPL dims each, 16 bytes per lane (head_dim 128 in bf16:
//     16 lanes × 8 dims, two rows per load instruction); each warp walks its rows in steps, with the loads of
//     the next step in flight while the current one is computed (two register buffers);
//   * the 4 warps' (m, l, o) merge in shared memory into the split's partial result; the LAST block of the
//     (query, kv head) to finish merges the splits (attention_splits.cuh), so the combine costs no extra launch.
//
// The grid is fixed by the cache capacity (and capped at one wave of resident blocks), not the context length:
// positions live on the device and the launch must be replayable from a CUDA graph. Each block derives the chunk size from pos[i] itself
// (chunk = max(256, ⌈L / max_splits⌉) rounded to 8: up to 256 positions need no combine) and blocks past the end
// exit at once.
// Softmax is f32 with expf; the result matches the CPU oracle to f32 rounding whatever the cache dtype (a bf16
// cache holds bf16-rounded K and V; the tests give the CPU oracle the same rounded values).
#include "backends/cuda/attention_splits.cuh"
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxGroup = 8;  // query heads per kv head (GQA group) the decode kernel handles

struct DecodeParams : DecodeAttnArgs {
  const void* k;  // the cache
  const void* v;
  int head_dim;
};

// DPL consecutive elements of a cache row, kept in their stored form until used (a bf16 row of 4 dims is two
// registers, not four: registers decide how many blocks fit on an SM, and so how many loads are in flight).
// Vector loads: the caller guarantees the alignment (head_dim and kv_dim multiples of DPL).
template <typename T, int DPL>
struct Row;
template <int DPL>
struct Row<float, DPL> {
  float f[DPL];
  __device__ __forceinline__ void load(const float* p) {
    if constexpr (DPL == 2) {
      const float2 a = *reinterpret_cast<const float2*>(p);
      f[0] = a.x, f[1] = a.y;
    } else {
#pragma unroll
      for (int i = 0; i < DPL / 4; ++i) {
        const float4 a = reinterpret_cast<const float4*>(p)[i];
        f[4 * i] = a.x, f[4 * i + 1] = a.y, f[4 * i + 2] = a.z, f[4 * i + 3] = a.w;
      }
    }
  }
  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int e = 0; e < DPL; ++e) f[e] = 0.f;
  }
  __device__ __forceinline__ float operator[](int e) const { return f[e]; }
};
template <int DPL>
struct Row<uint16_t, DPL> {
  uint32_t w[DPL / 2];
  __device__ __forceinline__ void load(const uint16_t* p) {
    if constexpr (DPL == 2) {
      w[0] = *reinterpret_cast<const uint32_t*>(p);
    } else if constexpr (DPL == 4) {
      const uint2 a = *reinterpret_cast<const uint2*>(p);
      w[0] = a.x, w[1] = a.y;
    } else {
      const uint4 a = *reinterpret_cast<const uint4*>(p);
      w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w;
    }
  }
  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int e = 0; e < DPL / 2; ++e) w[e] = 0u;
  }
  __device__ __forceinline__ float operator[](int e) const { return e & 1 ? bf16_hi(w[e / 2]) : bf16_lo(w[e / 2]); }
};

// Lane layout: a K/V row of one kv head is read by LPR lanes ("lanes per row"), DPL dims each (16 bytes per lane
// where the head is wide enough); a warp covers SUB = 32 / LPR rows per load instruction. head_dim 128 in bf16:
// 16 lanes × 8 dims, 2 rows per instruction, and a dot product needs 4 shuffle steps instead of 5 for 2 rows.
// Each lane keeps BATCH rows of K and V per buffer, two buffers: the loads of step t+1 are in flight while step t
// is computed, so memory never waits for the arithmetic.
template <typename T, int DPL, int LPR, int GMAX>
__global__ void __launch_bounds__(kWarps * 32, GMAX <= 2 ? 3 : 1) attn_decode_kernel(const __grid_constant__ DecodeParams p) {
  constexpr int SUB = 32 / LPR;
  constexpr int WORDS = DPL * int(sizeof(T)) / 4;   // registers per row of one lane
  constexpr int BATCH = WORDS >= 8 ? 2 : 16 / WORDS;  // rows per lane per step: 16 registers of K + 16 of V
  constexpr int STEP = BATCH * SUB;                  // positions per warp per step
  __shared__ float sm_m[kWarps][GMAX], sm_l[kWarps][GMAX];
  __shared__ float sm_o[kWarps][GMAX][LPR * DPL];
  grid_dep_launch();
  grid_dep_wait();

  const int s = blockIdx.x, kvh = blockIdx.y, i = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int sub = lane / LPR, d0 = (lane % LPR) * DPL;
  const int G = p.n_heads / p.n_kv_heads;
  const int hd = p.head_dim;
  const int P = p.pos[i];
  if (P < 0 || P >= p.capacity) {
    if (s == 0 && kvh == 0 && threadIdx.x == 0) atomicOr(p.err, kErrPosition);
    return;
  }
  const int L = P + 1;
  const int chunk = split_chunk(L, p.splits.max_splits);
  const int S = (L + chunk - 1) / chunk;
  if (s >= S) return;
  const int p0 = s * chunk, p1 = min(L, p0 + chunk);

  const bool lane_on = d0 < hd;  // hd % DPL == 0: a lane holds DPL dims or none
  const T* kbase = static_cast<const T*>(p.k) + size_t(kvh) * hd + d0;
  const T* vbase = static_cast<const T*>(p.v) + size_t(kvh) * hd + d0;
  Row<T, DPL> ka[BATCH], va[BATCH], kb[BATCH], vb[BATCH];
  auto load = [&](Row<T, DPL>(&kr)[BATCH], Row<T, DPL>(&vr)[BATCH], int pb) {
#pragma unroll
    for (int j = 0; j < BATCH; ++j) {
      const int pp = pb + j * SUB + sub;
      if (lane_on && pp < p1) {
        kr[j].load(kbase + size_t(pp) * p.kv_dim);
        vr[j].load(vbase + size_t(pp) * p.kv_dim);
      } else {
        kr[j].zero();
        vr[j].zero();
      }
    }
  };
  int pb = p0 + warp * STEP;
  if (pb < p1) load(ka, va, pb);  // first K/V loads overlap the q loads below

  float q[GMAX][DPL];
#pragma unroll
  for (int g = 0; g < GMAX; ++g)
#pragma unroll
    for (int e = 0; e < DPL; ++e)
      q[g][e] = (g < G && lane_on) ? p.q[size_t(i) * p.n_heads * hd + size_t(kvh * G + g) * hd + d0 + e] : 0.f;

  // Running softmax state. m is the same in every lane; l and o are this lane's share (its sub-row positions).
  float m[GMAX], l[GMAX], o[GMAX][DPL];
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    m[g] = -INFINITY, l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < DPL; ++e) o[g][e] = 0.f;
  }

  auto consume = [&](const Row<T, DPL>(&kr)[BATCH], const Row<T, DPL>(&vr)[BATCH], int base) {
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
      if (g >= G) break;
      float sc[BATCH];
      float mb = -INFINITY;
#pragma unroll
      for (int j = 0; j < BATCH; ++j) {
        float d = 0.f;
#pragma unroll
        for (int e = 0; e < DPL; ++e) d = fmaf(q[g][e], kr[j][e], d);
#pragma unroll
        for (int off = LPR / 2; off > 0; off >>= 1) d += __shfl_xor_sync(0xffffffffu, d, off);
        sc[j] = base + j * SUB + sub < p1 ? d * p.scale : -INFINITY;
        mb = fmaxf(mb, sc[j]);
      }
#pragma unroll
      for (int off = 16; off >= LPR; off >>= 1) mb = fmaxf(mb, __shfl_xor_sync(0xffffffffu, mb, off));
      const float mn = fmaxf(m[g], mb);  // finite: position `base` is always valid
      const float corr = expf(m[g] - mn);
      float lsum = 0.f;
#pragma unroll
      for (int e = 0; e < DPL; ++e) o[g][e] *= corr;
#pragma unroll
      for (int j = 0; j < BATCH; ++j) {
        const float w = expf(sc[j] - mn);
        lsum += w;
#pragma unroll
        for (int e = 0; e < DPL; ++e) o[g][e] = fmaf(w, vr[j][e], o[g][e]);
      }
      l[g] = l[g] * corr + lsum;
      m[g] = mn;
    }
  };

  constexpr int kStride = kWarps * STEP;
  for (; pb < p1; pb += 2 * kStride) {
    if (pb + kStride < p1) load(kb, vb, pb + kStride);
    consume(ka, va, pb);
    if (pb + kStride >= p1) break;
    if (pb + 2 * kStride < p1) load(ka, va, pb + 2 * kStride);
    consume(kb, vb, pb + kStride);
  }

  // Sum the sub-rows' shares, then merge the 4 warps of this block in shared memory.
  publish_warp_state<GMAX, DPL>(m, l, o, G, LPR, d0, &sm_m[0][0], &sm_l[0][0], &sm_o[0][0][0], GMAX, LPR * DPL);
  __syncthreads();

  float* out = p.out + size_t(i) * p.n_heads * hd;
  store_split_result<kWarps>(p.splits, &sm_m[0][0], &sm_l[0][0], &sm_o[0][0][0], GMAX, LPR * DPL, G, hd, p.n_heads,
                             i, kvh * G, s, S == 1, out);
  if (S == 1) return;  // a single split: this block had the whole answer
  combine_splits_if_last(p.splits, p.n_heads, p.n_kv_heads, i, kvh, G, hd, S, out);
}

// (dims per lane, lanes per row) for a head_dim and cache dtype: 16-byte loads where the head is wide enough.
struct Layout {
  int dpl, lpr;
};
Layout layout_for(int head_dim, DType t) {
  if (t == DType::BF16) {
    if (head_dim <= 32) return {4, 8};
    if (head_dim <= 64) return {8, 8};
    if (head_dim <= 128) return {8, 16};
    return {8, 32};
  }
  if (head_dim <= 32) return {4, 8};
  if (head_dim <= 64) return {4, 16};
  if (head_dim <= 128) return {4, 32};
  return {8, 32};
}

// GMAX (query heads per kv head held in registers) is 2, 4 or 8 (Qwen3: 2, Llama 3: 4): q and the output
// accumulators are GMAX · DPL registers each, and registers decide how many blocks share an SM.
template <typename T, int GMAX>
void launch_decode(const Ctx& c, DecodeParams p, int n) {
  void (*kernel)(const DecodeParams) = nullptr;
  if constexpr (std::is_same_v<T, uint16_t>) {
    const Layout lay = layout_for(p.head_dim, DType::BF16);
    if (lay.dpl == 4) kernel = attn_decode_kernel<T, 4, 8, GMAX>;
    else if (lay.lpr == 8) kernel = attn_decode_kernel<T, 8, 8, GMAX>;
    else if (lay.lpr == 16) kernel = attn_decode_kernel<T, 8, 16, GMAX>;
    else kernel = attn_decode_kernel<T, 8, 32, GMAX>;
  } else {
    const Layout lay = layout_for(p.head_dim, DType::F32);
    if (lay.lpr == 8) kernel = attn_decode_kernel<T, 4, 8, GMAX>;
    else if (lay.lpr == 16) kernel = attn_decode_kernel<T, 4, 16, GMAX>;
    else if (lay.dpl == 4) kernel = attn_decode_kernel<T, 4, 32, GMAX>;
    else kernel = attn_decode_kernel<T, 8, 32, GMAX>;
  }
  p.splits.max_splits = splits_in_one_wave(reinterpret_cast<const void*>(kernel), kWarps * 32, c.sms,
                                          p.splits.max_splits, p.n_kv_heads * n);
  launch(c, "attention (decode)", dim3(p.splits.max_splits, p.n_kv_heads, n), dim3(kWarps * 32), 0, kernel, p);
}

}  // namespace

bool attention_decode_ok(const KvLayer& cache, int n, int n_heads, int n_kv_heads, int head_dim) {
  const int dpl = layout_for(head_dim, cache.dtype).dpl;
  return n <= kDecodeMaxN && n_heads / n_kv_heads <= kMaxGroup && n_heads <= kMaxHeads &&
         n_kv_heads <= kMaxKvHeads && n_heads * head_dim <= kMaxQDim && head_dim % dpl == 0 &&
         cache.kv_dim % dpl == 0 && aligned16(cache.k) && aligned16(cache.v);
}

void attention_decode(const Ctx& c, const Workspace& ws, const float* q, const KvLayer& cache, const int32_t* pos,
                      int n, int n_heads, int n_kv_heads, int head_dim, float* out) {
  if (c.attn_tc && attention_decode_tc_ok(q, cache, n, n_heads, n_kv_heads, head_dim)) {
    attention_decode_tc(c, ws, q, cache, pos, n_heads, n_kv_heads, head_dim, out);
    return;
  }
  DecodeParams p;
  set_decode_attn_args(p, c, ws, q, cache, pos, n_heads, n_kv_heads, head_dim, out);
  p.k = cache.k;
  p.v = cache.v;
  p.head_dim = head_dim;
  const int group = n_heads / n_kv_heads;
  if (cache.dtype == DType::F32) {
    if (group <= 2) launch_decode<float, 2>(c, p, n);
    else if (group <= 4) launch_decode<float, 4>(c, p, n);
    else launch_decode<float, 8>(c, p, n);
  } else {
    if (group <= 2) launch_decode<uint16_t, 2>(c, p, n);
    else if (group <= 4) launch_decode<uint16_t, 4>(c, p, n);
    else launch_decode<uint16_t, 8>(c, p, n);
  }
}

}  // namespace fs::cuda

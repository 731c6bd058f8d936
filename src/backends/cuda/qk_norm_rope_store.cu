// qk_norm_rope_store (fused): for every token i and head, in one launch
//     q head ← rope(rmsnorm(q head; q_norm)),   k head ← rope(rmsnorm(k head; k_norm)),
//     cache.k[pos[i]] ← k head,  cache.v[pos[i]] ← v head.
//                  q [n, n_heads · head_dim], k, v [n, n_kv_heads · head_dim] f32; q_norm, k_norm [head_dim] or null
//
// Five launches of the unfused step (two rmsnorms, two ropes, kv_store) each touch a few KB at decode: pure launch
// latency. One warp per (token, head): the row goes through shared memory (rope pairs element j with j + half,
// which another lane holds), with the same arithmetic order as the separate ops, so results agree to rounding.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

constexpr int kWarps = 4;

struct QkParams {
  float* q;
  float* k;
  const float* v;
  const void* q_norm;
  DType q_norm_dtype;
  const void* k_norm;
  DType k_norm_dtype;
  float eps;
  const int32_t* pos;
  const float* inv_freq;
  void* ck;
  void* cv;
  int cache_bf16;
  int n, n_heads, n_kv_heads, head_dim, kv_dim, capacity;
  unsigned* err;
};

__device__ __forceinline__ void store(void* base, int bf16, size_t idx, float v) {
  if (bf16) static_cast<uint16_t*>(base)[idx] = to_bf16_bits(v);
  else static_cast<float*>(base)[idx] = v;
}

__global__ void __launch_bounds__(kWarps * 32) qk_norm_rope_store_kernel(const __grid_constant__ QkParams p) {
  __shared__ float buf[kWarps][kMaxHeadDim];
  grid_dep_launch();
  grid_dep_wait();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int heads = p.n_heads + p.n_kv_heads;
  const int task = blockIdx.x * kWarps + warp;
  if (task >= p.n * heads) return;
  const int i = task / heads, hh = task % heads;
  const bool is_k = hh >= p.n_heads;
  const int hd = p.head_dim, half = hd / 2;
  const int kh = hh - p.n_heads;
  float* row = is_k ? p.k + (size_t(i) * p.n_kv_heads + kh) * hd : p.q + (size_t(i) * p.n_heads + hh) * hd;
  const void* norm = is_k ? p.k_norm : p.q_norm;
  const DType nt = is_k ? p.k_norm_dtype : p.q_norm_dtype;
  float* b = buf[warp];

  float ss = 0.f;
  for (int d = lane; d < hd; d += 32) {
    const float x = row[d];
    b[d] = x;
    ss += x * x;
  }
  if (norm) {
    ss = warp_sum(ss);
    const float inv = 1.f / sqrtf(ss / float(hd) + p.eps);
    for (int d = lane; d < hd; d += 32) b[d] = (b[d] * inv) * load_f32(norm, nt, d);
  }
  __syncwarp();

  const int P = p.pos[i];
  const bool store_ok = P >= 0 && P < p.capacity;
  if (is_k && !store_ok && lane == 0) atomicOr(p.err, kErrPosition);
  const size_t crow = size_t(store_ok ? P : 0) * p.kv_dim + size_t(kh) * hd;
  for (int j = lane; j < half; j += 32) {
    float s, c;
    sincosf(float(P) * p.inv_freq[j], &s, &c);
    const float a = b[j], bb = b[j + half];
    const float r0 = a * c - bb * s, r1 = bb * c + a * s;
    row[j] = r0;
    row[j + half] = r1;
    if (is_k && store_ok) {
      store(p.ck, p.cache_bf16, crow + j, r0);
      store(p.ck, p.cache_bf16, crow + j + half, r1);
    }
  }
  if (is_k && store_ok) {
    const float* vrow = p.v + (size_t(i) * p.n_kv_heads + kh) * hd;
    for (int d = lane; d < hd; d += 32) store(p.cv, p.cache_bf16, crow + d, vrow[d]);
  }
}

}  // namespace

void qk_norm_rope_store(const Ctx& c, float* q, float* k, const float* v, const Weight* q_norm,
                        const Weight* k_norm, float eps, const int32_t* pos, int n, int n_heads, int n_kv_heads,
                        int head_dim, const float* inv_freq, const KvLayer& cache) {
  QkParams p;
  p.q = q;
  p.k = k;
  p.v = v;
  p.q_norm = q_norm ? q_norm->data : nullptr;
  p.q_norm_dtype = q_norm ? q_norm->dtype : DType::F32;
  p.k_norm = k_norm ? k_norm->data : nullptr;
  p.k_norm_dtype = k_norm ? k_norm->dtype : DType::F32;
  p.eps = eps;
  p.pos = pos;
  p.inv_freq = inv_freq;
  p.ck = cache.k;
  p.cv = cache.v;
  p.cache_bf16 = cache.dtype == DType::BF16 ? 1 : 0;
  p.n = n;
  p.n_heads = n_heads;
  p.n_kv_heads = n_kv_heads;
  p.head_dim = head_dim;
  p.kv_dim = cache.kv_dim;
  p.capacity = cache.capacity;
  p.err = c.err;
  const size_t tasks = size_t(n) * (n_heads + n_kv_heads);
  launch(c, "qk_norm_rope_store", dim3(ceil_div(tasks, kWarps)), dim3(kWarps * 32), 0, qk_norm_rope_store_kernel, p);
}

}  // namespace fs::cuda

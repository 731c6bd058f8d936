// attention: causal grouped-query attention over the KV cache.
//
//   q   [n, n_heads · d]            query i sits at position pos[i] and sees cache rows 0..pos[i]
//   K,V [capacity, n_kv_heads · d]  (f32; cache rows written by kv_store)
//   out [n, n_heads · d]
//
// For query i and head h, with g = h / (n_heads / n_kv_heads) its kv head:
//   s[j] = (q_ih · K[j, g]) / sqrt(d)          j = 0 .. pos[i]
//   p    = softmax(s) = exp(s − max s) / Σ exp(s − max s)     (the max is subtracted so exp never overflows)
//   out_ih = Σ_j p[j] · V[j, g]
//
// Work is split over (token, kv head) pairs. One task computes all n_heads / n_kv_heads query heads that share a kv
// head, so each K and V row is read once for the whole group instead of once per query head: in decode, where the
// cache is read from memory, that divides attention's memory traffic by the group size. Positions are arbitrary
// (a later prefill chunk continues a cache), so nothing assumes pos[i] = i. Scores live in a per-thread scratch
// buffer of group · (pos + 1) floats; everything is f32.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "backends/cpu/thread_pool.h"
#include "util/error.h"

namespace fs::cpu {

namespace {

struct Shape {
  int n_heads, n_kv_heads, head_dim, group;
  int64_t q_row, kv_row;  // floats per token in q/out and per cache row
};

// Query i, kv head g: the `group` query heads g·group .. g·group + group − 1.
void attend(const float* q, const float* k_cache, const float* v_cache, int pos, int g, const Shape& s, float* out) {
  thread_local std::vector<float> scratch;
  const int64_t len = int64_t(pos) + 1, d = s.head_dim;
  scratch.resize(size_t(s.group * len));
  const float scale = 1.0f / std::sqrt(float(d));
  const float* q0 = q + int64_t(g) * s.group * d;  // this group's query heads are adjacent in q
  float* o0 = out + int64_t(g) * s.group * d;

  // Scores: one pass over the K rows, four rows at a time, each block dotted with every query head of the group.
  int64_t j = 0;
  for (; j + 4 <= len; j += 4) {
    const float* kj = k_cache + j * s.kv_row + int64_t(g) * d;
    for (int h = 0; h < s.group; ++h) {
      float* sh = scratch.data() + h * len + j;
      dot4(q0 + h * d, kj, s.kv_row, d, sh);
      for (int r = 0; r < 4; ++r) sh[r] *= scale;
    }
  }
  for (; j < len; ++j) {
    const float* kj = k_cache + j * s.kv_row + int64_t(g) * d;
    for (int h = 0; h < s.group; ++h) scratch[size_t(h * len + j)] = dot(q0 + h * d, kj, d) * scale;
  }
  // Softmax of each head's row of scores, in place.
  for (int h = 0; h < s.group; ++h) {
    float* p = scratch.data() + h * len;
    const float inv = 1.0f / exp_shifted(p, len, *std::max_element(p, p + len));
    for (int64_t i = 0; i < len; ++i) p[i] *= inv;
  }
  // Weighted sum of the V rows, again one pass over the cache for the whole group, four rows at a time.
  std::fill(o0, o0 + s.group * d, 0.f);
  for (j = 0; j + 4 <= len; j += 4) {
    const float* vj = v_cache + j * s.kv_row + int64_t(g) * d;
    for (int h = 0; h < s.group; ++h) {
      const float* ph = scratch.data() + h * len + j;
      axpy4(ph, vj, s.kv_row, d, o0 + h * d);
    }
  }
  for (; j < len; ++j) {
    const float* vj = v_cache + j * s.kv_row + int64_t(g) * d;
    for (int h = 0; h < s.group; ++h) axpy(scratch[size_t(h * len + j)], vj, o0 + h * d, d);
  }
}

}  // namespace

void attention(ThreadPool& pool, const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
               int n_kv_heads, int head_dim, float* out) {
  if (n < 0 || n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 || n_heads % n_kv_heads != 0)
    throw Error("attention: bad shape n=" + std::to_string(n) + " n_heads=" + std::to_string(n_heads) +
                " n_kv_heads=" + std::to_string(n_kv_heads) + " head_dim=" + std::to_string(head_dim) +
                " (n_heads must be a multiple of n_kv_heads)");
  if (cache.dtype != DType::F32)
    throw Error(std::string("attention: the cpu backend keeps the KV cache in F32, got ") + dtype_name(cache.dtype));
  if (cache.kv_dim != n_kv_heads * head_dim)
    throw Error("attention: cache kv_dim " + std::to_string(cache.kv_dim) + " != n_kv_heads · head_dim = " +
                std::to_string(n_kv_heads * head_dim));
  for (int i = 0; i < n; ++i)
    if (pos[i] < 0 || pos[i] >= cache.capacity)
      throw Error("attention: position " + std::to_string(pos[i]) + " at batch index " + std::to_string(i) +
                  " is outside the cache [0, " + std::to_string(cache.capacity) + ")");

  const Shape s{n_heads, n_kv_heads, head_dim, n_heads / n_kv_heads, int64_t(n_heads) * head_dim, cache.kv_dim};
  const auto* k_cache = static_cast<const float*>(cache.k);
  const auto* v_cache = static_cast<const float*>(cache.v);
  const int64_t tasks = int64_t(n) * n_kv_heads;
  // Tasks differ in length (later tokens see more rows), so hand them out a few at a time.
  pool.parallel_for(0, tasks, pool.chunk_size(tasks, 1, 8), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t i = t / n_kv_heads;
      const int g = int(t % n_kv_heads);
      attend(q + i * s.q_row, k_cache, v_cache, pos[i], g, s, out + i * s.q_row);
    }
  });
}

}  // namespace fs::cpu

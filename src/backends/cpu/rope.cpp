// rope: rotary position embedding, in place.                 x [n, n_heads · head_dim] f32; pos [n]; inv_freq [head_dim/2]
//
// Each head is split into halves a = x[0 : d/2] and b = x[d/2 : d]; pair j is rotated by θ = pos · inv_freq[j]:
//     a'[j] = a[j]·cos θ − b[j]·sin θ,      b'[j] = b[j]·cos θ + a[j]·sin θ
// which is Hugging Face's q·cos + rotate_half(q)·sin ("neox" pairing, not adjacent pairs). Like HF, θ is the f32
// product pos · inv_freq[j] and cos/sin are evaluated in f32. The angles depend only on the token, so they are
// computed once per token and reused for every head.
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/ops.h"
#include "backends/cpu/thread_pool.h"
#include "util/error.h"

namespace fs::cpu {

void rope(ThreadPool& pool, float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) {
  if (n < 0 || n_heads <= 0 || head_dim <= 0 || head_dim % 2 != 0)
    throw Error("rope: bad shape n=" + std::to_string(n) + " n_heads=" + std::to_string(n_heads) +
                " head_dim=" + std::to_string(head_dim) + " (head_dim must be even)");
  const int half = head_dim / 2;
  const int64_t row = int64_t(n_heads) * head_dim;
  pool.parallel_for(0, n, pool.chunk_size(n, 1 + 4096 / row), [&](int64_t lo, int64_t hi) {
    thread_local std::vector<float> cos_sin;
    cos_sin.resize(size_t(head_dim));
    float* cs = cos_sin.data();  // cs[j] = cos θ_j, cs[half + j] = sin θ_j
    for (int64_t i = lo; i < hi; ++i) {
      const float p = float(pos[i]);
      for (int j = 0; j < half; ++j) {
        const float theta = p * inv_freq[j];
        cs[j] = std::cos(theta);
        cs[half + j] = std::sin(theta);
      }
      for (int h = 0; h < n_heads; ++h) {
        float* a = x + i * row + int64_t(h) * head_dim;
        float* b = a + half;
        for (int j = 0; j < half; ++j) {
          const float aj = a[j], bj = b[j];
          a[j] = aj * cs[j] - bj * cs[half + j];
          b[j] = bj * cs[j] + aj * cs[half + j];
        }
      }
    }
  });
}

}  // namespace fs::cpu

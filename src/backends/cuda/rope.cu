// rope: rotates every head of x[n, n_heads · head_dim] in place by angle pos[i] · inv_freq[j], pairing element
// j with j + head_dim/2 (Hugging Face's rotate_half):
//     x[j]        ← x[j] · cos θ − x[j + half] · sin θ
//     x[j + half] ← x[j + half] · cos θ + x[j] · sin θ,          θ = float(pos[i]) · inv_freq[j]   (f32 product)
// One thread per (token, head, j < half). The angle is the f32 product, as in HF (inv_freq ⊗ positions in f32),
// and sincosf is the accurate (not --use_fast_math) version: at pos ~ 40 000 the angle is large and a fast sine
// would be visibly wrong.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

__global__ void rope_kernel(float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) {
  grid_dep_launch();
  grid_dep_wait();
  const int half = head_dim / 2;
  const size_t total = size_t(n) * n_heads * half;
  for (size_t t = blockIdx.x * size_t(blockDim.x) + threadIdx.x; t < total; t += size_t(gridDim.x) * blockDim.x) {
    const int j = int(t % half);
    const size_t head = t / half;  // token · n_heads + h
    const int i = int(head / n_heads);
    float s, c;
    sincosf(float(pos[i]) * inv_freq[j], &s, &c);
    float* h = x + head * head_dim;
    const float a = h[j], b = h[j + half];
    h[j] = a * c - b * s;
    h[j + half] = b * c + a * s;
  }
}

}  // namespace

void rope(const Ctx& c, float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) {
  const size_t total = size_t(n) * n_heads * (head_dim / 2);
  const unsigned blocks = std::min<unsigned>(ceil_div(total, 256), unsigned(c.sms) * 8);
  launch(c, "rope", dim3(blocks), dim3(256), 0, rope_kernel, x, pos, n, n_heads, head_dim, inv_freq);
}

}  // namespace fs::cuda

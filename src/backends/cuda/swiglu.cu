// swiglu: out[i] = silu(gate[i]) · up[i], silu(x) = x / (1 + e^-x).            gate, up, out [count] (f32)
//
// Elementwise and memory-bound: 12 bytes per element. Four elements per thread through 16-byte loads when the
// three pointers are 16-byte aligned, a scalar loop otherwise. expf (not __expf): the result must match the CPU
// oracle to f32 rounding.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

__device__ __forceinline__ float silu_mul(float g, float u) { return g / (1.f + expf(-g)) * u; }

__global__ void swiglu_vec4(const float4* gate, const float4* up, size_t count4, float4* out) {
  grid_dep_launch();
  grid_dep_wait();
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count4; i += size_t(gridDim.x) * blockDim.x) {
    const float4 g = gate[i], u = up[i];
    out[i] = make_float4(silu_mul(g.x, u.x), silu_mul(g.y, u.y), silu_mul(g.z, u.z), silu_mul(g.w, u.w));
  }
}

__global__ void swiglu_scalar(const float* gate, const float* up, size_t begin, size_t count, float* out) {
  grid_dep_launch();
  grid_dep_wait();
  for (size_t i = begin + blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    out[i] = silu_mul(gate[i], up[i]);
}

}  // namespace

void swiglu(const Ctx& c, const float* gate, const float* up, size_t count, float* out) {
  const bool aligned = ((reinterpret_cast<uintptr_t>(gate) | reinterpret_cast<uintptr_t>(up) |
                         reinterpret_cast<uintptr_t>(out)) & 15) == 0;
  const unsigned max_blocks = unsigned(c.sms) * 8;
  if (aligned && count % 4 == 0) {
    const size_t count4 = count / 4;
    const unsigned blocks = std::min<unsigned>(ceil_div(count4, 256), max_blocks);
    launch(c, "swiglu", dim3(blocks), dim3(256), 0, swiglu_vec4, reinterpret_cast<const float4*>(gate),
           reinterpret_cast<const float4*>(up), count4, reinterpret_cast<float4*>(out));
  } else {
    const unsigned blocks = std::min<unsigned>(ceil_div(count, 256), max_blocks);
    launch(c, "swiglu", dim3(blocks), dim3(256), 0, swiglu_scalar, gate, up, size_t(0), count, out);
  }
}

}  // namespace fs::cuda

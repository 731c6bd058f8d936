// kv_store: cache.k[pos[i], :] = k[i, :], cache.v[pos[i], :] = v[i, :].      k, v [n, kv_dim] f32 → cache rows
//
// The cache holds f32 or bf16 (round to nearest even: what PyTorch's .to(bfloat16) does). One thread per element
// of k and v. A position outside [0, capacity) sets kErrPosition and stores nothing.
#include "backends/cuda/ops.h"

namespace fs::cuda {
namespace {

template <typename T>
__device__ __forceinline__ void put(T* dst, float v);
template <>
__device__ __forceinline__ void put<float>(float* dst, float v) { *dst = v; }
template <>
__device__ __forceinline__ void put<uint16_t>(uint16_t* dst, float v) { *dst = to_bf16_bits(v); }

template <typename T>
__global__ void kv_store_kernel(const float* k, const float* v, const int32_t* pos, int n, int kv_dim, int capacity,
                                T* ck, T* cv, unsigned* err) {
  grid_dep_launch();
  grid_dep_wait();
  const size_t total = size_t(n) * kv_dim;
  for (size_t t = blockIdx.x * size_t(blockDim.x) + threadIdx.x; t < total; t += size_t(gridDim.x) * blockDim.x) {
    const int i = int(t / kv_dim);
    const int d = int(t % kv_dim);
    const int p = pos[i];
    if (p < 0 || p >= capacity) {
      if (d == 0) atomicOr(err, kErrPosition);
      continue;
    }
    const size_t dst = size_t(p) * kv_dim + d;
    put(ck + dst, k[t]);
    put(cv + dst, v[t]);
  }
}

}  // namespace

void kv_store(const Ctx& c, const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) {
  const size_t total = size_t(n) * cache.kv_dim;
  const unsigned blocks = std::min<unsigned>(ceil_div(total, 256), unsigned(c.sms) * 8);
  if (cache.dtype == DType::F32)
    launch(c, "kv_store", dim3(blocks), dim3(256), 0, kv_store_kernel<float>, k, v, pos, n, cache.kv_dim,
           cache.capacity, static_cast<float*>(cache.k), static_cast<float*>(cache.v), c.err);
  else
    launch(c, "kv_store", dim3(blocks), dim3(256), 0, kv_store_kernel<uint16_t>, k, v, pos, n, cache.kv_dim,
           cache.capacity, static_cast<uint16_t*>(cache.k), static_cast<uint16_t*>(cache.v), c.err);
}

}  // namespace fs::cuda

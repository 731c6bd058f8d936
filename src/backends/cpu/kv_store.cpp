// kv_store: cache.k[pos[i], :] = k[i, :] and cache.v[pos[i], :] = v[i, :].      k, v [n, kv_dim] f32; cache [capacity, kv_dim]
//
// Its own op (not folded into attention) because the engine stores k and v right after rope, and because CUDA
// records it as a separate kernel in the decode graph. The CPU keeps the cache in f32, so a store is a row copy;
// the positions are checked against the capacity first, since a wrong one would write outside the cache.
#include <cstring>
#include <string>

#include "backends/cpu/ops.h"
#include "util/error.h"

namespace fs::cpu {

void kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) {
  if (cache.dtype != DType::F32)
    throw Error(std::string("kv_store: the cpu backend keeps the KV cache in F32, got ") + dtype_name(cache.dtype));
  if (n < 0 || cache.kv_dim <= 0) throw Error("kv_store: bad shape n=" + std::to_string(n) +
                                              " kv_dim=" + std::to_string(cache.kv_dim));
  for (int i = 0; i < n; ++i)
    if (pos[i] < 0 || pos[i] >= cache.capacity)
      throw Error("kv_store: position " + std::to_string(pos[i]) + " at batch index " + std::to_string(i) +
                  " is outside the cache [0, " + std::to_string(cache.capacity) + ")");
  const size_t row = size_t(cache.kv_dim);
  auto* kc = static_cast<float*>(cache.k);
  auto* vc = static_cast<float*>(cache.v);
  for (int i = 0; i < n; ++i) {
    std::memcpy(kc + size_t(pos[i]) * row, k + size_t(i) * row, row * sizeof(float));
    std::memcpy(vc + size_t(pos[i]) * row, v + size_t(i) * row, row * sizeof(float));
  }
}

}  // namespace fs::cpu

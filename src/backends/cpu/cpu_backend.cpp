// CpuBackend: memory is 64-byte aligned RAM (a cache line, and enough for any vector load), copies are memcpy,
// and each op forwards to its free function in ops.h.
#include "backends/cpu/cpu_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd.h"
#include "util/error.h"

namespace fs {

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<cpu::CpuBackend>(threads); }

namespace cpu {

CpuBackend::CpuBackend(int threads) : pool_(threads) {}

std::string CpuBackend::name() const {
  return "cpu (" + std::to_string(pool_.size()) + (pool_.size() == 1 ? " thread, " : " threads, ") +
         (use_avx2() ? "avx2" : "portable") + ")";
}

void* CpuBackend::alloc(size_t bytes) {
  constexpr size_t kAlign = 64;
  const size_t rounded = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;  // aligned_alloc's rule
  void* p = std::aligned_alloc(kAlign, rounded);
  if (!p) throw Error("cpu backend: out of memory allocating " + std::to_string(bytes) + " bytes");
  return p;
}

void CpuBackend::release(void* p) { std::free(p); }

void CpuBackend::to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
}

void CpuBackend::to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
}

// RAM to RAM on every thread: one core alone cannot draw the machine's full bandwidth, and `fs bench` measures
// the ceiling it reports against with this copy.
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  constexpr int64_t kChunk = 1 << 20;
  const int64_t chunks = int64_t((bytes + kChunk - 1) / kChunk);
  pool_.parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const size_t off = size_t(c) * kChunk, len = std::min<size_t>(kChunk, bytes - off);
      std::memcpy(static_cast<char*>(dst) + off, static_cast<const char*>(src) + off, len);
    }
  });
}

void CpuBackend::embed(const Weight& table, const int32_t* ids, int n, float* out) {
  cpu::embed(pool_, table, ids, n, out);
}
void CpuBackend::rmsnorm(const float* x, const Weight& w, float eps, int rows, int dim, float* out) {
  cpu::rmsnorm(pool_, x, w, eps, rows, dim, out);
}
void CpuBackend::matmul(const float* x, int n, const Weight& w, const Weight* bias, float* out, bool accumulate) {
  cpu::matmul(pool_, x, n, w, bias, out, accumulate);
}
void CpuBackend::rope(float* x, const int32_t* pos, int n, int n_heads, int head_dim, const float* inv_freq) {
  cpu::rope(pool_, x, pos, n, n_heads, head_dim, inv_freq);
}
void CpuBackend::kv_store(const float* k, const float* v, const int32_t* pos, int n, const KvLayer& cache) {
  cpu::kv_store(k, v, pos, n, cache);
}
void CpuBackend::attention(const float* q, const KvLayer& cache, const int32_t* pos, int n, int n_heads,
                           int n_kv_heads, int head_dim, float* out) {
  cpu::attention(pool_, q, cache, pos, n, n_heads, n_kv_heads, head_dim, out);
}
void CpuBackend::swiglu(const float* gate, const float* up, size_t count, float* out) {
  cpu::swiglu(pool_, gate, up, count, out);
}
void CpuBackend::argmax(const float* x, int rows, int cols, int32_t* out) { cpu::argmax(pool_, x, rows, cols, out); }

}  // namespace cpu
}  // namespace fs
